"""Schema: the migrations build exactly the models' schema, and the app refuses an unmigrated database."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from inbox import create_app
from inbox.db import Base, make_engine
from inbox.models import Role, User
from inbox.schema import DatabaseNotMigrated, upgrade
from inbox.services.search import search
from tests.conftest import base_config
from tests.factories import make_mailbox, make_thread, make_user

# Search indexes made by migrations 0002 and 0005 that the models cannot express: the SQLite
# FTS5 tables (and the shadow tables FTS5 makes for them) and PostgreSQL's GIN indexes.
SEARCH_OBJECTS = {
    "messages_fts", "messages_fts_data", "messages_fts_idx", "messages_fts_docsize",
    "messages_fts_config", "ix_messages_text_trgm", "ix_messages_subject_trgm",
    "ix_messages_from_address_trgm", "messages_bigrams", "messages_bigrams_data",
    "messages_bigrams_idx", "messages_bigrams_docsize", "messages_bigrams_config",
    "ix_messages_bigrams", "ix_messages_search_trgm", "ix_messages_search_bigrams",
}
# Expression indexes made by the migrations only (SQLite's reflection skips them, with a warning).
EXPRESSION_INDEXES = {"ix_thread_facts_first_response_hours", "ix_thread_facts_resolution_hours"}


def _not_search_object(obj, name, type_, reflected, compare_to) -> bool:
    return name not in SEARCH_OBJECTS | EXPRESSION_INDEXES


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index ix_thread_facts_")
def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _not_search_object}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_app_refuses_an_unmigrated_database_and_names_the_command(fresh_databases, tmp_path):
    url = fresh_databases.new_url()
    with pytest.raises(DatabaseNotMigrated, match="inbox db upgrade"):
        create_app(base_config(tmp_path, url))


def test_app_starts_once_migrated(fresh_databases, tmp_path):
    url = fresh_databases.new_url()
    engine = make_engine(url)
    upgrade(engine)
    upgrade(engine)  # running it again changes nothing
    engine.dispose()
    app = create_app(base_config(tmp_path, url))
    assert app.test_client().get("/login").status_code == 200
    app.extensions["inbox"].engine.dispose()


def _insert(conn, table: str, **values) -> int | None:
    """One row through the table as it is in the database now (not as the models are today:
    later migrations add columns the ORM would write)."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
    result = conn.execute(reflected.insert().values(**values))
    return result.inserted_primary_key[0] if result.inserted_primary_key else None


def test_upgrading_indexes_mail_stored_before_the_bigram_index(fresh_databases):
    engine = make_engine(fresh_databases.new_url())
    try:
        upgrade(engine, "0004")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            box = _insert(conn, "mailboxes", name="m", kind="local", settings={}, calendar={},
                          deadline_rules=[])
            agent = _insert(conn, "users", email="agent@example.test", name="Agent", role="agent")
            _insert(conn, "mailbox_members", mailbox_id=box, user_id=agent)
            thread = _insert(conn, "threads", mailbox_id=box, subject="件名",
                             normalized_subject="件名", status="new", last_activity_at=now,
                             external_meta={})
            _insert(conn, "messages", thread_id=thread, mailbox_id=box, direction="inbound",
                    subject="件名", text="返品をお願いします", new_text="返品をお願いします",
                    received_at=now, references=[], to=[], cc=[], reply_to=[], parse_warnings=[])
        upgrade(engine)
        with Session(engine) as session:
            hits = search(session, session.get(User, agent), "返品").hits
            assert [h.thread.id for h in hits] == [thread]
    finally:
        engine.dispose()


def test_folded_search_survives_a_downgrade_and_upgrade_with_mail_stored(fresh_databases):
    """Migration 0011 rebuilds both search indexes from stored mail, in both directions."""
    from alembic import command

    from inbox.schema import alembic_config

    engine = make_engine(fresh_databases.new_url())
    try:
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as session:
            box = make_mailbox(session)
            agent = make_user(session, Role.AGENT, mailboxes=[box])
            thread = make_thread(session, box, "件名", body="ｻｲｽﾞ交換をお願いします")
            session.commit()
        with engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), "0010")
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), "0011")
        upgrade(engine)
        with Session(engine) as session:
            for query in ("さいず", "サイズ交換", "交換"):
                hits = search(session, session.merge(agent), query).hits
                assert [h.thread.id for h in hits] == [thread.id], query
    finally:
        engine.dispose()

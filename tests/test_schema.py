"""Schema: the migrations build exactly the models' schema, and the app refuses an unmigrated database."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from inbox import create_app
from inbox.db import Base, JsonType, TZDateTime, make_engine, utcnow
from inbox.models import Direction, Message, Role
from inbox.schema import DatabaseNotMigrated, upgrade
from inbox.services.search import search
from tests.conftest import base_config
from tests.factories import make_mailbox, make_user

# Search indexes made by migrations 0002 and 0005 that the models cannot express: the SQLite
# FTS5 tables (and the shadow tables FTS5 makes for them) and PostgreSQL's GIN indexes.
SEARCH_OBJECTS = {
    "messages_fts", "messages_fts_data", "messages_fts_idx", "messages_fts_docsize",
    "messages_fts_config", "ix_messages_text_trgm", "ix_messages_subject_trgm",
    "ix_messages_from_address_trgm", "messages_bigrams", "messages_bigrams_data",
    "messages_bigrams_idx", "messages_bigrams_docsize", "messages_bigrams_config",
    "ix_messages_bigrams",
}


def _not_search_object(obj, name, type_, reflected, compare_to) -> bool:
    return name not in SEARCH_OBJECTS


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


def _old_schema_thread(session: Session, mailbox_id: int, subject: str, body: str) -> int:
    """A thread and its message written with the columns of schema 0004 only (the models of
    today have more columns than that schema)."""
    at = utcnow()
    contacts = sa.table("contacts", sa.column("id"), sa.column("address"), sa.column("name"))
    threads = sa.table(
        "threads",
        *(sa.column(c) for c in (
            "id", "mailbox_id", "subject", "normalized_subject", "contact_id", "status",
            "priority", "message_count", "version", "due_set_by_hand",
        )),
        sa.column("last_activity_at", TZDateTime()), sa.column("last_inbound_at", TZDateTime()),
        sa.column("external_meta", JsonType),
    )
    contact_id = session.execute(
        sa.insert(contacts).values(address="customer@example.test", name="customer")
        .returning(contacts.c.id)
    ).scalar_one()
    thread_id = session.execute(
        sa.insert(threads).values(
            mailbox_id=mailbox_id, subject=subject, normalized_subject=subject,
            contact_id=contact_id, status="new", priority="normal",
            last_activity_at=at, last_inbound_at=at,
            message_count=1, external_meta={}, version=1, due_set_by_hand=False,
        ).returning(threads.c.id)
    ).scalar_one()
    session.add(
        Message(
            thread_id=thread_id, mailbox_id=mailbox_id, direction=Direction.INBOUND,
            source_key=f"test:{thread_id}", message_id=f"t{thread_id}@example.test",
            subject=subject, from_address="customer@example.test", received_at=at,
            text=body, new_text=body,
        )
    )
    session.flush()
    return thread_id


def test_upgrading_indexes_mail_stored_before_the_bigram_index(fresh_databases):
    engine = make_engine(fresh_databases.new_url())
    try:
        upgrade(engine, "0004")
        with Session(engine, expire_on_commit=False) as session:
            box = make_mailbox(session)
            agent = make_user(session, Role.AGENT, mailboxes=[box])
            thread_id = _old_schema_thread(session, box.id, "件名", "返品をお願いします")
            session.commit()
        upgrade(engine)
        with Session(engine) as session:
            hits = search(session, session.merge(agent), "返品").hits
            assert [h.thread.id for h in hits] == [thread_id]
    finally:
        engine.dispose()

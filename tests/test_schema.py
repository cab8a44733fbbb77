"""Schema: the migrations build exactly the models' schema, and the app refuses an unmigrated database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from inbox import create_app
from inbox.db import Base, make_engine
from inbox.schema import DatabaseNotMigrated, upgrade
from tests.conftest import base_config

# Search indexes made by migration 0002 that the models cannot express: the SQLite FTS5
# table (and the shadow tables FTS5 makes for it) and PostgreSQL's pg_trgm GIN indexes.
SEARCH_OBJECTS = {
    "messages_fts", "messages_fts_data", "messages_fts_idx", "messages_fts_docsize",
    "messages_fts_config", "ix_messages_text_trgm", "ix_messages_subject_trgm",
    "ix_messages_from_address_trgm",
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

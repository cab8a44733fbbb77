"""Schema version: run the Alembic migrations and check that a database is at the newest one."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from inbox.resources import migrations_dir


class DatabaseNotMigrated(Exception):
    """The database is empty or behind the code's schema."""


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision``."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(connection=conn), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Raise DatabaseNotMigrated with the command to run unless the schema is at head."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        where = "has no schema yet" if current is None else f"is at revision {current}"
        raise DatabaseNotMigrated(
            f"The database {where}, but this version of inbox needs revision {head}. "
            "Run `inbox db upgrade` first."
        )

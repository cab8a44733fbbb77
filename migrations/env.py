"""Alembic environment: runs migrations on the connection or URL that inbox hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import inbox.models  # noqa: F401  (registers the tables on Base.metadata)
from inbox.db import Base, make_engine

target_metadata = Base.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from inbox.config import load_settings

        url = load_settings().database_url
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        _run_on(conn)
    engine.dispose()


def _run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `inbox db upgrade`.")
run()

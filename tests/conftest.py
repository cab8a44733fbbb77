"""Shared fixtures: the app built by the factory, and a database per backend built by the migrations."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from inbox import create_app
from inbox.config import load_settings
from inbox.crypto import generate_key
from inbox.db import make_engine
from inbox.runtime import build_runtime
from inbox.schema import upgrade
from tests.support.requirements import require_server

pytest_plugins = ["tests.support.fixtures"]

CLOCK_SHIFT_DAYS = int(os.environ.get("INBOX_TEST_CLOCK_SHIFT_DAYS") or 0)

PG_URL = os.environ.get(
    "INBOX_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ENCRYPTION_KEY = generate_key()
BACKENDS = ["sqlite", "postgresql"]
if os.environ.get("INBOX_TEST_BACKENDS"):
    BACKENDS = os.environ["INBOX_TEST_BACKENDS"].split(",")


def pytest_configure(config: pytest.Config) -> None:
    """Wire the app as every edge does (``inbox.wiring.wire``), so that a test calling a
    service or ingest directly sees the same hooks whichever test ran first.

    With INBOX_TEST_CLOCK_SHIFT_DAYS=N the whole run lives N days in the future.

    The clock keeps ticking from there, so the suite sees "today" as a later date; a test
    that only passes before some calendar date fails under it (tests/test_future_dates.py).
    """
    from inbox.wiring import wire

    wire()
    if CLOCK_SHIFT_DAYS:
        import time_machine

        traveller = time_machine.travel(
            datetime.now(UTC) + timedelta(days=CLOCK_SHIFT_DAYS), tick=True
        )
        traveller.start()
        config.add_cleanup(traveller.stop)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first: longest first keeps the two workers busy to the end instead of
    one waiting for a two-minute test that started last (the scale-out, wheel and future-date
    tests are collected near the end). Only within each run of tests on the same backend, the
    order pytest chose so that each backend's database is built once per worker."""
    def backend_of(item: pytest.Item) -> str | None:
        callspec = getattr(item, "callspec", None)
        return callspec.params.get("backend") if callspec else None

    ordered: list[pytest.Item] = []
    start = 0
    for end in range(1, len(items) + 1):
        if end == len(items) or backend_of(items[end]) != backend_of(items[start]):
            run = items[start:end]
            ordered += [i for i in run if i.get_closest_marker("slow")]
            ordered += [i for i in run if not i.get_closest_marker("slow")]
            start = end
    items[:] = ordered


def _postgres_reachable() -> tuple[bool, str]:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True, ""
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return False, f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


@dataclass
class FreshDatabase:
    """Makes empty migrated databases of one backend and removes them afterwards.

    The first migrated database of a worker is built by running every migration and kept as a
    template; the next ones are copies of it (SQLite: the file; PostgreSQL: ``CREATE DATABASE
    ... TEMPLATE``), the same schema in milliseconds instead of 1-2 s of migrations (some 400
    tests ask for a database of their own). Tests of the migrations use ``new_url``.
    """

    backend: str
    tmp_path_factory: pytest.TempPathFactory
    created: list[str]
    template: str | None = None

    def new_url(self, template: str | None = None) -> str:
        if self.backend == "sqlite":
            path = self.tmp_path_factory.mktemp("db") / "inbox.sqlite"
            if template is not None:
                shutil.copyfile(template.removeprefix("sqlite:///"), path)
            return f"sqlite:///{path}"
        name = f"inbox_test_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{sa.engine.make_url(template).database}"' if template else ""
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
        admin.dispose()
        self.created.append(name)
        return _with_db(PG_URL, name)

    def migrated_url(self) -> str:
        if self.template is None:
            url = self.new_url()
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            self.template = url
        return self.new_url(template=self.template)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _with_db(url: str, name: str) -> str:
    return str(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with its production cost takes ~0.1-0.7 s per hash; tests hash hundreds of times.

    Same algorithm and code path, lower cost parameters: verification is still real.
    """
    from argon2 import PasswordHasher

    from inbox.services import accounts

    saved = accounts._hasher, accounts._DUMMY_HASH
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts._DUMMY_HASH = accounts._hasher.hash("dummy password")
    yield
    accounts._hasher, accounts._DUMMY_HASH = saved


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        ok, why = _postgres_reachable()
        require_server("postgresql", ok, why)
    return request.param


@pytest.fixture(scope="session")
def fresh_databases(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FreshDatabase]:
    fresh = FreshDatabase(backend, tmp_path_factory, [])
    yield fresh
    fresh.drop_all()


@pytest.fixture(scope="session")
def db_url(fresh_databases: FreshDatabase) -> str:
    """One migrated database per backend for the whole run; tests roll back their changes."""
    return fresh_databases.migrated_url()


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        trans = conn.begin()
        yield conn
        if trans.is_active:
            trans.rollback()


@pytest.fixture
def session(connection: sa.Connection) -> Iterator[Session]:
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as s:
        yield s


def base_config(tmp_path, db_url: str) -> dict:
    return {
        "server": {"secret_key": "test-secret-key-0123456789"},
        "security": {"encryption_key": ENCRYPTION_KEY},
        "database": {"url": db_url},
        "storage": {"blob_dir": str(tmp_path / "blobs")},
        "scheduler": {"enabled": False},
    }


def fresh_app(connection: sa.Connection, db_url: str, tmp_path):
    """A new app from the factory bound to the test's connection (for a test that changes the
    app itself, such as registering a blueprint)."""
    config = base_config(tmp_path, db_url)
    config.update({"bind": connection, "testing": True})
    return create_app(config)


_APPS: dict[str, Flask] = {}  # this worker's app per database, see ``app``


@pytest.fixture
def app(connection: sa.Connection, db_url: str, tmp_path) -> Iterator[Flask]:
    """The app from the factory, with its own runtime bound to this test's connection.

    Building an app costs 0.3-0.6 s (Werkzeug compiles ~150 URL rules) and some 1,500 tests use
    one, so each worker builds one per database; every test gets a runtime of its own (settings,
    sessions on its connection, its own blob directory: what the factory builds from the config)
    and its config back afterwards. A test that changes the app itself uses ``fresh_app``.
    """
    shared = _APPS.get(db_url)
    if shared is None:
        shared = _APPS[db_url] = fresh_app(connection, db_url, tmp_path)
    config = dict(shared.config)
    shared.extensions["inbox"] = build_runtime(load_settings(base_config(tmp_path, db_url)), bind=connection)
    yield shared
    shared.config.clear()
    shared.config.update(config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runtime(app):
    return app.extensions["inbox"]

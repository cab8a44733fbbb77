"""The database going away is an outage: dead pooled connections are replaced, and a poll that
cannot reach the database says so once per outage and recovers by itself."""

from __future__ import annotations

import logging
import mailbox as mailbox_lib

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from inbox.config import load_settings
from inbox.db import make_engine
from inbox.jobs.poll import Poller
from inbox.models import MailboxKind, Message
from inbox.runtime import build_runtime
from inbox.services.mailboxes import create_mailbox
from tests.conftest import base_config
from tests.ingest.test_poll import raw_mail


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    rt = build_runtime(load_settings(base_config(tmp_path, fresh_databases.migrated_url()), environ={}))
    yield rt
    rt.engine.dispose()


def local_box(runtime, path, n: int) -> int:
    md = mailbox_lib.Maildir(path, create=True)
    for i in range(n):
        md.add(raw_mail(i))
    with runtime.Session() as s:
        box = create_mailbox(s, runtime.secrets, name="files", kind=MailboxKind.LOCAL, settings={"path": str(path)})
        s.commit()
        return box.id


def test_a_restarted_postgresql_does_not_fail_the_next_job(runtime, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has no server to restart")
    with runtime.engine.connect() as conn:  # one pooled connection, then its server process dies
        pid = conn.exec_driver_sql("select pg_backend_pid()").scalar()
    killer = make_engine(runtime.settings.database_url)
    with killer.connect() as conn:
        conn.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    with runtime.Session() as s:  # the next job gets a live connection
        assert s.scalar(select(func.count(Message.id))) == 0


def test_a_poll_while_the_database_is_down_is_logged_once_and_recovers(runtime, tmp_path, caplog):
    box = local_box(runtime, tmp_path / "md", 3)
    good = runtime.Session.kw["bind"]
    down = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    poller = Poller(runtime)
    runtime.Session.configure(bind=down)
    with caplog.at_level(logging.INFO, logger="inbox"):
        for _ in range(3):
            result = poller.poll(box)
            assert not result.claimed and result.error
        runtime.Session.configure(bind=good)
        result = poller.poll(box)
    down.dispose()
    assert (result.error, result.counts.imported) == (None, 3)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([m for m in lines if "database cannot be reached" in m]) == 1, lines
    assert len([m for m in lines if "reachable again" in m]) == 1, lines
    assert len(lines) == 2, lines

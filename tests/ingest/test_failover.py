"""Fail-over: a poll lease held by a frozen process is taken over within one lease period (PostgreSQL).

The frozen holder is a poller stopped in the middle of a batch with its transaction open
and its heartbeat stopped too, as SIGSTOP would leave it. Another poller must claim the
mailbox within one lease and store the rest of its mail without waiting for the holder.
"""

from __future__ import annotations

import mailbox as mailbox_lib
import threading
import time

import pytest
from sqlalchemy import func, select

from inbox.config import load_settings
from inbox.jobs.poll import Poller
from inbox.models import MailboxKind, Message
from inbox.runtime import build_runtime
from inbox.services.mailboxes import create_mailbox
from tests.conftest import base_config
from tests.ingest.test_poll import raw_mail

LEASE = 4
MESSAGES = 8


@pytest.fixture
def runtime(fresh_databases, backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: a frozen writer stops every process")
    config = base_config(tmp_path, fresh_databases.migrated_url()) | {
        "ingest": {"batch_size": 2},
        "scheduler": {"claim_seconds": LEASE, "heartbeat_seconds": 1},
    }
    rt = build_runtime(load_settings(config, environ={}))
    yield rt
    rt.engine.dispose()


class FrozenPoller(Poller):
    """Freezes, transaction open and heartbeat stopped, inside its second batch."""

    def __init__(self, runtime, **kw):
        super().__init__(runtime, **kw)
        self.frozen, self.thaw, self.batches = threading.Event(), threading.Event(), 0

    def store_batch(self, session, mailbox, batch, *args):
        counts = super().store_batch(session, mailbox, batch, *args)
        self.batches += 1
        if self.batches == 2:
            self.frozen.set()
            self.thaw.wait(120)
        return counts

    def _heartbeat(self, mailbox_id, stop):
        while not stop.wait(self.heartbeat_seconds) and not self.frozen.is_set():
            self.renew(mailbox_id)


def count(runtime) -> int:
    with runtime.Session() as s:
        return s.scalar(select(func.count(Message.id)))


def test_another_poller_takes_over_a_frozen_holder_within_one_lease(runtime, tmp_path):
    md = mailbox_lib.Maildir(tmp_path / "md", create=True)
    for i in range(MESSAGES):
        md.add(raw_mail(i))
    with runtime.Session() as s:
        box = create_mailbox(s, runtime.secrets, name="files", kind=MailboxKind.LOCAL, settings={"path": str(tmp_path / "md")})
        s.commit()
        box_id = box.id

    holder = FrozenPoller(runtime)
    held = threading.Thread(target=holder.poll, args=(box_id,), daemon=True)
    held.start()
    try:
        assert holder.frozen.wait(60), "the holder never reached its second batch"
        frozen_at = time.monotonic()

        taken: dict = {}

        def other_scheduler() -> None:
            other = Poller(runtime)
            while time.monotonic() - frozen_at < 3 * LEASE:
                result = other.poll(box_id)
                if result.claimed:
                    taken.update(result=result, at=time.monotonic())
                    return
                time.sleep(0.2)

        taker = threading.Thread(target=other_scheduler, daemon=True)
        taker.start()
        taker.join(3 * LEASE + 10)
        assert not taker.is_alive(), "the other scheduler is blocked by the frozen holder"
        assert taken, "the other scheduler never took the mailbox over"
        took = taken["at"] - frozen_at
        print(f"taken over {took:.1f} s after the holder froze (lease {LEASE} s)")
        assert took < LEASE + 3
        assert taken["result"].error is None
        assert count(runtime) == MESSAGES
    finally:
        holder.thaw.set()
        held.join(30)
    assert count(runtime) == MESSAGES  # the thawed holder stored nothing twice

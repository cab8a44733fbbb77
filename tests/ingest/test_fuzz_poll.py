"""Fuzz: 200+ mutants of real mail between valid mail, polled through Dovecot: everything stored, cursor at the end.

The set comes from tests/ingest/fuzz/make_fuzz.py (fixed seed). Every valid message must
be stored as read; every mutant must be stored too (read, or raw and flagged); the poll
must report no error and leave the cursor at the last UID; a second poll adds nothing.
"""

from __future__ import annotations

import resource
import time

import pytest
from sqlalchemy import func, select

from inbox.config import load_settings
from inbox.jobs.poll import Poller
from inbox.models import Message, SourceCursor
from inbox.runtime import build_runtime
from tests.conftest import base_config
from tests.ingest.fuzz.make_fuzz import fuzz_set
from tests.ingest.test_poll import USER, imap_mailbox
from tests.support.dovecot_server import seed_maildir


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    config = base_config(tmp_path, fresh_databases.migrated_url()) | {"ingest": {"batch_size": 50}}
    rt = build_runtime(load_settings(config, environ={}))
    yield rt
    rt.engine.dispose()


@pytest.mark.slow
@pytest.mark.dovecot
def test_fuzz_mail_never_blocks_the_mailbox(runtime, dovecot, backend):
    mail = fuzz_set()
    mutants = [m for m in mail if not m[2]]
    valid = [m for m in mail if m[2]]
    assert len(mutants) >= 200
    seed_maildir(dovecot, USER, [raw for _name, raw, _valid in mail])
    box = imap_mailbox(runtime, dovecot)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = Poller(runtime).poll(box)
    took = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"\n{backend}: {len(mail)} messages ({len(mutants)} mutants) polled in {took:.1f} s; "
        f"peak RSS {rss_after / 1024:.0f} MB (was {rss_before / 1024:.0f} MB before the poll)"
    )
    assert result.error is None
    with runtime.Session() as s:
        rows = s.execute(select(Message.message_id, Message.parse_failed)).all()
        cursor = s.scalar(select(SourceCursor).where(SourceCursor.mailbox_id == box, SourceCursor.name == "INBOX"))
        flagged = s.scalar(select(func.count(Message.id)).where(Message.parse_failed))
    print(f"{backend}: stored {len(rows)}, of which flagged {flagged}; {result.counts.with_warnings} with warnings")
    assert len(rows) == len(mail), "every message, valid or mutant, is stored once"
    read = {mid for mid, failed in rows if not failed}
    assert {f"valid-{n // 2}@fuzz.example.jp" for n in range(1, len(mail), 2)} <= read
    assert len(valid) == len(mail) // 2
    assert cursor.last_uid == len(mail)
    again = Poller(runtime).poll(box)
    assert (again.error, again.counts.imported) == (None, 0)

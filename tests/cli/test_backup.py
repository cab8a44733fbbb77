"""`inbox db backup`: a copy taken while mail is being ingested restores and polls on without loss or duplicates."""

from __future__ import annotations

import os
import shutil
import stat
import threading

from sqlalchemy import func, select

from inbox.config import load_settings
from inbox.jobs.poll import Poller
from inbox.models import MailboxKind, Message
from inbox.runtime import build_runtime
from inbox.services.mailboxes import create_mailbox
from tests.cli.mail_files import message, write_mbox

TOTAL = 450


def stored_ids(runtime) -> list[str]:
    with runtime.Session() as s:
        return list(s.scalars(select(Message.message_id)))


def test_backup_during_ingest_restores_and_polls_on_exactly_once(inbox, tmp_path, backend):
    mbox = write_mbox(tmp_path / "in.mbox", [message(i) for i in range(TOTAL)])
    with inbox.runtime.Session() as s:
        box = create_mailbox(s, inbox.runtime.secrets, name="support", kind=MailboxKind.LOCAL,
                             settings={"path": str(mbox)})
        s.commit()
        box_id = box.id
    target = tmp_path / "backups" / "inbox-backup.sqlite"

    if backend == "postgresql":
        result = inbox("db", "backup", str(target))
        assert result.exit_code == 0, result.output
        assert "pg_dump --format=custom --file=" in result.output and str(target) in result.output
        assert not target.exists()
        return

    poll = threading.Thread(target=lambda: Poller(inbox.runtime, owner="backup-test").poll(box_id))
    poll.start()  # the backup is taken while this poll writes its batches
    result = inbox("db", "backup", str(target))
    poll.join()
    assert result.exit_code == 0, result.output
    assert "Backed up the database to" in result.output
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert len(stored_ids(inbox.runtime)) == TOTAL
    again = inbox("db", "backup", str(target))
    assert again.exit_code != 0 and "exists already" in again.output

    restored = tmp_path / "restored.sqlite"
    shutil.copy(target, restored)
    env = {**inbox.env, "INBOX_DATABASE_URL": f"sqlite:///{restored}"}
    settings = load_settings({}, environ={k: v for k, v in env.items() if v})
    runtime = build_runtime(settings)
    try:
        before = stored_ids(runtime)
        assert set(before) <= set(stored_ids(inbox.runtime))  # a consistent snapshot, nothing invented
        Poller(runtime, owner="after-restore").poll(box_id)
        after = stored_ids(runtime)
        assert len(after) == TOTAL and len(set(after)) == TOTAL
        with runtime.Session() as s:
            assert s.scalar(select(func.count()).select_from(Message)) == TOTAL
    finally:
        runtime.engine.dispose()

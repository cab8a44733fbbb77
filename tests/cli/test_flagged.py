"""`inbox mailbox poll` with poison mail in a local Maildir, and `inbox flagged list|reprocess`."""

from __future__ import annotations

import mailbox as mailbox_lib

from sqlalchemy import select

from inbox.db import utcnow
from inbox.ingest.store import ingest_quarantined
from inbox.models import Mailbox, MailboxKind, Message
from inbox.services.mailboxes import create_mailbox
from inbox.sources import RawItem
from tests.ingest.test_poison import POISON
from tests.ingest.test_poll import raw_mail


def test_poll_of_good_poison_good_stores_all_three(inbox, tmp_path):
    md = mailbox_lib.Maildir(tmp_path / "md", create=True)
    for raw in [raw_mail(1), POISON["8-bit Message-ID"], raw_mail(2)]:
        md.add(raw)
    with inbox.runtime.Session() as s:
        create_mailbox(s, inbox.runtime.secrets, name="files", kind=MailboxKind.LOCAL, settings={"path": str(tmp_path / "md")})
        s.commit()
    result = inbox("mailbox", "poll", "files")
    assert result.exit_code == 0, result.output
    assert "Imported 3," in result.output


def test_flagged_list_and_reprocess(inbox):
    with inbox.runtime.Session() as s:
        box = create_mailbox(s, inbox.runtime.secrets, name="files", kind=MailboxKind.LOCAL, settings={"path": "/nowhere"})
        ingest_quarantined(s, inbox.runtime.blobs, s.get(Mailbox, box.id), RawItem("k", raw_mail(7)), error="DataError: refused", now=utcnow())
        s.commit()
    listed = inbox("flagged", "list")
    assert listed.exit_code == 0 and "Quarantined: DataError: refused" in listed.output
    assert "1 flagged messages." in listed.output
    assert inbox("flagged", "reprocess").exit_code == 2  # neither ids nor --all
    done = inbox("flagged", "reprocess", "--all")
    assert done.exit_code == 0 and "1 of 1 read again." in done.output, done.output
    with inbox.runtime.Session() as s:
        message = s.scalar(select(Message))
        assert not message.parse_failed and message.subject == "在庫の確認 7"
    assert "0 flagged messages." in inbox("flagged", "list").output

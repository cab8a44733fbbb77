"""Polling a mailbox end to end: IMAP (real Dovecot) and local files, committed per batch, exactly once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from inbox.config import load_settings
from inbox.jobs.poll import Poller
from inbox.models import Direction, Mailbox, MailboxKind, Message, SourceCursor
from inbox.runtime import build_runtime
from inbox.services.mailboxes import create_mailbox
from tests.conftest import base_config

USER = "support@example.test"


def raw_mail(i: int, subject: str = "在庫の確認", *, frm: str = "customer@example.jp") -> bytes:
    return (
        f"From: {frm}\r\nTo: {USER}\r\nSubject: {subject} {i}\r\nMessage-ID: <m{i}@example.jp>\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"本文 {i}\r\n"
    ).encode()


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    settings = load_settings(base_config(tmp_path, fresh_databases.migrated_url()) | {"ingest": {"batch_size": 3}}, environ={})
    rt = build_runtime(settings)
    yield rt
    rt.engine.dispose()


def imap_mailbox(runtime, dovecot, **settings) -> int:
    with runtime.Session() as s:
        box = create_mailbox(
            s, runtime.secrets, name="support", kind=MailboxKind.IMAP, address=USER,
            settings={"imap_host": "127.0.0.1", "imap_port": dovecot.port, "imap_security": "plain", **settings},
            secrets={"imap_password": "secret"},
        )
        s.commit()
        return box.id


def stored(runtime) -> list[tuple[str, str]]:
    with runtime.Session() as s:
        return list(s.execute(select(Message.message_id, Message.direction).order_by(Message.id)))


@pytest.mark.dovecot
def test_poll_fetches_every_message_once_in_batches(runtime, dovecot):
    for i in range(7):
        dovecot.deliver(USER, raw_mail(i))
    box = imap_mailbox(runtime, dovecot)
    first = Poller(runtime).poll(box)
    assert first.error is None and first.counts.imported == 7
    assert Poller(runtime).poll(box).counts.imported == 0
    dovecot.deliver(USER, raw_mail(7))
    assert Poller(runtime).poll(box).counts.imported == 1
    assert [m for m, _ in stored(runtime)] == [f"m{i}@example.jp" for i in range(8)]
    with runtime.Session() as s:
        cursor = s.scalar(select(SourceCursor).where(SourceCursor.name == "INBOX"))
        assert cursor.last_uid == 8


@pytest.mark.dovecot
def test_uidvalidity_reset_adds_no_duplicates(runtime, dovecot):
    for i in range(4):
        dovecot.deliver(USER, raw_mail(i))
    box = imap_mailbox(runtime, dovecot)
    Poller(runtime).poll(box)
    dovecot.set_uidvalidity(USER, "INBOX", 424242)
    dovecot.deliver(USER, raw_mail(4))
    result = Poller(runtime).poll(box)
    assert result.error is None
    assert result.counts.imported == 1 and result.counts.duplicates == 4
    assert len(stored(runtime)) == 5


@pytest.mark.dovecot
def test_mail_in_the_sent_folder_joins_as_outbound(runtime, dovecot):
    dovecot.deliver(USER, raw_mail(1))
    reply = raw_mail(2, "Re: 在庫の確認", frm="someone.else@example.jp").replace(
        b"Message-ID: <m2@example.jp>", b"Message-ID: <m2@example.jp>\r\nIn-Reply-To: <m1@example.jp>"
    )
    dovecot.deliver(USER, reply, folder="Sent")
    box = imap_mailbox(runtime, dovecot)
    assert Poller(runtime).poll(box).counts.imported == 2
    assert [d for _, d in stored(runtime)] == [Direction.INBOUND, Direction.OUTBOUND]


@pytest.mark.dovecot
def test_wrong_password_is_recorded_on_the_mailbox_in_plain_words(runtime, dovecot):
    box = imap_mailbox(runtime, dovecot)
    with runtime.Session() as s:
        mailbox = s.get(Mailbox, box)
        from inbox.services.mailboxes import update_secrets

        update_secrets(mailbox, runtime.secrets, {"imap_password": "wrong"})
        s.commit()
    result = Poller(runtime).poll(box)
    assert result.error and "Login failed" in result.error
    with runtime.Session() as s:
        mailbox = s.get(Mailbox, box)
        assert "Login failed" in mailbox.last_error
        assert mailbox.last_success_at is None
        assert "wrong" not in mailbox.last_error


def test_a_second_process_does_not_poll_a_claimed_mailbox(runtime, tmp_path):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(raw_mail(1))
    with runtime.Session() as s:
        box = create_mailbox(s, runtime.secrets, name="files", kind=MailboxKind.LOCAL, settings={"path": str(tmp_path / "mail")})
        s.commit()
        box_id = box.id
    from datetime import timedelta

    from inbox.db import utcnow
    from inbox.services import claims

    with runtime.Session() as s:
        assert claims.try_claim(s, f"poll:{box_id}", "other-process", now=utcnow(), ttl=timedelta(minutes=5))
        s.commit()
    assert Poller(runtime).poll(box_id).claimed is False
    with runtime.Session() as s:  # the other process died: its claim expires and is taken over
        assert claims.try_claim(s, f"poll:{box_id}", "x", now=utcnow() + timedelta(minutes=6), ttl=timedelta(minutes=5))
        s.commit()
    later = Poller(runtime, now=lambda: utcnow() + timedelta(minutes=12)).poll(box_id)
    assert later.claimed and later.counts.imported == 1
    with runtime.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1

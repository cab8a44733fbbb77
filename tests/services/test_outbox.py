"""Delivering replies through the outbox: SMTP retries with backoff, refusals, crashes, the Sent folder."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.models import MailboxKind, OutboxItem, OutboxStatus
from inbox.senders import mail_reply
from inbox.services import outbox, replies
from tests.factories import make_mailbox, make_user
from tests.services.test_replies import T0, customer_thread, item_of, queue_reply
from tests.support import smtp_server as smtp_module
from tests.support.smtp_server import SmtpServer, free_port

SENT_AT = T0 + timedelta(hours=1)


def reply_mailbox(session, runtime, port, **settings):
    secrets = settings.pop("secrets", None)
    mailbox = make_mailbox(
        session, kind=settings.pop("kind", MailboxKind.LOCAL), address="support@example.test",
        settings={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "plain", **settings},
    )
    mailbox.secret_encrypted = runtime.secrets.seal(secrets) if secrets else None
    return mailbox


def queued(session, runtime, mailbox):
    thread, _ = customer_thread(session, mailbox)
    user = make_user(session, mailboxes=[mailbox])
    message = queue_reply(session, runtime, thread, user, now=SENT_AT)
    session.flush()
    return item_of(session, message), thread


def deliver(runtime, at):
    return outbox.deliver_due(runtime.Session, runtime, owner="test-worker", now=lambda: at)


def fresh(session, item) -> OutboxItem:
    session.expire_all()
    return session.get(OutboxItem, item.id)


def test_smtp_down_is_retried_with_backoff_then_delivered_once(session, runtime, monkeypatch):
    port = free_port()  # nothing listens here yet
    item, _ = queued(session, runtime, reply_mailbox(session, runtime, port))

    assert deliver(runtime, SENT_AT) == {"queued": 1}
    item = fresh(session, item)
    assert item.attempts == 1 and item.next_attempt_at == SENT_AT + timedelta(seconds=30)
    assert "Could not connect" in item.last_error

    assert deliver(runtime, SENT_AT + timedelta(seconds=29)) == {}  # not due yet
    monkeypatch.setattr(smtp_module, "free_port", lambda: port)
    with SmtpServer() as server:
        assert server.port == port
        assert deliver(runtime, SENT_AT + timedelta(seconds=31)) == {"sent": 1}
        assert deliver(runtime, SENT_AT + timedelta(hours=2)) == {}
        assert len(server.messages) == 1
        assert server.messages[0].rcpt_tos == ["yamada@example.jp"]
    item = fresh(session, item)
    assert item.status == OutboxStatus.SENT and item.attempts == 2
    assert item.sent_at == SENT_AT + timedelta(seconds=31)


def test_a_5xx_refusal_fails_at_once_and_is_listed_as_failed(session, runtime, smtp_server):
    mailbox = reply_mailbox(session, runtime, smtp_server.port)
    item, thread = queued(session, runtime, mailbox)
    smtp_server.fail_next(1, code=550, text="5.1.1 No such user", stage="RCPT")

    assert deliver(runtime, SENT_AT) == {"failed": 1}
    assert deliver(runtime, SENT_AT + timedelta(hours=1)) == {}
    item = fresh(session, item)
    assert item.status == OutboxStatus.FAILED and item.attempts == 1
    assert "550" in item.last_error and "No such user" in item.last_error
    assert smtp_server.messages == []
    rows = replies.failed_replies(session, [mailbox.id])
    assert [(r.item.id, r.thread.id) for r in rows] == [(item.id, thread.id)]


def test_a_crash_between_sending_and_recording_becomes_unknown_and_is_never_resent(
    session, runtime, smtp_server
):
    item, _ = queued(session, runtime, reply_mailbox(session, runtime, smtp_server.port))
    with runtime.Session() as worker:  # claim, send, then "crash" before recording
        assert outbox.claim_due(worker, owner="dying-worker", now=SENT_AT) == [item.id]
        worker.commit()
        claimed = worker.get(OutboxItem, item.id)
        worker.expunge(claimed)  # as deliver_due does: no transaction stays open while sending
    assert mail_reply.deliver_reply(claimed, runtime).status == OutboxStatus.SENT
    assert len(smtp_server.messages) == 1

    assert deliver(runtime, SENT_AT + timedelta(minutes=4)) == {}  # lease still running
    assert fresh(session, item).status == OutboxStatus.SENDING
    assert deliver(runtime, SENT_AT + outbox.LEASE + timedelta(seconds=1)) == {}
    item = fresh(session, item)
    assert item.status == OutboxStatus.UNKNOWN
    assert deliver(runtime, SENT_AT + timedelta(days=1)) == {}
    assert len(smtp_server.messages) == 1

    replies.mark_sent(session, item, now=SENT_AT + timedelta(days=1), actor_id=None)
    assert item.status == OutboxStatus.SENT


def test_send_again_delivers_a_failed_reply_with_the_same_message_id(session, runtime, smtp_server):
    item, _ = queued(session, runtime, reply_mailbox(session, runtime, smtp_server.port))
    smtp_server.fail_next(1, code=554, text="5.7.1 Rejected", stage="DATA")
    deliver(runtime, SENT_AT)
    item = fresh(session, item)
    assert item.status == OutboxStatus.FAILED
    replies.send_again(session, item, now=SENT_AT + timedelta(minutes=5), actor_id=None)
    session.flush()
    assert deliver(runtime, SENT_AT + timedelta(minutes=5)) == {"sent": 1}
    assert smtp_server.messages[0].content == item.raw
    with pytest.raises(replies.InvalidInput):
        replies.send_again(session, fresh(session, item), now=SENT_AT, actor_id=None)


@pytest.mark.dovecot
def test_a_sent_reply_is_copied_to_the_imap_sent_folder(session, runtime, smtp_server, dovecot):
    mailbox = reply_mailbox(
        session, runtime, smtp_server.port, kind=MailboxKind.IMAP, imap_host="127.0.0.1",
        imap_port=dovecot.port, imap_security="plain", imap_username="support@example.test",
        sent_folder="Sent", secrets={"imap_password": "secret"},
    )
    item, _ = queued(session, runtime, mailbox)
    assert deliver(runtime, SENT_AT) == {"sent": 1}
    assert fresh(session, item).copied_to_sent is True
    assert dovecot.status("support@example.test", "Sent")["messages"] == 1
    assert len(smtp_server.messages) == 1


def test_a_failed_sent_folder_copy_is_recorded_and_never_resends(session, runtime, smtp_server):
    mailbox = reply_mailbox(
        session, runtime, smtp_server.port, kind=MailboxKind.IMAP, imap_host="127.0.0.1",
        imap_port=free_port(), imap_security="plain", sent_folder="Sent",
        secrets={"imap_password": "secret"},
    )
    item, _ = queued(session, runtime, mailbox)
    assert deliver(runtime, SENT_AT) == {"sent": 1}
    assert deliver(runtime, SENT_AT + timedelta(hours=1)) == {}
    item = fresh(session, item)
    assert item.status == OutboxStatus.SENT and item.copied_to_sent is False
    assert item.last_error.startswith("Sent, but not copied to the Sent folder")
    assert len(smtp_server.messages) == 1


def test_smtp_settings_come_from_the_mailbox_and_its_sealed_password(session, runtime):
    mailbox = reply_mailbox(
        session, runtime, 587, smtp_host="smtp.example.jp", smtp_security="starttls",
        smtp_username="support", secrets={"smtp_password": "pw-123"},
    )
    settings = mail_reply.smtp_settings(mailbox, runtime.secrets)
    assert (settings.host, settings.port, settings.security) == ("smtp.example.jp", 587, "starttls")
    assert (settings.username, settings.password) == ("support", "pw-123")
    mailbox.settings = {}
    with pytest.raises(mail_reply.SmtpNotConfigured):
        mail_reply.smtp_settings(mailbox, runtime.secrets)


def test_after_a_crash_only_the_item_whose_send_had_started_is_unknown(session, runtime, smtp_server):
    mailbox = reply_mailbox(session, runtime, smtp_server.port)
    first, _ = queued(session, runtime, mailbox)
    second, _ = queued(session, runtime, mailbox)
    with runtime.Session() as worker:  # one claim for both, then a crash during the first send
        assert outbox.claim_due(worker, owner="dying-worker", now=SENT_AT) == [first.id, second.id]
        worker.commit()
        claimed = worker.get(OutboxItem, first.id)
        worker.expunge(claimed)
    assert mail_reply.deliver_reply(claimed, runtime).status == OutboxStatus.SENT
    assert fresh(session, second).attempt_started_at is None

    assert deliver(runtime, SENT_AT + outbox.LEASE + timedelta(seconds=1)) == {"sent": 1}
    first, second = fresh(session, first), fresh(session, second)
    assert first.status == OutboxStatus.UNKNOWN and first.attempt_started_at is not None
    assert second.status == OutboxStatus.SENT and second.attempts == 1  # the crash cost no attempt
    assert [m.rcpt_tos for m in smtp_server.messages] == [["yamada@example.jp"]] * 2


def test_a_worker_whose_claim_was_taken_back_sends_nothing(session, runtime, smtp_server):
    item, _ = queued(session, runtime, reply_mailbox(session, runtime, smtp_server.port))
    with runtime.Session() as slow:
        assert outbox.claim_due(slow, owner="slow-worker", now=SENT_AT) == [item.id]
        slow.commit()
        claimed = slow.get(OutboxItem, item.id)
        slow.expunge(claimed)
    later = SENT_AT + outbox.LEASE + timedelta(seconds=1)
    assert deliver(runtime, later) == {"sent": 1}  # requeued (never started) and sent by another
    with pytest.raises(outbox.ClaimLost):
        mail_reply.deliver_reply(claimed, runtime)
    assert len(smtp_server.messages) == 1


def test_a_refused_reply_is_mailed_to_its_author_and_the_assignee(session, runtime, smtp_server, monkeypatch):
    import dataclasses

    from inbox.models import Role

    monkeypatch.setattr(runtime, "settings", dataclasses.replace(
        runtime.settings, reply_failure_mail=True,
        alert_smtp={"host": "127.0.0.1", "port": smtp_server.port, "security": "plain"}))
    mailbox = reply_mailbox(session, runtime, smtp_server.port)
    thread, _ = customer_thread(session, mailbox)
    author = make_user(session, mailboxes=[mailbox], email="author@example.test")
    lead = make_user(session, Role.LEAD, mailboxes=[mailbox], email="lead@example.test")
    thread.assignee_id = lead.id
    item = item_of(session, queue_reply(session, runtime, thread, author, now=SENT_AT))
    session.flush()
    smtp_server.fail_next(1, code=550, text="5.1.1 No such user", stage="RCPT")

    assert deliver(runtime, SENT_AT) == {"failed": 1}
    assert smtp_server.messages == []
    assert deliver(runtime, SENT_AT + timedelta(seconds=1)) == {"sent": 1}  # the notice
    (notice,) = smtp_server.messages
    assert sorted(notice.rcpt_tos) == ["author@example.test", "lead@example.test"]
    mail = notice.message()
    assert mail["Subject"] == f"【返信未送信】[#{thread.id}] 配送について"
    assert "No such user" in mail.get_content()
    assert deliver(runtime, SENT_AT + timedelta(hours=1)) == {}  # once per failure
    assert fresh(session, item).status == OutboxStatus.FAILED

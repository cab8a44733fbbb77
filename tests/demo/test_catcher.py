"""The demo's mail catcher: a newcomer's first reply from a demo mailbox goes out and is kept, not lost."""

from __future__ import annotations

import email
import email.policy
import mailbox
import smtplib
from email.message import EmailMessage

from sqlalchemy import select

import inbox.senders  # noqa: F401  (registers the "reply" deliverer)
from inbox.db import utcnow
from inbox.demo import catcher, catcher_dir, load_demo
from inbox.models import Mailbox, OutboxItem, OutboxStatus, Status, Thread, User
from inbox.services import outbox, replies
from tests.malls import mall_runtime
from tests.support.smtp_server import free_port


def kept_mail(path) -> list[EmailMessage]:
    return [email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
            for m in mailbox.Maildir(str(path), create=False)]


def test_the_catcher_keeps_each_mail_in_a_maildir(tmp_path):
    server = catcher.start(tmp_path / "sent", port=free_port())
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@demo.example", "b@example.jp", "テスト"
        msg.set_content(".a line starting with a dot\n本文\n")
        with smtplib.SMTP("127.0.0.1", server.server_address[1], timeout=5) as smtp:
            assert smtp.send_message(msg) == {}
    finally:
        server.shutdown()
        server.server_close()
    (kept,) = kept_mail(tmp_path / "sent")
    assert kept["Subject"] == "テスト"
    assert kept.get_content().startswith(".a line starting with a dot\n本文")


def test_a_first_reply_from_a_demo_mailbox_is_sent_to_the_catcher(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as runtime:
        load_demo(runtime, now=utcnow())
        port = free_port()
        with runtime.Session() as s:
            box = s.scalar(select(Mailbox).where(Mailbox.name == "support"))
            assert box.settings["smtp_host"] == "127.0.0.1" and box.settings["demo_catcher"] is True
            assert replies.sending_problem(box) is None
            box.settings = {**box.settings, "smtp_port": port}  # the real one is catcher.PORT
            thread = s.scalar(select(Thread).where(Thread.mailbox_id == box.id,
                                                   Thread.status == Status.NEW).limit(1))
            agent = s.scalar(select(User).where(User.email == "agent@demo.example"))
            composer = replies.composer_defaults(s, thread, settings=runtime.settings, now=utcnow(),
                                                 reply_key="first")
            draft = replies.Draft(composer.to, composer.cc, "", composer.subject,
                                  "お問い合わせありがとうございます。\n" + composer.text, "first", utcnow())
            replies.send_reply(s, thread, agent, draft, now=utcnow(), settings=runtime.settings,
                               blobs=runtime.blobs)
            s.commit()
            thread_id = thread.id
        server = catcher.start(catcher_dir(runtime), port=port)
        try:
            assert outbox.deliver_due(runtime.Session, runtime, owner="t", now=utcnow) == {"sent": 1}
        finally:
            server.shutdown()
            server.server_close()
        with runtime.Session() as s:
            assert s.get(Thread, thread_id).status == Status.WAITING
            assert s.scalar(select(OutboxItem.status).where(OutboxItem.thread_id == thread_id)) == OutboxStatus.SENT
        (kept,) = kept_mail(catcher_dir(runtime))
        assert kept.get_body(("plain",)).get_content().startswith("お問い合わせありがとうございます。")


def test_inbox_run_starts_the_catcher_only_where_a_mailbox_sends_to_it(fresh_databases, tmp_path, monkeypatch):
    from inbox.demo import start_catcher_if_used

    monkeypatch.setattr(catcher, "PORT", free_port())
    with mall_runtime(fresh_databases, tmp_path) as runtime:
        assert start_catcher_if_used(runtime) is None  # no demo mailboxes
        load_demo(runtime, now=utcnow())
        server = start_catcher_if_used(runtime)
        try:
            assert server is not None and server.server_address == ("127.0.0.1", catcher.PORT)
        finally:
            server.shutdown()
            server.server_close()

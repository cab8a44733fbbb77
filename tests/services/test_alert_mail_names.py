"""Mails to the team never show a mall's internal customer id: a reply that did not reach a
mall customer names them 「お客様 / Customer (…2c9d)」 (webhook and API payloads keep raw data)."""

from __future__ import annotations

import dataclasses
import email
import email.policy

from sqlalchemy import select

from inbox.models import OutboxItem, OutboxStatus
from inbox.services import delivery
from tests.factories import make_mailbox, make_user
from tests.services.test_replies import T0, customer_thread, item_of, queue_reply


def test_a_failed_reply_notice_names_a_mall_customer_neutrally(session, runtime):
    settings = dataclasses.replace(runtime.settings, reply_failure_mail=True)
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    author = make_user(session, mailboxes=[mailbox], email="author@example.test")
    item = item_of(session, queue_reply(session, runtime, thread, author, now=T0))
    item.recipients = ["yahoo:shop:yu-2c9d", "someone@example.jp"]
    item.status, item.last_error = OutboxStatus.FAILED, "refused"
    notice = delivery.notify_failure(session, item, now=T0, settings=settings)
    text = (
        email.message_from_bytes(notice.raw, policy=email.policy.default)
        .get_body(("plain",))
        .get_content()
    )
    assert "yahoo:shop" not in text
    assert "お客様 / Customer (…2c9d), someone@example.jp" in text


def test_a_notification_mail_about_a_mall_customer_shows_no_mall_id(session, runtime):
    """Guard: the mail telling an agent that a mall customer wrote names the ticket, subject
    and mailbox, never the customer's internal id (kept only in the row's data)."""
    from inbox.services import notification_mail, notifications
    from tests.factories import make_thread

    mailbox = make_mailbox(session)
    agent = make_user(session, mailboxes=[mailbox], email="agent@example.test")
    thread = make_thread(session, mailbox, "ヤフーの質問", customer="yahoo:shop:yu-2c9d")
    on = set(notifications.KINDS)
    notifications.save_preferences(session, agent, app=on, mail=on, digest=False, now=T0)
    notifications.notify(
        session, agent.id, notifications.CUSTOMER_REPLIED.name, now=T0, thread_id=thread.id,
        key="m1", data={"from": "yahoo:shop:yu-2c9d", "message": 1},
    )  # fmt: skip
    assert notification_mail.queue_singles(session, settings=runtime.settings, now=T0) == 1
    raw = (
        session.scalars(select(OutboxItem).where(OutboxItem.idempotency_key.startswith("notify:")))
        .one()
        .raw
    )
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert (
        "yahoo:" not in mail["Subject"] and "yahoo:" not in mail.get_body(("plain",)).get_content()
    )

"""Mails to the team never show a mall's internal customer id: a reply that did not reach a
mall customer names them 「お客様 / Customer (…2c9d)」 (webhook and API payloads keep raw data)."""

from __future__ import annotations

import dataclasses
import email
import email.policy

from inbox.models import OutboxStatus
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

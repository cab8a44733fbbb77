"""A reply's recipients on the thread page never show a mall's internal customer id."""

from __future__ import annotations

from tests.factories import login_as, make_mailbox, make_user
from tests.services.test_replies import T0, customer_thread, queue_reply


def test_reply_status_names_a_mall_recipient_neutrally(client, session, runtime):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    author = make_user(session, mailboxes=[mailbox], language="en")
    message = queue_reply(session, runtime, thread, author, now=T0)
    message.to = [{"name": "", "address": "yahoo:shop:yu-2c9d"}]
    session.flush()
    login_as(client, author)
    html = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert 'data-testid="reply-status"' in html
    assert "yahoo:shop" not in html and "Customer (…2c9d)" in html

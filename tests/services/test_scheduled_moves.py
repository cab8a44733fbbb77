"""A scheduled (not yet sent) reply follows its message when its thread is merged into another
or split, and back on undo: it is listed, cancellable and delivered on the thread it now lives
in, and the delivery answers that thread (its deadline is cleared there). Both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

import inbox.senders  # noqa: F401  (the "reply" deliverer)
from inbox.ingest.store import IngestOptions, ingest_message
from inbox.models import OutboxItem, Role, Thread
from inbox.services import replies, send_later, thread_ops
from tests.factories import make_thread, make_user
from tests.ingest.test_store import mail
from tests.services.test_compose import T0, customer_thread, deliver, draft, smtp_box


def schedule(session, runtime, thread, user, at, *, now=T0, key="k1"):
    message = replies.send_reply(
        session, thread, user, draft(key, send_at=at, opened_at=now), now=now,
        settings=runtime.settings, blobs=runtime.blobs,
    )  # fmt: skip
    session.flush()
    return message, session.scalar(
        select(OutboxItem).where(OutboxItem.message_row_id == message.id)
    )


def test_a_scheduled_reply_moves_with_a_merge_and_back_on_undo(session, runtime, smtp_server):
    box = smtp_box(session, smtp_server.port)
    source, _ = customer_thread(session, runtime, box)
    target = make_thread(session, box, "別の件", at=T0 - timedelta(days=1))
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    at = T0 + timedelta(hours=3)
    _message, item = schedule(session, runtime, source, lead, at)
    op = thread_ops.merge(session, lead, target.id, [source.id], now=T0 + timedelta(minutes=1))
    session.flush()
    session.expire_all()
    assert session.get(OutboxItem, item.id).thread_id == target.id
    assert send_later.scheduled_items(session, target) == [item]
    assert send_later.scheduled_items(session, source) == []
    thread_ops.undo(session, lead, op.id, now=T0 + timedelta(minutes=2))
    session.flush()
    session.expire_all()
    assert send_later.scheduled_items(session, source) == [item]
    thread_ops.merge(session, lead, target.id, [source.id], now=T0 + timedelta(minutes=3))
    session.flush()
    session.expire_all()
    target = session.get(Thread, target.id)
    assert target.due_at is not None  # the merged thread's deadline came along
    assert deliver(runtime, at) == {"sent": 1}
    assert len(smtp_server.messages) == 1
    session.expire_all()
    assert session.get(Thread, target.id).due_at is None  # the reply answered the target


def test_a_scheduled_reply_moves_with_a_split_and_back_on_undo(session, runtime, smtp_server):
    box = smtp_box(session, smtp_server.port)
    thread, _ = customer_thread(session, runtime, box)
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    later = ingest_message(
        session, runtime.blobs, box, mail(mid="c2@example.jp", body="別の注文の件です。"),
        source_key="k2", received_at=T0 + timedelta(minutes=5), now=T0 + timedelta(minutes=5),
        options=IngestOptions(),
    ).message  # fmt: skip
    assert later.thread_id == thread.id
    at = T0 + timedelta(hours=3)
    # Written after the customer's second mail: it answers that one and goes with it.
    _message, item = schedule(session, runtime, thread, lead, at, now=T0 + timedelta(minutes=6))
    op = thread_ops.split(session, lead, thread.id, later.id, now=T0 + timedelta(minutes=10))
    session.flush()
    session.expire_all()
    new_id = op.data["new"]
    new = session.get(Thread, new_id)
    assert session.get(OutboxItem, item.id).thread_id == new_id
    assert send_later.scheduled_items(session, new) == [item]
    assert send_later.scheduled_items(session, session.get(Thread, thread.id)) == []
    thread_ops.undo(session, lead, op.id, now=T0 + timedelta(minutes=11))
    session.flush()
    session.expire_all()
    assert send_later.scheduled_items(session, session.get(Thread, thread.id)) == [item]
    assert deliver(runtime, at) == {"sent": 1}
    assert len(smtp_server.messages) == 1

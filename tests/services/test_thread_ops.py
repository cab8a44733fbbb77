"""Merging and splitting threads keep messages, deadlines, alerts and KPI facts right, and undo
puts every one of them back; hostile requests get a domain error, never a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from inbox.models import (
    Alert,
    Event,
    Message,
    Role,
    Status,
    Thread,
    ThreadFact,
)
from inbox.services import deadlines, kpi_facts, thread_ops
from inbox.services.errors import InvalidInput, NotFound, PermissionDenied
from tests.factories import make_mailbox, make_thread, make_user
from tests.services.test_kpi_facts import Centre, jst, snapshot


@pytest.fixture
def centre(session, runtime):
    return Centre(session, runtime)


def count(session, thread) -> int:
    return session.scalar(
        select(func.count()).select_from(Message).where(Message.thread_id == thread.id)
    )


def facts_now(session, *threads):
    session.flush()
    return {
        t.id: (snapshot(session, t.id) if session.get(ThreadFact, t.id) else None) for t in threads
    }


def rebuilt(session, *threads):
    with time_machine.travel(jst(2026, 7, 1), tick=False):
        kpi_facts.rebuild_all(session, batch=2)
    session.expire_all()
    return facts_now(session, *threads)


def test_merge_moves_messages_deadline_and_alerts_and_undo_puts_them_back(centre):
    s = centre.session
    a = centre.customer_writes(jst(2026, 6, 1, 10))  # Mon
    centre.reply(a, jst(2026, 6, 1, 11), jst(2026, 6, 1, 11, 5))
    b = centre.customer_writes(jst(2026, 6, 2, 9))
    centre.customer_writes(jst(2026, 6, 2, 9, 30), b)
    due = jst(2026, 6, 3, 12)
    deadlines.set_by_hand(s, b, due, actor_id=centre.lead.id, now=jst(2026, 6, 2, 10))
    s.add(Alert(thread_id=b.id, stage="due_soon", due_at=due, created_at=jst(2026, 6, 2, 10)))
    s.flush()
    before_counts = (count(s, a), count(s, b))
    before = facts_now(s, a, b)
    version_a, version_b = a.version, b.version

    op = thread_ops.merge(s, centre.lead, a.id, [b.id], now=jst(2026, 6, 2, 11))
    s.flush()
    assert (count(s, a), count(s, b)) == (sum(before_counts), 0)
    assert (a.message_count, b.message_count) == (sum(before_counts), 0)
    assert b.merged_into_id == a.id and b.status == Status.RESOLVED and b.due_at is None
    assert a.due_at == due and a.due_set_by_hand
    assert s.scalar(select(Alert.thread_id).where(Alert.due_at == due)) == a.id
    assert a.version > version_a and b.version > version_b  # open pages see the change
    # The merged thread keeps no facts; the target's count both customers' messages and the reply.
    merged = facts_now(s, a, b)
    assert merged[b.id] is None
    assert merged[a.id][0]["received_at"] == jst(2026, 6, 1, 10)
    assert merged[a.id][0]["replies_count"] == 1
    assert rebuilt(s, a, b) == merged  # what the rebuild command computes agrees
    kinds = {e.kind for e in s.scalars(select(Event).where(Event.thread_id.in_([a.id, b.id])))}
    assert {"threads_merged", "merged_into", "deadline_set"} <= kinds

    a, b = s.get(Thread, a.id), s.get(Thread, b.id)
    thread_ops.undo(s, centre.lead, op.id, now=jst(2026, 6, 2, 12))
    s.flush()
    assert (count(s, a), count(s, b)) == before_counts
    assert (a.message_count, b.message_count) == before_counts
    assert b.merged_into_id is None and b.status == Status.NEW and b.due_at == due
    assert a.due_at is None
    assert s.scalar(select(Alert.thread_id).where(Alert.due_at == due)) == b.id
    assert facts_now(s, a, b) == before
    assert rebuilt(s, a, b) == before
    with pytest.raises(InvalidInput, match="already undone"):
        thread_ops.undo(s, centre.lead, op.id, now=jst(2026, 6, 2, 13))


def test_split_moves_the_later_messages_with_the_deadline_and_undo_joins_them(centre):
    s = centre.session
    a = centre.customer_writes(jst(2026, 6, 1, 10))
    centre.reply(a, jst(2026, 6, 1, 11), jst(2026, 6, 1, 11, 5))
    centre.customer_writes(jst(2026, 6, 2, 9), a)  # a new question in the same thread
    due = jst(2026, 6, 3, 18)
    deadlines.set_by_hand(s, a, due, actor_id=centre.lead.id, now=jst(2026, 6, 2, 9, 1))
    s.add(Alert(thread_id=a.id, stage="due_soon", due_at=due, created_at=jst(2026, 6, 2, 9, 2)))
    s.flush()
    before = facts_now(s, a)
    messages = list(
        s.scalars(
            select(Message)
            .where(Message.thread_id == a.id)
            .order_by(Message.received_at, Message.id)
        )
    )
    assert len(messages) == 3

    op = thread_ops.split(s, centre.lead, a.id, messages[2].id, now=jst(2026, 6, 2, 10))
    s.flush()
    new = s.get(Thread, op.data["new"])
    assert (count(s, a), count(s, new)) == (2, 1)
    assert (a.message_count, new.message_count) == (2, 1)
    assert new.due_at == due and a.due_at is None  # the customer waiting is in the new thread
    assert new.status == Status.NEW and new.contact_id == a.contact_id
    assert s.scalar(select(Alert.thread_id).where(Alert.due_at == due)) == new.id
    split = facts_now(s, a, new)
    assert split[a.id][0]["replies_count"] == 1
    assert split[new.id][0]["received_at"] == jst(2026, 6, 2, 9)
    assert split[new.id][0]["replies_count"] == 0
    assert rebuilt(s, a, new) == split

    a, new = s.get(Thread, a.id), s.get(Thread, new.id)
    thread_ops.undo(s, centre.lead, op.id, now=jst(2026, 6, 2, 11))
    s.flush()
    assert (count(s, a), count(s, new)) == (3, 0)
    assert a.message_count == 3 and a.due_at == due and new.merged_into_id == a.id
    assert s.scalar(select(Alert.thread_id).where(Alert.due_at == due)) == a.id
    assert facts_now(s, a)[a.id] == before[a.id]
    assert rebuilt(s, a, new) == {a.id: before[a.id], new.id: None}


def test_hostile_merges_and_splits_are_refused_with_a_reason(session):
    now = jst(2026, 6, 1, 12)
    box, other_box = make_mailbox(session), make_mailbox(session)
    agent = make_user(session, mailboxes=[box])
    colleague = make_user(session, mailboxes=[box])
    lead = make_user(session, Role.LEAD, mailboxes=[box, other_box])
    a, b = make_thread(session, box), make_thread(session, box)
    elsewhere = make_thread(session, other_box)
    hidden = make_thread(session, make_mailbox(session))
    mall_a = make_thread(session, box, external_ref="inq-1")
    mall_b = make_thread(session, box, external_ref="inq-2")
    theirs = make_thread(session, box, assignee_id=colleague.id)

    with pytest.raises(InvalidInput, match="into itself"):
        thread_ops.merge(session, agent, a.id, [a.id], now=now)
    with pytest.raises(InvalidInput, match="at least one"):
        thread_ops.merge(session, agent, a.id, [], now=now)
    with pytest.raises(InvalidInput, match="different mailboxes") as caught:
        thread_ops.merge(session, lead, a.id, [elsewhere.id], now=now)
    assert caught.value.params == {"a": a.id, "b": elsewhere.id}
    with pytest.raises(InvalidInput, match="separate mall inquiries"):
        thread_ops.merge(session, agent, mall_a.id, [mall_b.id], now=now)
    for bad in (hidden.id, elsewhere.id, 0, -1, 2**63, 2**70, "7", None):
        with pytest.raises(NotFound):
            thread_ops.merge(session, agent, a.id, [bad], now=now)
    with pytest.raises(PermissionDenied):
        thread_ops.merge(session, agent, a.id, [theirs.id], now=now)
    with pytest.raises(InvalidInput, match="at most"):
        thread_ops.merge(session, lead, a.id, list(range(10**6, 10**6 + 30)), now=now)

    first = session.scalar(select(Message.id).where(Message.thread_id == a.id))
    other_message = session.scalar(select(Message.id).where(Message.thread_id == b.id))
    with pytest.raises(InvalidInput, match="first one"):
        thread_ops.split(session, agent, a.id, first, now=now)
    with pytest.raises(NotFound):
        thread_ops.split(session, agent, a.id, other_message, now=now)
    with pytest.raises(NotFound):
        thread_ops.split(session, agent, hidden.id, 1, now=now)
    with pytest.raises(InvalidInput, match="mall inquiry"):
        thread_ops.split(session, agent, mall_a.id, 1, now=now)
    for bad in (0, 2**70, "x"):
        with pytest.raises(NotFound):
            thread_ops.undo(session, agent, bad, now=now)

    thread_ops.merge(session, agent, a.id, [b.id], now=now)
    with pytest.raises(InvalidInput, match="already merged"):
        thread_ops.merge(session, agent, a.id, [b.id], now=now + timedelta(minutes=1))
    assert thread_ops.follow(session, b).id == a.id

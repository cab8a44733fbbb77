"""KPI facts kept as events happen, on a controlled clock across weekends and Japanese holidays,
and the same facts rebuilt from the recorded history."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from inbox.ingest import store
from inbox.models import (
    Direction,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    ReplyFact,
    Role,
    Status,
    ThreadFact,
)
from inbox.services import assignment, kpi_facts, outbox, replies
from tests.factories import make_mailbox, make_thread, make_user

TOKYO = ZoneInfo("Asia/Tokyo")
HOUR = 3600


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO).astimezone(UTC)


class Centre:
    """Drives one mailbox through customer mail, replies and status changes on a fixed clock."""

    def __init__(self, session, runtime, **mailbox_kw):
        self.session, self.runtime = session, runtime
        self.mailbox = make_mailbox(session, **mailbox_kw)
        self.agent = make_user(session, mailboxes=[self.mailbox], name="鈴木")
        self.lead = make_user(session, Role.LEAD, mailboxes=[self.mailbox], name="田中")
        self.n = 0

    def customer_writes(self, at: datetime, thread=None, *, kind=MessageKind.NORMAL):
        with time_machine.travel(at, tick=False):
            self.n += 1
            if thread is None:
                thread = make_thread(self.session, self.mailbox, at=at)
                message = self.session.scalar(select(Message).where(Message.thread_id == thread.id))
                message.kind = kind
                created = True
            else:
                message = Message(thread_id=thread.id, mailbox_id=self.mailbox.id,
                                  direction=Direction.INBOUND, kind=kind, source_key=f"k{self.n}",
                                  message_id=f"m{self.n}@example.jp", received_at=at, text="まだですか")
                self.session.add(message)
                self.session.flush()
                created = False
                # the ingest path: the thread's bookkeeping (reopening), then every AFTER_STORE hook
                store._update_thread(self.session, thread, message, created=False, found_by="test", now=at)
            if created:
                for hook in store.AFTER_STORE:
                    hook(self.session, store.StoredMessage(self.mailbox, thread, message, True, at))
            self.session.flush()
        return thread

    def reply(self, thread, queued: datetime, delivered: datetime | None, *, author=None):
        self.n += 1
        author = author or self.agent
        with time_machine.travel(queued, tick=False):
            draft = replies.Draft(opened_at=queued, to="customer@example.test", cc="", bcc="",
                                  subject="", text=f"回答 {self.n}", reply_key=f"r{self.n}")
            message = replies.send_reply(self.session, thread, author, draft, now=queued,
                                         settings=self.runtime.settings, blobs=self.runtime.blobs)
        item = self.session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
        if delivered is not None:
            with time_machine.travel(delivered, tick=False):
                item.status = OutboxStatus.SENDING
                outbox.record(self.session, item, outbox.DeliveryOutcome(OutboxStatus.SENT), now=delivered)
                self.session.flush()
        return item

    def fail(self, item, at):
        with time_machine.travel(at, tick=False):
            item.status = OutboxStatus.SENDING
            outbox.record(self.session, item, outbox.DeliveryOutcome(OutboxStatus.REJECTED, "550 no"), now=at)
            self.session.flush()

    def set_status(self, thread, status: Status, at: datetime):
        with time_machine.travel(at, tick=False):
            assignment.set_status(self.session, thread.id, status, by=self.lead,
                                  expected_version=thread.version, now=at)
            self.session.flush()

    def facts(self, thread) -> ThreadFact:
        self.session.flush()
        return self.session.get(ThreadFact, thread.id)


def snapshot(session, thread_id):
    f = session.get(ThreadFact, thread_id)
    session.refresh(f)
    columns = [c.key for c in ThreadFact.__table__.columns]
    replies_ = sorted(
        (r.outbox_id, r.author_id, r.delivered_at, r.due_at, r.within_deadline)
        for r in session.scalars(select(ReplyFact).where(ReplyFact.thread_id == thread_id))
    )
    return {c: getattr(f, c) for c in columns}, replies_


@pytest.fixture
def centre(session, runtime):
    return Centre(session, runtime)


def test_first_response_over_golden_week_counts_only_open_hours(centre):
    # Fri 1 May 2026 17:00; Sat, Sun and the holidays of 3-6 May are closed; answered Thu 7 May 10:00.
    thread = centre.customer_writes(jst(2026, 5, 1, 17))
    centre.reply(thread, jst(2026, 5, 7, 9, 50), jst(2026, 5, 7, 10))
    f = centre.facts(thread)
    assert f.received_at == jst(2026, 5, 1, 17)
    assert (f.received_dow, f.received_hour, str(f.received_day)) == (4, 17, "2026-05-01")
    assert f.first_reply_at == jst(2026, 5, 7, 10) and f.first_reply_by_id == centre.agent.id
    assert f.first_response_business_s == 2 * HOUR  # Fri 17-18 and Thu 9-10
    assert f.first_response_wall_s == 5 * 24 * HOUR + 17 * HOUR
    assert f.first_reply_due_at == jst(2026, 5, 7, 18)  # one business day: Thu's close
    assert f.replied_within_deadline is True and f.replies_count == 1


def test_only_the_delivered_reply_counts_and_a_late_one_misses_the_deadline(centre):
    thread = centre.customer_writes(jst(2026, 11, 20, 10))  # Fri; due Mon 23 Nov? a holiday → Tue
    failed = centre.reply(thread, jst(2026, 11, 20, 11), None)
    centre.fail(failed, jst(2026, 11, 20, 11, 1))
    assert centre.facts(thread).first_reply_at is None and centre.facts(thread).replies_count == 0
    centre.reply(thread, jst(2026, 11, 25, 9), jst(2026, 11, 25, 9, 30))  # Wed 25 Nov
    f = centre.facts(thread)
    assert f.first_reply_at == jst(2026, 11, 25, 9, 30)
    assert f.first_reply_due_at == jst(2026, 11, 24, 18)  # 23 Nov (勤労感謝の日) is closed
    assert f.replied_within_deadline is False
    # Fri 10-18 (8h) + Tue 9-18 (9h) + Wed 9:00-9:30
    assert f.first_response_business_s == 8 * HOUR + 9 * HOUR + HOUR // 2
    reply = centre.session.scalar(select(ReplyFact).where(ReplyFact.thread_id == thread.id))
    assert reply.within_deadline is False and reply.author_id == centre.agent.id


def test_an_auto_reply_from_the_customer_is_no_arrival(centre):
    thread = centre.customer_writes(jst(2026, 5, 1, 10), kind=MessageKind.AUTO_REPLY)
    assert centre.facts(thread) is None
    centre.customer_writes(jst(2026, 5, 1, 11), thread)
    assert centre.facts(thread).received_at == jst(2026, 5, 1, 11)


def test_resolution_reopening_and_fcr_inputs(centre):
    thread = centre.customer_writes(jst(2026, 12, 28, 17))  # Mon
    centre.reply(thread, jst(2026, 12, 28, 17, 30), jst(2026, 12, 28, 17, 40))
    centre.set_status(thread, Status.RESOLVED, jst(2026, 12, 29, 10))
    f = centre.facts(thread)
    assert f.first_resolved_at == f.resolved_at == jst(2026, 12, 29, 10)
    assert f.replies_at_first_resolve == 1 and f.reopened_count == 0
    assert f.resolution_business_s == HOUR + HOUR  # Mon 17-18, Tue 9-10
    assert f.resolution_wall_s == 17 * HOUR
    # the customer writes again after 10 days: the thread reopens (by ingest), then is resolved again
    centre.customer_writes(jst(2027, 1, 8, 9), thread)
    f = centre.facts(thread)
    assert thread.status == Status.OPEN
    assert f.reopened_count == 1 and f.resolved_at is None and f.resolution_business_s is None
    assert f.first_reopened_at == jst(2027, 1, 8, 9)
    assert f.first_reopen_after_s == (10 * 24 - 1) * HOUR
    centre.reply(thread, jst(2027, 1, 8, 10), jst(2027, 1, 8, 10))
    centre.set_status(thread, Status.RESOLVED, jst(2027, 1, 8, 12))
    f = centre.facts(thread)
    assert f.resolved_at == jst(2027, 1, 8, 12) and f.first_resolved_at == jst(2026, 12, 29, 10)
    assert f.replies_count == 2 and f.replies_at_first_resolve == 1
    assert f.received_at == jst(2026, 12, 28, 17)  # arrival stays the first customer message


def test_a_reply_that_resolves_the_thread_counts_before_the_resolution(session, runtime):
    centre = Centre(session, runtime, status_after_reply=Status.RESOLVED)
    thread = centre.customer_writes(jst(2026, 5, 11, 9))
    centre.reply(thread, jst(2026, 5, 11, 9, 30), jst(2026, 5, 11, 10))
    f = centre.facts(thread)
    assert thread.status == Status.RESOLVED
    assert f.resolved_at == jst(2026, 5, 11, 10) and f.replies_at_first_resolve == 1
    assert f.first_response_business_s == f.resolution_business_s == HOUR


def test_rebuilding_from_history_gives_the_facts_kept_live(centre):
    session = centre.session
    a = centre.customer_writes(jst(2026, 4, 28, 17, 30))  # Tue; 29 Apr (昭和の日) closed
    centre.reply(a, jst(2026, 4, 30, 9), jst(2026, 4, 30, 9, 15))
    centre.set_status(a, Status.RESOLVED, jst(2026, 4, 30, 11))
    centre.customer_writes(jst(2026, 5, 2, 12), a)  # Sat: reopens
    centre.reply(a, jst(2026, 5, 7, 9), jst(2026, 5, 7, 9, 5))
    centre.set_status(a, Status.RESOLVED, jst(2026, 5, 7, 9, 30))
    b = centre.customer_writes(jst(2026, 5, 2, 8))
    centre.set_status(b, Status.WAITING, jst(2026, 5, 7, 10))
    live = {t.id: snapshot(session, t.id) for t in (a, b)}
    assert live[a.id][0]["reopened_count"] == 1

    with time_machine.travel(jst(2026, 6, 1), tick=False):
        assert kpi_facts.rebuild_all(session, batch=1) >= 2
    session.expire_all()
    rebuilt = {t.id: snapshot(session, t.id) for t in (a, b)}
    assert rebuilt == live


def test_rebuild_takes_a_resolved_thread_without_history_as_resolved_at_its_last_activity(session):
    mailbox = make_mailbox(session)
    thread = make_thread(session, mailbox, status=Status.RESOLVED, at=jst(2026, 5, 8, 10))
    kpi_facts.rebuild(session, after_id=thread.id - 1, limit=1)
    f = session.get(ThreadFact, thread.id)
    assert f.received_at == jst(2026, 5, 8, 10) and f.resolved_at == jst(2026, 5, 8, 10)
    assert f.first_reply_at is None and f.replies_count == 0


def test_mail_stored_by_ingest_gives_the_thread_its_arrival(session, runtime):
    from inbox.sources import RawItem

    mailbox = make_mailbox(session)
    raw = ("From: 山田 <yamada@example.jp>\r\nTo: support@example.test\r\nSubject: =?utf-8?b?6YWN6YCB?=\r\n"
           "Message-ID: <kpi-1@example.jp>\r\nDate: Sat, 02 May 2026 10:00:00 +0900\r\n\r\nhello\r\n").encode()
    at = jst(2026, 5, 2, 10)
    with time_machine.travel(at, tick=False):
        [result] = store.ingest_batch(session, runtime.blobs, mailbox, [RawItem("k1", raw, at, False)], now=at)
        session.flush()
    f = session.get(ThreadFact, result.thread.id)
    assert f.received_at == at and (f.received_dow, f.received_hour) == (5, 10)

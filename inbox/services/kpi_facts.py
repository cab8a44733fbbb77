"""KPI facts kept at write time: one ``ThreadFact`` per thread and one ``ReplyFact`` per delivered reply.

Three hooks keep them as things happen (set by ``inbox.wiring``): a customer message stored
(``on_stored_message``, an ingest hook), a reply a person wrote reaching the customer
(``on_reply_delivered``, called by ``inbox.services.delivery`` once per reply, whichever way
it was recorded as sent) and a status saved (``on_status_changed``, an
``assignment.STATUS_HOOKS`` entry). Each hook feeds one step of the same small state machine
(``Folder``) that ``rebuild`` runs over a thread's recorded history, so the facts kept live and
the facts rebuilt agree. Only replies with an author count: automatic mail never does.

Times are measured on the mailbox calendar (``deadlines.calendar_for``): business seconds
count open hours only (weekends, closed days and Japanese holidays add nothing). Never
commits; knows nothing of the web or of reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from inbox.models import (
    Direction,
    Event,
    Mailbox,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    ReplyFact,
    Status,
    Thread,
    ThreadFact,
)
from inbox.services import deadlines
from inbox.services.business_hours import BusinessCalendar


@dataclass
class Folder:
    """Applies one occurrence at a time to a thread's facts row, on its mailbox calendar."""

    facts: ThreadFact
    cal: BusinessCalendar

    def customer_message(self, at: datetime) -> None:
        """A customer wrote: the earliest such message is the thread's arrival."""
        f = self.facts
        if f.received_at is not None and f.received_at <= at:
            return
        local = self.cal.to_local(at)
        f.received_at, f.received_day = at, local.date()
        f.received_dow, f.received_hour = local.weekday(), local.hour
        self._durations()

    def reply(self, at: datetime, author_id: int | None, due_at: datetime | None) -> bool | None:
        """A reply a person wrote was delivered; returns whether it beat ``due_at`` (None: no deadline)."""
        f = self.facts
        within = None if due_at is None else at <= due_at
        f.replies_count = (f.replies_count or 0) + 1
        if f.first_reply_at is None:
            f.first_reply_at, f.first_reply_by_id = at, author_id
            f.first_reply_day = self.cal.to_local(at).date()
            f.first_reply_due_at, f.replied_within_deadline = due_at, within
            self._durations()
        return within

    def status(self, status: Status, at: datetime) -> None:
        """The thread now has ``status``: a resolution or a reopening, or nothing to note."""
        f = self.facts
        if status == Status.RESOLVED and f.resolved_at is None:
            f.resolved_at, f.resolved_day = at, self.cal.to_local(at).date()
            if f.first_resolved_at is None:
                f.first_resolved_at, f.replies_at_first_resolve = at, f.replies_count or 0
                f.first_resolved_day = f.resolved_day
            self._durations()
        elif status != Status.RESOLVED and f.resolved_at is not None:
            f.reopened_count = (f.reopened_count or 0) + 1
            if f.first_reopened_at is None:
                f.first_reopened_at = at
                f.first_reopen_after_s = int((at - f.first_resolved_at).total_seconds())
            f.resolved_at = f.resolved_day = None
            self._durations()

    def _durations(self) -> None:
        f = self.facts
        start = f.received_at
        f.first_response_business_s, f.first_response_wall_s = self._span(start, f.first_reply_at)
        f.resolution_business_s, f.resolution_wall_s = self._span(start, f.resolved_at)

    def _span(self, start: datetime | None, end: datetime | None) -> tuple[int | None, int | None]:
        if start is None or end is None:
            return None, None
        wall = max(0, int((end - start).total_seconds()))
        return self.cal.open_seconds(start, end), wall


def _folder(session: Session, thread: Thread, mailbox: Mailbox | None = None) -> Folder:
    facts = thread.facts
    mailbox = mailbox or thread.mailbox or session.get(Mailbox, thread.mailbox_id)
    if facts is None:
        facts = ThreadFact(mailbox_id=mailbox.id, replies_count=0, reopened_count=0)
        thread.facts = facts
    return Folder(facts, deadlines.calendar_for(mailbox))


def counts_as_customer_message(message: Message) -> bool:
    return message.direction == Direction.INBOUND and message.kind == MessageKind.NORMAL


def on_stored_message(session: Session, stored: Any) -> None:
    """Ingest hook (``store.AFTER_STORE``): a customer message arrived; a reopening it caused is noted.

    ``stored`` has ``.thread``, ``.message``, ``.mailbox`` and ``.now`` (``store.StoredMessage``).
    """
    if not counts_as_customer_message(stored.message):
        return
    with session.no_autoflush:
        folder = _folder(session, stored.thread, stored.mailbox)
        folder.customer_message(stored.message.received_at)
        folder.status(stored.thread.status, stored.now)


def on_reply_delivered(
    session: Session, thread: Thread, item: OutboxItem, author_id: int | None, now: datetime
) -> None:
    """Delivery hook: a reply reached the customer, before the thread's deadline is cleared.

    Replies without an author (automatic acknowledgements) are not counted.
    """
    if author_id is None:
        return
    folder = _folder(session, thread)
    due = thread.due_at
    within = folder.reply(now, author_id, due)
    session.add(ReplyFact(outbox_id=item.id, thread_id=thread.id, mailbox_id=thread.mailbox_id,
                          author_id=author_id, delivered_at=now, delivered_day=folder.cal.to_local(now).date(),
                          due_at=due, within_deadline=within))


def on_status_changed(session: Session, thread: Thread, now: datetime) -> None:
    """Status hook (``assignment.STATUS_HOOKS``): a resolution or a reopening."""
    _folder(session, thread).status(thread.status, now)


# --- rebuilding from the recorded history --------------------------------------------------------

# Same-instant order: the customer first, then a deadline being set, the reply, the deadline the
# reply cleared, and the status the reply or a person set.
_CUSTOMER, _DEADLINE_SET, _REPLY, _DEADLINE_CLEARED, _STATUS = range(5)


def _parse_time(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def rebuild(session: Session, *, after_id: int = 0, limit: int = 1000) -> int | None:
    """Compute the facts of up to ``limit`` threads with id > ``after_id`` again, from their history.

    History: the first customer message's time (message metadata, no bodies), the
    ``status_changed``, ``deadline_set`` and ``deadline_cleared`` events, and the delivered
    replies a person wrote (outbox items sent). A thread whose status is resolved without any
    recorded resolution is taken as resolved at its last activity. Returns the last thread id
    done, or None when there were none (the caller commits between calls).
    """
    threads = list(session.execute(
        select(Thread.id, Thread.mailbox_id, Thread.status, Thread.last_activity_at,
               Thread.merged_into_id)
        .where(Thread.id > after_id).order_by(Thread.id).limit(limit)
    ))
    if not threads:
        return None
    _rebuild(session, threads)
    return threads[-1].id


def rebuild_threads(session: Session, thread_ids: Iterable[int]) -> None:
    """Compute the facts of these threads again (after a merge or a split moved their messages)."""
    ids = sorted(set(thread_ids))
    threads = list(session.execute(
        select(Thread.id, Thread.mailbox_id, Thread.status, Thread.last_activity_at,
               Thread.merged_into_id)
        .where(Thread.id.in_(ids)).order_by(Thread.id)
    ))
    if threads:
        _rebuild(session, threads)


def _rebuild(session: Session, threads: list[Any]) -> None:
    """Facts of ``threads`` from their history; a thread merged into another keeps none (its
    messages, replies and customer count in the thread it was merged into)."""
    ids = [t.id for t in threads]
    steps: dict[int, list[tuple[datetime, int, int, tuple]]] = {i: [] for i in ids}
    for thread_id, at in session.execute(
        select(Message.thread_id, func.min(Message.received_at))
        .where(Message.thread_id.in_(ids), Message.direction == Direction.INBOUND,
               Message.kind == MessageKind.NORMAL)
        .group_by(Message.thread_id)
    ):
        steps[thread_id].append((at, _CUSTOMER, 0, ()))
    for event in session.scalars(
        select(Event).where(Event.thread_id.in_(ids),
                            Event.kind.in_(("status_changed", "deadline_set", "deadline_cleared")))
    ):
        data = event.data or {}
        if event.kind == "status_changed":
            try:
                status = Status(data.get("to"))
            except ValueError:
                continue
            steps[event.thread_id].append((event.created_at, _STATUS, event.id, (status,)))
        elif event.kind == "deadline_set":
            steps[event.thread_id].append(
                (event.created_at, _DEADLINE_SET, event.id, (_parse_time(data.get("due_at")),)))
        else:
            steps[event.thread_id].append((event.created_at, _DEADLINE_CLEARED, event.id, ()))
    for item_id, thread_id, sent_at, author_id in session.execute(
        select(OutboxItem.id, OutboxItem.thread_id, OutboxItem.sent_at, Message.author_id)
        .join(Message, Message.id == OutboxItem.message_row_id)
        .where(OutboxItem.thread_id.in_(ids), OutboxItem.status == OutboxStatus.SENT,
               OutboxItem.sent_at.is_not(None), Message.author_id.is_not(None))
    ):
        steps[thread_id].append((sent_at, _REPLY, item_id, (author_id,)))

    session.execute(delete(ReplyFact).where(ReplyFact.thread_id.in_(ids)))
    session.execute(delete(ThreadFact).where(ThreadFact.thread_id.in_(ids)))
    calendars = deadlines.calendars_for(session, {t.mailbox_id for t in threads})
    for t in threads:
        if t.merged_into_id is None:
            _fold(session, t, steps[t.id], calendars[t.mailbox_id])
    session.flush()


def _fold(session: Session, thread: Any, steps: Iterable[tuple], cal: BusinessCalendar) -> None:
    facts = ThreadFact(thread_id=thread.id, mailbox_id=thread.mailbox_id, replies_count=0,
                       reopened_count=0)
    folder = Folder(facts, cal)
    due: datetime | None = None
    for at, kind, ref, args in sorted(steps, key=lambda s: (s[0], s[1], s[2])):
        if kind == _CUSTOMER:
            folder.customer_message(at)
        elif kind == _DEADLINE_SET:
            due = args[0]
        elif kind == _DEADLINE_CLEARED:
            due = None
        elif kind == _REPLY:
            within = folder.reply(at, args[0], due)
            session.add(ReplyFact(outbox_id=ref, thread_id=thread.id, mailbox_id=thread.mailbox_id,
                                  author_id=args[0], delivered_at=at, delivered_day=cal.to_local(at).date(),
                                  due_at=due, within_deadline=within))
        else:
            folder.status(args[0], at)
    if (thread.status == Status.RESOLVED) != (facts.resolved_at is not None):
        folder.status(thread.status, max(thread.last_activity_at, facts.resolved_at or thread.last_activity_at))
    session.add(facts)


def rebuild_all(session: Session, *, batch: int = 1000, commit: Any = None) -> int:
    """Rebuild every thread's facts, ``batch`` threads at a time; ``commit`` (if given) is called
    after each batch. Returns the number of threads done."""
    done, last = 0, 0
    while True:
        upto = rebuild(session, after_id=last, limit=batch)
        if upto is None:
            return done
        done += session.scalar(select(func.count()).select_from(ThreadFact).where(
            ThreadFact.thread_id > last, ThreadFact.thread_id <= upto)) or 0
        last = upto
        if commit is not None:
            commit()

"""What a reply's delivery does to its thread, and the send state shown on threads and in the header.

A queued reply changes nothing on its thread but the message count: the thread shows
"sending" and keeps its status and deadline. Only when the server (or the mall) accepted the
reply does the thread take the mailbox's after-reply status and lose its rule deadline
(``delivered``). A reply that failed, was refused or ends unknown leaves the thread as it was
and is counted for its author and the thread's assignee until someone sends it again or marks
it sent. Runs as an ``outbox.AFTER_ANY`` hook (set by ``inbox.wiring``) inside the transaction that records
the outcome.

The thread is changed with plain UPDATEs that leave ``Thread.version`` alone: the change
follows from a reply the person already made, so it must not turn the pages open on the
thread into false "someone else changed this thread" conflicts. Each UPDATE is conditional on
the value it replaces, so a change a person made meanwhile wins. Knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from inbox.config import Settings
from inbox.models import Event, Message, MessageKind, OutboxItem, OutboxStatus, Thread, User
from inbox.services import customer_names, deadlines, outbox

SENDING, FAILING = "sending", "failing"
SCHEDULED = "scheduled"  # a reply waiting for its scheduled time (``inbox.services.send_later``)
# hook(session, thread, item, author_id, now), run once per reply when it reached the customer,
# before the thread takes its after-reply status and loses its rule deadline. Filled by
# ``inbox.wiring`` (KPI facts).
DeliveredHook = Callable[[Session, Thread, OutboxItem, "int | None", datetime], None]
DELIVERED_HOOKS: list[DeliveredHook] = []
BAD_ENDS = (OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.REJECTED)


def _(text: str) -> str:
    """Marks a text for the translation catalogue; the web layer translates it."""
    return text


def failing_condition() -> ColumnElement[bool]:
    """Reply items that did not reach the customer: ended badly, or waiting to retry after an error.

    Starts with the literal ``status != 'sent'`` of the partial index ``ix_outbox_unsent``, so
    that the database finds the few unsent items there (SQLite's statistics cannot tell that
    almost every item is sent: it walked every thread of the user, 4.7 s at 1,000,000 threads)."""
    return and_(
        OutboxItem.status != literal_column("'sent'"),
        OutboxItem.status.in_([*BAD_ENDS, OutboxStatus.QUEUED]),
        or_(OutboxItem.status != OutboxStatus.QUEUED, OutboxItem.last_error.is_not(None)),
    )


def is_failing(item: OutboxItem) -> bool:
    """The Python twin of ``failing_condition`` for one loaded item."""
    return item.status in BAD_ENDS or (
        item.status == OutboxStatus.QUEUED and item.last_error is not None
    )


def remember_thread_state(item: OutboxItem, thread: Thread) -> None:
    """At queue time: note the status the reply was written against (see ``delivered``)."""
    item.payload = {**(item.payload or {}), "status_at_queue": thread.status.value}


def delivered(session: Session, item: OutboxItem, now: datetime) -> None:
    """The reply reached the customer: the thread takes the mailbox's after-reply status (unless
    a person changed the status since the reply was queued) and a rule deadline is cleared (one
    set by hand stays). Happens once per item, however often it is recorded as sent."""
    payload = dict(item.payload or {})
    if item.message_row_id is None or item.thread_id is None or payload.get("thread_updated"):
        return
    item.payload = {**payload, "thread_updated": True}
    thread = session.get(Thread, item.thread_id)
    if thread is None:
        return
    author_id, kind = session.execute(
        select(Message.author_id, Message.kind).where(Message.id == item.message_row_id)
    ).one()
    if kind != MessageKind.NORMAL:
        return  # an automatic message (auto-acknowledgement) is no answer: status and deadline stay
    for hook in DELIVERED_HOOKS:
        hook(session, thread, item, author_id, now)
    after = thread.mailbox.status_after_reply
    before = thread.status
    written_against = payload.get("status_at_queue", before.value)
    changed = False
    if after is not None and before != after and before.value == written_against:
        done = session.execute(
            update(Thread)
            .where(Thread.id == thread.id, Thread.status == before)
            .values(status=after)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            changed = True
            session.add(Event(thread_id=thread.id, actor_id=author_id, kind="status_changed",
                              data={"from": before.value, "to": after.value, "by": "reply"}))
    if changed:
        set_committed_value(thread, "status", after)
        from inbox.services import assignment

        assignment.status_changed(session, thread, now)
    deadlines.on_team_reply(session, thread, now)


def on_outcome(session: Session, item: OutboxItem, now: datetime, context: Any = None) -> None:
    """``outbox.AFTER_ANY`` hook: a sent reply updates its thread; a failed one is mailed to its
    author and the thread's assignee when the settings ask for it (``alerts.reply_failure_mail``)."""
    if item.status == OutboxStatus.SENT:
        delivered(session, item, now)
    elif item.status in BAD_ENDS and getattr(getattr(context, "settings", None), "reply_failure_mail", False):
        notify_failure(session, item, now=now, settings=context.settings)


def notify_failure(session: Session, item: OutboxItem, *, now: datetime, settings: Settings) -> OutboxItem | None:
    """Queue a mail (over the alert SMTP server) telling the reply's author and the thread's
    assignee that it did not reach the customer; once per failure of the item."""
    from inbox.services import alerts

    if item.message_row_id is None or item.thread_id is None:
        return None
    thread = session.get(Thread, item.thread_id)
    author_id = session.scalar(select(Message.author_id).where(Message.id == item.message_row_id))
    ids = {i for i in (author_id, thread.assignee_id if thread else None) if i is not None}
    users = [u for u in session.scalars(select(User).where(User.id.in_(ids))) if u.active and u.email]
    if thread is None or not users:
        return None
    key = f"reply_not_sent:{item.id}:{item.attempts}:{item.status.value}"
    raw = alerts.render_mail(
        "reply_not_sent", users, settings=settings, now=now, message_id=alerts.message_id_for(key),
        context={
            "ticket": settings.ticket_token_for(thread.id),
            "subject": thread.subject,
            "mailbox": thread.mailbox.name,
            "status": item.status.value,
            "error": item.last_error or "",
            "recipients": ", ".join(customer_names.in_alert_mail(r) for r in item.recipients or []),
        },
    )
    return outbox.enqueue(
        session, kind=alerts.KIND, idempotency_key=key, now=now,
        mail_from=settings.alert_from_address, recipients=[u.email for u in users], raw=raw,
        payload={"reply_outbox": item.id}, mailbox_id=thread.mailbox_id, thread_id=thread.id,
    )


def send_states(session: Session, thread_ids: Iterable[int]) -> dict[int, str]:
    """Per thread with a reply not yet delivered: FAILING if any failed, else SENDING, else
    SCHEDULED when every one waits for its scheduled time."""
    ids = list(thread_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(OutboxItem.thread_id, failing_condition(), OutboxItem.scheduled_at, OutboxItem.attempts,
               OutboxItem.status)
        .where(
            OutboxItem.thread_id.in_(ids),
            OutboxItem.message_row_id.is_not(None),
            OutboxItem.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING, *BAD_ENDS]),
        )
    )
    rank = {SCHEDULED: 0, SENDING: 1, FAILING: 2}
    states: dict[int, str] = {}
    for thread_id, failing, scheduled_at, attempts, status in rows:
        waiting = scheduled_at is not None and status == OutboxStatus.QUEUED and not attempts
        state = FAILING if failing else SCHEDULED if waiting else SENDING
        if rank[state] >= rank.get(states.get(thread_id, ""), -1):
            states[thread_id] = state
    return states


def failed_count(session: Session, user: User) -> int:
    """Replies that did not reach the customer, written by ``user`` or on a thread assigned to
    them: asked on every page (the header badge), see ``failing_condition``."""
    return session.scalar(
        select(func.count(OutboxItem.id))
        .join(Message, Message.id == OutboxItem.message_row_id)
        .join(Thread, Thread.id == OutboxItem.thread_id)
        .where(failing_condition(), or_(Message.author_id == user.id, Thread.assignee_id == user.id))
    ) or 0


def reason(item: OutboxItem) -> str:
    """Why the reply did not go out, as a msgid for the reader's language (the server's own
    words stay in ``item.last_error``)."""
    error = item.last_error or ""
    if item.status == OutboxStatus.UNKNOWN:
        return _("Sending had begun when the connection or the worker stopped: the reply may have reached the customer. Check before sending it again.")
    if "(bounce)" in error:
        return _("The receiving side returned this message as undeliverable (bounce). Check the address, then edit and send it again.")
    if item.status == OutboxStatus.REJECTED:
        return _("The receiving side refused this reply. Edit it and send it again.")
    if "No SMTP server is set" in error or "SMTP settings" in error:
        return _("This mailbox has no working SMTP server set up, so it cannot send mail.")
    if "log-in" in error:
        return _("The mail server refused the log-in of this mailbox.")
    if "Recipients refused" in error or "answered 5" in error:
        return _("The mail server refused the message or a recipient.")
    if "Could not connect" in error or "Gave up after" in error or "answered 4" in error:
        if item.status == OutboxStatus.QUEUED:
            return _("The mail server could not be reached; it is tried again automatically.")
        return _("The mail server could not be reached, so the reply was not sent.")
    if item.status == OutboxStatus.QUEUED:
        return _("The last attempt failed; it is tried again automatically.")
    return _("The reply could not be sent.")


"""Automatic mail is not work: threads opened by auto-replies, bounces and bulk mail, and bounces of our own mail.

Representation: a thread whose first message is an inbound auto-reply, bounce or bulk mail
(``Message.kind`` other than NORMAL, as ``inbox.ingest.classify`` decides) is created with the
status ``Status.AUTOMATIC`` (自動メール). That status is not among the unresolved statuses, so
the thread is left out of the open counts (queue side bar, overview, per-agent loads) and of
deadlines and their alerts without any extra condition; the queue shows it in its own view
「自動メール」. It becomes work like any other when a person sets another status or replies, or
when the customer writes an ordinary message on it (it then becomes 未対応 and gets its
deadline). The mailbox setting ``automatic_mail_is_work`` (``Mailbox.settings``, read by
``inbox.ingest.store.initial_status``) turns this off:
such threads then start as 未対応 as before (still without a deadline, as ingest never sets one
for automatic mail).

A bounce of a message we sent (a reply or an auto-acknowledgement) does not open a thread: ingest
(``inbox.ingest.store.bounced_message``) matches it to the outbound message by the Message-IDs it returns (and its own In-Reply-To /
References), else by the failed recipient against what this mailbox sent in the last week;
it is stored on that message's thread, the outbox item is marked failed (so the thread shows
the failed-send badge and the failed-sends list has it) and the thread's history says so. A
bounced reply did not answer the customer: the thread is reopened and its rule deadline
follows again. Knows nothing of HTTP or of how mail is parsed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.ingest.bounces import BounceReport
from inbox.ingest.store import StoredMessage
from inbox.models import Event, Message, MessageKind, OutboxItem, OutboxStatus, Status
from inbox.services import deadlines, outbox

BOUNCEABLE = (OutboxStatus.SENT, OutboxStatus.UNKNOWN)  # what a bounce can turn into FAILED


def record_bounce(
    session: Session, original: Message, bounce: Message, report: BounceReport, *, now: datetime
) -> OutboxItem | None:
    """``bounce`` (already stored on ``original``'s thread) returns ``original``: mark its outbox
    item failed (once: a second bounce of the same message only adds to the history), say so
    on the thread, and for a reply reopen the thread and let its rule deadline run again."""
    thread = original.thread
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == original.id))
    reason = report.diagnostic or "The message was returned as undeliverable."
    session.add(Event(thread=thread, kind="send_bounced", data={
        "outbox": item.id if item else None, "message": original.message_id,
        "recipients": report.recipients, "reason": reason}))
    if item is None or item.status not in BOUNCEABLE:
        return item
    item.status = OutboxStatus.FAILED
    item.last_error = f"Returned by the receiving side (bounce): {reason}"[:2000]
    session.flush()
    for after in outbox.AFTER_ANY:
        after(session, item, now, None)
    if original.kind != MessageKind.NORMAL:
        return item  # an auto-acknowledgement was no answer: nothing to reopen
    if thread.status in (Status.WAITING, Status.RESOLVED):
        before = thread.status
        thread.status = Status.OPEN
        session.add(Event(thread=thread, kind="status_changed",
                          data={"from": before.value, "to": Status.OPEN.value, "by": "bounce"}))
    deadlines.on_classification_changed(session, thread, now)
    return item


def on_stored_message(session: Session, stored: StoredMessage) -> None:
    """Ingest hook: a bounce that ingest matched to our own message marks that message failed."""
    if stored.bounced is not None:
        record_bounce(session, stored.bounced, stored.message, stored.bounce or BounceReport(), now=stored.now)

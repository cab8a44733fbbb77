"""What triggers a notification: hooks that ``inbox.wiring`` connects to history, ingest and the outbox.

- ``on_event`` (``history.AFTER_RECORD``): a thread assigned to someone, an @mention in a
  note, and any change of a followed thread, each once per person per history event; the
  person who made the change is never told of it.
- ``on_stored_message`` (``ingest.store.AFTER_STORE``): a customer's own follow-up (not
  automatic mail) on a thread tells its assignee and its followers, once per message.
- ``on_outcome`` (``outbox.AFTER_ANY``): a reply that ended failed, refused or unknown tells
  its author, once per attempt and outcome.

Each runs in the transaction of what triggered it, so the notification exists exactly when
the change does. Knows nothing of HTTP or of mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.ingest.store import StoredMessage
from inbox.models import Direction, Event, Message, MessageKind, OutboxItem, OutboxStatus, Thread
from inbox.services import notifications

# History events that count as "a thread I follow changed".
FOLLOWED_EVENTS = frozenset(
    {"assigned", "unassigned", "status_changed", "priority_changed", "tags_changed", "note_added"}
)
FAILED_ENDS = (OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.REJECTED)


def on_event(session: Session, thread: Thread, event: Event, now: datetime) -> None:
    """``history.AFTER_RECORD`` hook: assigned to me, mentioned, a followed thread changed."""
    data = event.data or {}
    actor = event.actor_id
    told: set[int] = set()

    def tell(user_id: Any, kind: str, extra: dict[str, Any]) -> None:
        if not isinstance(user_id, int) or user_id == actor or user_id in told:
            return
        told.add(user_id)  # one notification per person and event, even if this kind is off
        notifications.notify(
            session, user_id, kind, now=now, thread_id=thread.id, event=event, actor_id=actor,
            data=extra,
        )

    if thread.id is None:  # a thread opened in this transaction (a rule at ingest)
        session.flush()
    if event.kind == "assigned":
        tell(data.get("to"), notifications.ASSIGNED.name, {})
    if event.kind == "note_added":
        for user_id in data.get("mentions") or []:
            tell(user_id, notifications.MENTIONED.name, {"message": data.get("message")})
    if event.kind in FOLLOWED_EVENTS:
        for user_id in notifications.followers(session, thread.id):
            tell(user_id, notifications.FOLLOWED_CHANGED.name, {"what": event.kind})


def on_stored_message(session: Session, stored: StoredMessage) -> None:
    """``AFTER_STORE`` hook: the customer wrote again on a thread; tell its assignee and followers."""
    message, thread = stored.message, stored.thread
    if stored.created or message.direction != Direction.INBOUND or message.kind != MessageKind.NORMAL:
        return
    followers = notifications.followers(session, thread.id)
    if thread.assignee_id is None and not followers:
        return
    if message.id is None:
        session.flush()
    key = f"message:{message.id}"
    extra = {"from": message.from_address, "message": message.id}
    if thread.assignee_id is not None:
        notifications.notify(
            session, thread.assignee_id, notifications.CUSTOMER_REPLIED.name, now=stored.now,
            thread_id=thread.id, key=key, data=extra,
        )
    for user_id in followers:
        if user_id != thread.assignee_id:
            notifications.notify(
                session, user_id, notifications.FOLLOWED_CHANGED.name, now=stored.now,
                thread_id=thread.id, key=key, data={**extra, "what": "message_received"},
            )


def on_outcome(session: Session, item: OutboxItem, now: datetime, context: Any = None) -> None:
    """``outbox.AFTER_ANY`` hook: a reply that did not reach the customer tells its author."""
    if item.status not in FAILED_ENDS or item.message_row_id is None:
        return
    author_id = session.scalar(select(Message.author_id).where(Message.id == item.message_row_id))
    if author_id is None:
        return
    notifications.notify(
        session, author_id, notifications.REPLY_FAILED.name, now=now, thread_id=item.thread_id,
        key=f"reply_failed:{item.id}:{item.attempts}:{item.status.value}",
        data={"status": item.status.value, "error": (item.last_error or "")[:500]},
    )

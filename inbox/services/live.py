"""What a live page's "version" is: a short fingerprint that changes whenever what the page shows changes.

The queue and the thread page update themselves by **conditional polling**: the browser asks
for the page again every ~3 s with ``If-None-Match: <version>`` and the server answers
``304 Not Modified`` after one cheap query, or renders the page (its parts marked
``data-live``) when something changed; ``inbox/static/live.js`` then swaps only those parts.
We chose this over server-sent events because it needs nothing the deployment does not
already have: every answer comes from the database, so it works the same with one process
and threads, with several gunicorn workers, and with schedulers or pollers writing from
other processes (no broker, no long-lived connection holding a worker thread each).

The fingerprints rest on one fact of the schema: every change a queue or thread shows
(a mail ingested, a reply or note, an assignment, a status, tag or deadline change, a send
that succeeds or fails) is recorded as an ``Event`` in the same transaction, and ``events.id``
only grows. So:

- **queue**: the newest event id anywhere (a primary-key lookup), the number of the user's
  visible unresolved threads already past their deadline (deadlines pass with time, not
  with events), the unread notifications, the user's local date ("due today" turns over at
  midnight) and which mailboxes the user may see.
- **thread**: the thread's row version (bumped by every change of the row), its newest event
  id, who else is on it and whether they are writing (inbox.services.presence), who else
  keeps a reply draft on it (inbox.services.drafts), and the
  header badges' figures.

The global event id makes a queue refetch its page after a change in any mailbox, also one
the viewer does not see: a cheap over-approximation (a render, never a wrong page). Knows
nothing of the web.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import Event, Notification, Status, Thread, ThreadPresence, User
from inbox.services.access import get_thread, visible_mailbox_ids
from inbox.services.deadlines import badge_counts
from inbox.services.drafts import writers
from inbox.services.presence import FRESH

UNRESOLVED = (Status.NEW, Status.OPEN, Status.WAITING)


def _digest(*parts: object) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def _unread(user: User):
    return (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.in_app.is_(True),
            Notification.read_at.is_(None),
        )
        .scalar_subquery()
    )


def queue_version(session: Session, user: User, *, now: datetime, key: object = None) -> str:
    """The queue's fingerprint for ``user`` (``key``: the view and filters, so each differs)."""
    ids = visible_mailbox_ids(session, user)
    overdue = (
        select(func.count())
        .select_from(Thread)
        .where(Thread.mailbox_id.in_(ids), Thread.status.in_(UNRESOLVED), Thread.due_at <= now)
        .scalar_subquery()
    )
    row = session.execute(
        select(select(func.max(Event.id)).scalar_subquery(), overdue, _unread(user))
    ).one()
    today = now.astimezone(ZoneInfo(user.timezone)).date()
    return _digest("q", user.id, sorted(ids), tuple(row), today.isoformat(), key)


def thread_version(
    session: Session, user: User, thread_id: int, *, now: datetime, key: object = None
) -> str:
    """The thread page's fingerprint for ``user``. Raises NotFound as ``get_thread`` does."""
    thread = get_thread(session, user, thread_id)
    last_event = (
        select(func.max(Event.id)).where(Event.thread_id == thread_id).scalar_subquery()
    )
    row = session.execute(select(last_event, _unread(user))).one()
    others = session.execute(
        select(ThreadPresence.user_id, ThreadPresence.composing)
        .where(
            ThreadPresence.thread_id == thread_id,
            ThreadPresence.user_id != user.id,
            ThreadPresence.seen_at >= now - FRESH,
        )
        .order_by(ThreadPresence.user_id)
    ).all()
    badges = badge_counts(session, user, now)
    drafts = tuple(uid for uid, _name in writers(session, thread_id, except_user=user.id))
    return _digest(
        "t", user.id, thread.id, thread.version, tuple(row),
        tuple(map(tuple, others)), sorted(badges.items()), drafts, key,
    )  # fmt: skip

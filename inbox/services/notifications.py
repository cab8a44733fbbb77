"""Notifications per user: what kinds exist, what each person wants, writing one, listing and reading them, following threads.

``notify`` is the one way in: any service (a hook, the escalation scan, approval...) calls it
in its own transaction. A notification is unique per user and history event (``event``) or
per user and ``key``, so the same happening never notifies a person twice, however often the
caller runs. Whether it shows in the app and whether it is mailed follows the user's choices
for its kind (``NotificationSetting``); mailing is ``inbox.services.notification_mail``'s
business, what triggers one is ``inbox.services.notification_hooks``'s. Kinds are registered
by ``inbox.wiring`` (``register_kind``), so other areas add their own. Knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from inbox.models import (
    Event,
    MailboxMember,
    Notification,
    NotificationSetting,
    Role,
    Thread,
    ThreadFollower,
    User,
)
from inbox.services.access import get_thread
from inbox.services.errors import NotFound

PENDING, QUEUED = "pending", "queued"
PAGE_SIZE = 100


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


@dataclass(frozen=True)
class Kind:
    """A kind of notification: its name, its label (a msgid) and what a user gets by default."""

    name: str
    label: str
    app: bool = True
    mail: bool = False
    mailable: bool = True  # False: in the app only (it is mailed some other way already)


ASSIGNED = Kind("assigned", _("A thread is assigned to me"), mail=True)
MENTIONED = Kind("mentioned", _("I am mentioned in an internal note"), mail=True)
CUSTOMER_REPLIED = Kind("customer_replied", _("A customer replied on my thread"))
REPLY_FAILED = Kind("reply_failed", _("My reply could not be sent"), mail=True)
FOLLOWED_CHANGED = Kind("followed_changed", _("A thread I follow changed"))
ESCALATED = Kind("escalated", _("An overdue thread is escalated to me (leads)"), mailable=False)
BUILTIN_KINDS = (ASSIGNED, MENTIONED, CUSTOMER_REPLIED, REPLY_FAILED, FOLLOWED_CHANGED, ESCALATED)

# name -> Kind, in the order the preferences page lists them. Filled by ``inbox.wiring``.
KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> None:
    KINDS[kind.name] = kind


# --- preferences ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    kind: Kind
    app: bool
    mail: bool


def _setting(session: Session, user_id: int) -> NotificationSetting | None:
    return session.get(NotificationSetting, user_id)


def choice(session: Session, user_id: int, kind: Kind) -> Choice:
    """What ``user_id`` wants for ``kind``: stored choices over the kind's defaults."""
    setting = _setting(session, user_id)
    stored = ((setting.kinds if setting else None) or {}).get(kind.name) or {}
    app = bool(stored.get("app", kind.app))
    mail = bool(stored.get("mail", kind.mail)) and kind.mailable
    return Choice(kind, app, mail)


def preferences(session: Session, user: User) -> tuple[list[Choice], bool]:
    """Every registered kind with the user's choice, and whether they want a daily digest."""
    setting = _setting(session, user.id)
    return [choice(session, user.id, k) for k in KINDS.values()], bool(setting and setting.digest)


def save_preferences(
    session: Session, user: User, *, app: set[str], mail: set[str], digest: bool, now: datetime
) -> None:
    """Store the user's choices: ``app`` and ``mail`` name the kinds switched on (unknown names
    are ignored); ``digest`` sends one mail a day instead of one per notification."""
    kinds = {
        k.name: {"app": k.name in app, "mail": k.mailable and k.name in mail} for k in KINDS.values()
    }
    setting = _setting(session, user.id)
    if setting is None:
        setting = NotificationSetting(user_id=user.id)
        session.add(setting)
    setting.kinds = kinds
    setting.digest = bool(digest)
    session.flush()


# --- writing one ----------------------------------------------------------------------------


def notify(
    session: Session,
    user_id: int,
    kind: str,
    *,
    now: datetime,
    thread_id: int | None = None,
    data: Mapping[str, Any] | None = None,
    event: Event | None = None,
    key: str | None = None,
    actor_id: int | None = None,
) -> Notification | None:
    """Notify ``user_id`` of something of ``kind``, once; None when nothing was written.

    Give either ``event`` (a history event just recorded: one notification per user and event)
    or ``key`` (anything else, e.g. ``f"message:{id}"``: one per user and key; a second call
    with the same key returns None). Nothing is written for an inactive or unknown user, one
    who switched both channels off for the kind, or a thread the user may no longer see.
    Raises KeyError for a kind nobody registered. Flushes only when ``key`` is given.
    """
    spec = KINDS[kind]
    if (event is None) == (key is None):
        raise ValueError("notify() needs exactly one of event= and key=")
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    if thread_id is not None and not _may_see_thread(session, user, thread_id):
        return None
    wanted = choice(session, user_id, spec)
    if not (wanted.app or wanted.mail):
        return None
    row = Notification(
        user_id=user_id,
        kind=kind,
        thread_id=thread_id,
        key=key,
        actor_id=actor_id,
        data=dict(data or {}),
        in_app=wanted.app,
        read_at=None if wanted.app else now,
        mail_state=PENDING if wanted.mail else None,
        created_at=now,
    )
    if event is not None:
        row.event = event
        session.add(row)
        return row
    if session.scalar(
        select(Notification.id).where(Notification.user_id == user_id, Notification.key == key)
    ):
        return None
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process wrote the same one meanwhile
        return None
    return row


def _may_see_thread(session: Session, user: User, thread_id: int) -> bool:
    if user.role == Role.ADMIN:
        return True
    mailbox_id = session.scalar(select(Thread.mailbox_id).where(Thread.id == thread_id))
    return mailbox_id is not None and (
        session.get(MailboxMember, {"mailbox_id": mailbox_id, "user_id": user.id}) is not None
    )


# --- reading them ---------------------------------------------------------------------------


def _visible(user: User):
    """The user's in-app notifications on threads they can still see (or on no thread)."""
    stmt = select(Notification).where(Notification.user_id == user.id, Notification.in_app)
    if user.role == Role.ADMIN:
        return stmt
    member = select(MailboxMember.mailbox_id).where(MailboxMember.user_id == user.id)
    visible = select(Thread.id).where(Thread.mailbox_id.in_(member))
    return stmt.where(or_(Notification.thread_id.is_(None), Notification.thread_id.in_(visible)))


def list_for(
    session: Session, user: User, *, unread_only: bool = False, limit: int = PAGE_SIZE
) -> list[Notification]:
    """The user's notifications, newest first, with thread and actor loaded. Reads only."""
    stmt = _visible(user)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(
        session.scalars(
            stmt.options(joinedload(Notification.thread), joinedload(Notification.actor))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def unread_count(session: Session, user: User) -> int:
    """How many of the user's in-app notifications are unread (what the header badge shows)."""
    stmt = _visible(user).where(Notification.read_at.is_(None))
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def mark_read(session: Session, user: User, notification_id: int, *, now: datetime) -> Notification:
    """Mark one of the user's notifications read. Raises NotFound for anyone else's."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("No such notification."))
    if row.read_at is None:
        row.read_at = now
    return row


def mark_all_read(session: Session, user: User, *, now: datetime) -> int:
    """Mark all the user's unread notifications read; how many were."""
    done = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount or 0


# --- following threads ----------------------------------------------------------------------


def is_following(session: Session, user: User, thread_id: int) -> bool:
    return session.get(ThreadFollower, {"thread_id": thread_id, "user_id": user.id}) is not None


def follow(session: Session, user: User, thread_id: int, *, now: datetime) -> None:
    """Follow a thread the user can see (NotFound otherwise); following twice is one follow."""
    thread = get_thread(session, user, thread_id)
    if is_following(session, user, thread.id):
        return
    try:
        with session.begin_nested():
            session.add(ThreadFollower(thread_id=thread.id, user_id=user.id, created_at=now))
    except IntegrityError:  # a second click raced the first
        pass


def unfollow(session: Session, user: User, thread_id: int) -> None:
    """Stop following (NotFound if the thread is not visible); a no-op when not following."""
    thread = get_thread(session, user, thread_id)
    session.execute(
        delete(ThreadFollower).where(
            ThreadFollower.thread_id == thread.id, ThreadFollower.user_id == user.id
        )
    )


def followers(session: Session, thread_id: int) -> list[int]:
    """Ids of the users following the thread."""
    return list(
        session.scalars(
            select(ThreadFollower.user_id)
            .where(ThreadFollower.thread_id == thread_id)
            .order_by(ThreadFollower.user_id)
        )
    )

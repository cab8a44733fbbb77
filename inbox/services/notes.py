"""Internal notes on a thread and the @mentions in them; never sent to the customer.

A note is a ``Message`` with direction NOTE and an author. ``@handle`` mentions a colleague
who can work the mailbox; the handle is the part of their address before the @, or their
name without spaces. Replies and assignment live elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from inbox.models import Direction, MailboxMember, Mention, Message, Role, Thread, User
from inbox.services import history
from inbox.services.access import get_thread, restrict_threads
from inbox.services.errors import InvalidInput

MAX_NOTE_LENGTH = 20_000
_ASCII_HANDLE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._+-")


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


def mailbox_people(session: Session, mailbox_id: int) -> list[User]:
    """Active users who can work the mailbox: its members and every admin."""
    member = select(MailboxMember.user_id).where(MailboxMember.mailbox_id == mailbox_id)
    return list(
        session.scalars(
            select(User)
            .where(User.active.is_(True), or_(User.id.in_(member), User.role == Role.ADMIN))
            .order_by(User.name, User.id)
        )
    )


def handles(user: User) -> set[str]:
    """What may follow @ to mention ``user`` (lower-cased)."""
    found = {user.email.split("@", 1)[0].lower()}
    name = "".join(user.name.split()).lower()
    if name:
        found.add(name)
    return found


def find_mentions(text: str, candidates: list[User]) -> list[User]:
    """The candidates mentioned in ``text``, in order of first mention.

    At each @ that does not follow a word character, the longest handle that starts there
    wins; a handle ending in an ASCII letter or digit must not run on into more of them
    (``@yamada`` is not ``@yamadataro``), while a Japanese name may be followed by anything
    (``@山田花子さん``).
    """
    low = text.lower()
    by_handle = sorted(
        ((h, u) for u in candidates for h in handles(u)), key=lambda hu: len(hu[0]), reverse=True
    )
    found: list[User] = []
    for at, char in enumerate(low):
        if char != "@" or (at > 0 and (low[at - 1].isalnum() or low[at - 1] in "._+-")):
            continue
        rest = low[at + 1 :]
        for handle, user in by_handle:
            if not rest.startswith(handle):
                continue
            after = rest[len(handle) : len(handle) + 1]
            if handle[-1] in _ASCII_HANDLE and after and after in _ASCII_HANDLE:
                continue
            if user not in found:
                found.append(user)
            break
    return found


def add_note(session: Session, thread_id: int, body: str, *, by: User, now: datetime) -> Message:
    """Add an internal note to the thread and record whom it mentions.

    Only people who can work the mailbox can be mentioned; the author is never mentioned.
    Raises NotFound (thread not visible) or InvalidInput (empty or too long).
    """
    thread = get_thread(session, by, thread_id)
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(_("Write something in the note."))
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(_("The note is too long."))
    note = Message(
        thread_id=thread.id,
        mailbox_id=thread.mailbox_id,
        direction=Direction.NOTE,
        author_id=by.id,
        from_name=by.name,
        from_address=by.email,
        subject="",
        received_at=now,
        text=text,
        new_text=text,
        created_at=now,
    )
    session.add(note)
    session.flush()
    mentioned = [
        u for u in find_mentions(text, mailbox_people(session, thread.mailbox_id)) if u.id != by.id
    ]
    for user in mentioned:
        session.add(Mention(message_row_id=note.id, user_id=user.id, created_at=now))
    history.record(
        session,
        thread,
        "note_added",
        {"message": note.id, "mentions": [u.id for u in mentioned]},
        by=by,
        now=now,
    )
    session.flush()
    return note


@dataclass(frozen=True)
class MentionItem:
    """A mention as the mentioned person sees it; ``unseen`` is as it was before this viewing."""

    id: int
    note: Message
    thread: Thread
    unseen: bool
    at: datetime


def _visible_mentions(session: Session, user: User):
    return restrict_threads(
        select(Mention, Message, Thread)
        .join(Message, Message.id == Mention.message_row_id)
        .join(Thread, Thread.id == Message.thread_id)
        .where(Mention.user_id == user.id),
        session,
        user,
    )


def list_mentions(session: Session, user: User, *, limit: int = 100) -> list[MentionItem]:
    """The user's mentions in threads they can still see, newest first. Reads only."""
    rows = session.execute(
        _visible_mentions(session, user)
        .options(joinedload(Message.author))
        .order_by(Mention.created_at.desc(), Mention.id.desc())
        .limit(limit)
    ).all()
    return [
        MentionItem(id=m.id, note=msg, thread=t, unseen=m.seen_at is None, at=m.created_at)
        for m, msg, t in rows
    ]


def mark_seen(session: Session, items: list[MentionItem], *, now: datetime) -> None:
    """Mark the unseen ones among ``items`` seen at ``now`` (the user has had them listed)."""
    unseen = [i.id for i in items if i.unseen]
    if unseen:
        session.execute(
            update(Mention)
            .where(Mention.id.in_(unseen), Mention.seen_at.is_(None))
            .values(seen_at=now)
            .execution_options(synchronize_session=False)
        )


def unseen_count(session: Session, user: User) -> int:
    """How many of the user's mentions (in threads they can see) are not seen yet."""
    stmt = _visible_mentions(session, user).where(Mention.seen_at.is_(None))
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

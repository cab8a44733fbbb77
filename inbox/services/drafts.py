"""Reply drafts kept on the server as they are typed: one per (thread, user), restored on any machine.

A draft is only text kept for its writer; nothing here queues or sends mail (sending the reply
deletes the draft, see ``inbox.web.reply``). Others see only who has a draft on a thread.
Never commits; knows nothing of the web.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from inbox.models import ReplyDraft, User
from inbox.services.errors import InvalidInput

MAX_BODY = 200_000  # characters
MAX_LINE = 4_000  # addresses and subject


@dataclass(frozen=True)
class DraftText:
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""

    def empty(self) -> bool:
        return not self.body.strip()


def _clean(value: object, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("The draft is not valid; reload the page.")
    value = value.replace("\x00", "")
    if len(value) > limit:
        raise InvalidInput("The draft is too long to keep (at most %(n)s characters).", n=limit)
    return value


def parse(values: dict[str, object]) -> DraftText:
    """A draft from the composer's fields; raises InvalidInput for a wrong type or a huge field."""
    return DraftText(
        to=_clean(values.get("to"), MAX_LINE),
        cc=_clean(values.get("cc"), MAX_LINE),
        bcc=_clean(values.get("bcc"), MAX_LINE),
        subject=_clean(values.get("subject"), MAX_LINE),
        body=_clean(values.get("body"), MAX_BODY),
    )


def save(session: Session, thread_id: int, user_id: int, text: DraftText, *, now: datetime) -> bool:
    """Keep ``text`` as the user's draft on the thread (an empty body drops it); True if kept.

    One statement (INSERT … ON CONFLICT DO UPDATE), so two tabs of one user never collide.
    """
    if text.empty():
        discard(session, thread_id, user_id)
        return False
    values = {
        "to": text.to,
        "cc": text.cc,
        "bcc": text.bcc,
        "subject": text.subject,
        "body": text.body,
        "updated_at": now,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(ReplyDraft).values(thread_id=thread_id, user_id=user_id, **values)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["thread_id", "user_id"], set_=values)
    )
    return True


def get(session: Session, thread_id: int, user_id: int) -> ReplyDraft | None:
    return session.scalar(
        select(ReplyDraft)
        .where(ReplyDraft.thread_id == thread_id, ReplyDraft.user_id == user_id)
        .execution_options(populate_existing=True)
    )


def discard(session: Session, thread_id: int, user_id: int) -> None:
    session.execute(
        delete(ReplyDraft)
        .where(ReplyDraft.thread_id == thread_id, ReplyDraft.user_id == user_id)
        .execution_options(synchronize_session=False)
    )


def writers(session: Session, thread_id: int, *, except_user: int | None) -> list[tuple[int, str]]:
    """(user id, name) of everyone else with a draft on the thread, by name."""
    rows = session.execute(
        select(User.id, User.name)
        .join(ReplyDraft, ReplyDraft.user_id == User.id)
        .where(ReplyDraft.thread_id == thread_id)
        .order_by(User.name, User.id)
    )
    return [(uid, name) for uid, name in rows if uid != except_user]

"""What the thread page shows: messages with folded history, the customer panel, the history, and
safe HTML mail bodies and attachment downloads. Reads only; changes live in assignment and notes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from inbox.ingest.html_text import sanitize_html
from inbox.models import (
    Attachment,
    Mailbox,
    Message,
    MessageKind,
    Priority,
    Role,
    Status,
    Thread,
    User,
)
from inbox.services import customers, history
from inbox.services.access import get_thread, visible_mailbox_ids
from inbox.services.errors import NotFound
from inbox.services.notes import mailbox_people

OTHER_THREADS = 10
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_RISKY_TYPE_WORDS = ("html", "xml", "svg", "javascript", "ecmascript", "x-sh", "wasm")
_RISKY_EXTENSIONS = (
    ".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".xml", ".xsl", ".js", ".mjs", ".hta",
)  # fmt: skip
# nh3 output quotes every attribute with " and escapes " inside values, so this is exact there.
_REMOTE_IMG_SRC = re.compile(r'(<img\b[^>]*?)\ssrc="(?:https?:)?//[^"]*"', re.IGNORECASE)
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


@dataclass(frozen=True)
class ShownMessage:
    """A message as the page shows it: new text, the folded rest, and what to label it with."""

    message: Message
    new_text: str
    folded: str
    labelled: bool  # auto-reply, bounce or bulk

    @property
    def has_remote_images(self) -> bool:
        return bool(self.message.html) and bool(_REMOTE_IMG_SRC.search(self.message.html or ""))


@dataclass(frozen=True)
class SameMailElsewhere:
    """A thread of another mailbox that holds a mail of this thread (same Message-ID)."""

    thread_id: int
    mailbox_name: str | None  # None: a mailbox the viewer may not see (named to nobody)


@dataclass(frozen=True)
class ThreadPage:
    thread: Thread
    messages: list[ShownMessage]
    history: list[history.HistoryEntry]
    other_threads: list[Thread]
    assignable: list[User]  # whom the viewer may assign the thread to
    elsewhere: list[SameMailElsewhere]  # the same mail received by other mailboxes
    statuses: tuple[Status, ...] = tuple(Status)
    priorities: tuple[Priority, ...] = tuple(Priority)


def split_text(message: Message) -> tuple[str, str]:
    """(new text, folded quoted history and signature) of a message."""
    text = message.text or ""
    new = message.new_text or ""
    if not new.strip():
        return text, ""
    if text.startswith(new):
        return new, text[len(new) :].strip("\n")
    return new, ""


def _shown(message: Message) -> ShownMessage:
    new, folded = split_text(message)
    return ShownMessage(message, new, folded, message.kind != MessageKind.NORMAL)


def other_threads(session: Session, user: User, thread: Thread) -> list[Thread]:
    """The customer's other threads the user may see (through any identity linked on their
    profile), newest activity first, at most 10."""
    if thread.contact_id is None:
        return []
    primary = customers.primary_id(session, thread.contact_id)
    stmt = customers.visible_threads(session, user, primary).where(Thread.id != thread.id)
    return list(
        session.scalars(
            stmt.order_by(Thread.last_activity_at.desc(), Thread.id.desc()).limit(OTHER_THREADS)
        )
    )


def same_mail_elsewhere(session: Session, user: User, thread: Thread) -> list[SameMailElsewhere]:
    """Threads of other mailboxes holding a mail of this thread, by Message-ID.

    A customer who writes to two shared addresses at once (support@ and sales@) makes one
    thread in each mailbox, each team seeing only its own. Both pages say so, so that two
    teams do not answer the same mail unknowingly; the other thread is linked and named only
    for a viewer who may see its mailbox.
    """
    ids = [m.message_id for m in thread.messages if m.message_id]
    if not ids:
        return []
    rows = session.execute(
        select(Message.thread_id, Message.mailbox_id)
        .where(Message.message_id.in_(ids[:500]), Message.mailbox_id != thread.mailbox_id)
        .distinct()
        .order_by(Message.thread_id)
    ).all()
    if not rows:
        return []
    visible = set(visible_mailbox_ids(session, user))
    names = dict(session.execute(select(Mailbox.id, Mailbox.name).where(
        Mailbox.id.in_({mailbox_id for _t, mailbox_id in rows} & visible))).all())  # fmt: skip
    return [SameMailElsewhere(thread_id=t, mailbox_name=names.get(mb)) for t, mb in rows]


def thread_page(session: Session, user: User, thread_id: int) -> ThreadPage:
    """Everything the thread page shows. Raises NotFound when the user may not see the thread."""
    thread = get_thread(session, user, thread_id)
    # One query for the messages and one for their attachments, instead of one per message.
    session.execute(
        select(Thread)
        .where(Thread.id == thread.id)
        .options(selectinload(Thread.messages).selectinload(Message.attachments))
    ).scalar_one()
    if user.role in (Role.LEAD, Role.ADMIN):
        assignable = mailbox_people(session, thread.mailbox_id)
    else:
        assignable = [user]
    return ThreadPage(
        thread=thread,
        messages=[_shown(m) for m in thread.messages],
        history=history.thread_history(session, thread.id),
        other_threads=other_threads(session, user, thread),
        assignable=assignable,
        elsewhere=same_mail_elsewhere(session, user, thread),
    )


def _message(session: Session, user: User, thread_id: int, message_id: int) -> Message:
    thread = get_thread(session, user, thread_id)
    message = session.get(Message, message_id)
    if message is None or message.thread_id != thread.id:
        raise NotFound(_("No such message in this thread."))
    return message


def mail_html(
    session: Session,
    user: User,
    thread_id: int,
    message_id: int,
    *,
    remote_images: bool,
    attachment_url: Callable[[Attachment], str],
) -> str:
    """The message's HTML body as a complete document, sanitized again (nh3) for display.

    ``cid:`` images point at ``attachment_url(attachment)`` when the attachment is a raster
    image; remote (http/https) images are removed unless ``remote_images``. Raises NotFound.
    """
    message = _message(session, user, thread_id, message_id)
    if not message.html:
        raise NotFound(_("This message has no HTML version."))
    cid_map = {
        a.content_id.strip("<>"): attachment_url(a)
        for a in message.attachments
        if a.content_id and a.content_type.lower() in RASTER_TYPES
    }
    body = sanitize_html(message.html, cid_map=cid_map)
    if not remote_images:
        body = _REMOTE_IMG_SRC.sub(r"\1", body)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="referrer" content="no-referrer">'
        "<style>body{font-family:sans-serif;margin:8px;overflow-wrap:anywhere}"
        "img{max-width:100%;height:auto}</style></head><body>"
        f"{body}</body></html>"
    )


@dataclass(frozen=True)
class Download:
    """An attachment ready to serve: bytes, a safe content type, and how to present it."""

    data: bytes
    content_type: str
    disposition: str


def content_disposition(kind: str, filename: str) -> str:
    """``attachment``/``inline`` with an ASCII fallback name and the RFC 5987 UTF-8 name."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in filename)
    fallback = fallback.strip() or "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def safe_content_type(attachment: Attachment) -> str:
    """The declared type, or application/octet-stream for anything a browser might run."""
    ctype = attachment.content_type.split(";")[0].strip().lower()
    name = attachment.filename.lower()
    if (
        not _CONTENT_TYPE.match(ctype)
        or any(w in ctype for w in _RISKY_TYPE_WORDS)
        or name.endswith(_RISKY_EXTENSIONS)
    ):
        return "application/octet-stream"
    return ctype


def attachment_download(
    session: Session,
    user: User,
    thread_id: int,
    attachment_id: int,
    *,
    read_blob: Callable[[str], bytes],
    inline: bool = False,
) -> Download:
    """An attachment of a message of the thread. ``inline`` is honoured only for raster images.

    Raises NotFound when the thread is not visible, the attachment is not in it, or its bytes
    are missing from the blob store.
    """
    thread = get_thread(session, user, thread_id)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.message.thread_id != thread.id:
        raise NotFound(_("No such attachment in this thread."))
    try:
        data = read_blob(attachment.sha256)
    except (OSError, ValueError) as exc:
        raise NotFound(_("The attachment's content is missing.")) from exc
    ctype = safe_content_type(attachment)
    name = attachment.filename or "attachment"
    if inline and ctype in RASTER_TYPES and not name.lower().endswith(_RISKY_EXTENSIONS):
        return Download(data, ctype, content_disposition("inline", name))
    return Download(data, ctype, content_disposition("attachment", name))

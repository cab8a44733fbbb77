"""Flagged mail: messages stored raw because they could not be read or stored as read, and reading them again.

A message is flagged (``parse_failed``) when the parser could not read it, or when the
database refused it as read and the poll stored it raw instead (its first warning then
starts with "Quarantined: " and names the error). ``reprocess`` reads such a message again
from its raw bytes (after an upgrade that fixes the cause) and fills in its columns in
place; it stays in its thread. Knows nothing of the web; the caller commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from inbox.ingest import notices
from inbox.ingest.store import QUARANTINED, IngestOptions, address_dicts, raw_source, read_raw
from inbox.models import Attachment, Event, Message, MessageKind
from inbox.storage import BlobStore

log = logging.getLogger(__name__)
DEFAULTS = IngestOptions()


@dataclass
class ReprocessOutcome:
    message_id: int
    readable: bool  # read this time: its columns are filled in and the flag is gone
    error: str | None = None  # why it is still flagged (English)
    # the same, as parse warnings are stored (inbox.ingest.notices.stored): shown translated
    warnings: list[Any] = field(default_factory=list)


def flagged(session: Session, mailbox_ids: Iterable[int] | None = None, *, limit: int = 200) -> list[Message]:
    """Flagged messages, newest first, with their thread and mailbox loaded."""
    stmt = (
        select(Message)
        .where(Message.parse_failed)
        .options(joinedload(Message.thread))
        .order_by(Message.id.desc())
        .limit(limit)
    )
    if mailbox_ids is not None:
        stmt = stmt.where(Message.mailbox_id.in_(list(mailbox_ids)))
    return list(session.scalars(stmt))


def count_flagged(session: Session) -> int:
    return session.scalar(select(func.count(Message.id)).where(Message.parse_failed)) or 0


def is_quarantined(message: Message) -> bool:
    """Stored raw because the database refused it as read (not because it was unreadable)."""
    first = message.parse_warnings[0] if message.parse_warnings else None
    return isinstance(first, str) and first.startswith(QUARANTINED)


def reprocess(
    session: Session,
    blobs: BlobStore,
    message: Message,
    *,
    now: datetime,
    options: IngestOptions = DEFAULTS,
) -> ReprocessOutcome:
    """Read a flagged message again from its raw bytes and, if readable now, fill it in.

    Runs in a savepoint: if the database still refuses the values, nothing changes and the
    outcome says why. Never commits.
    """
    raw = raw_source(session, message.raw_sha256) if message.raw_sha256 else None
    if raw is None:
        missing = notices.Notice("The raw message is not stored.")
        return ReprocessOutcome(message.id, False, missing, [notices.stored(missing)])
    parsed = read_raw(raw, message.source_key or str(message.id), options)
    if not (parsed.subject or parsed.text or parsed.from_):
        return ReprocessOutcome(
            message.id, False, "; ".join(parsed.warnings)[:500] or None, [notices.stored(w) for w in parsed.warnings]
        )
    try:
        with session.begin_nested():
            _fill_in(session, blobs, message, parsed, now=now)
            session.flush()
    except (SQLAlchemyError, ValueError, OverflowError, UnicodeError) as exc:
        log.warning("reprocessing message %s failed: %s", message.id, exc)
        return ReprocessOutcome(message.id, False, f"{exc.__class__.__name__}: {str(exc)[:300]}")
    return ReprocessOutcome(message.id, True)


def _fill_in(session: Session, blobs: BlobStore, message: Message, parsed, *, now: datetime) -> None:
    message.subject = parsed.subject or ""
    message.from_name = parsed.from_.name[:255] if parsed.from_ else ""
    message.from_address = parsed.from_.address[:320] if parsed.from_ else ""
    message.to, message.cc = address_dicts(parsed.to), address_dicts(parsed.cc)
    message.reply_to = address_dicts(parsed.reply_to)
    message.sent_at = parsed.date
    message.text, message.new_text, message.html = parsed.text, parsed.new_text, parsed.html
    message.in_reply_to, message.references = parsed.in_reply_to, list(parsed.references)
    message.kind = MessageKind(parsed.kind)
    message.parse_warnings = [notices.stored(w) for w in parsed.warnings]
    message.parse_failed = False
    for att in parsed.attachments:
        blobs.put(att.data, att.sha256)
        message.attachments.append(
            Attachment(
                filename=att.filename[:512], content_type=att.content_type[:255], size=att.size,
                sha256=att.sha256, inline=att.inline, content_id=att.content_id,
            )
        )  # fmt: skip
    thread = message.thread
    if thread is not None and not thread.subject and thread.message_count <= 1:
        thread.subject = message.subject
        thread.normalized_subject = (parsed.normalized_subject or "")[:255]
    session.add(Event(thread=thread, kind="message_reprocessed", data={"message": message.id}))


def reprocess_all(
    session: Session, blobs: BlobStore, *, now: datetime, options: IngestOptions = DEFAULTS
) -> list[ReprocessOutcome]:
    """Reprocess every flagged message (oldest first); the caller commits."""
    rows = session.scalars(select(Message).where(Message.parse_failed).order_by(Message.id))
    return [reprocess(session, blobs, m, now=now, options=options) for m in list(rows)]

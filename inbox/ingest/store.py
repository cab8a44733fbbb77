"""Store one raw message: dedupe by source identity and Message-ID, find its thread, write the rows."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.ingest.parse import ParsedMessage, parse_message
from inbox.models import (
    Attachment,
    Contact,
    Direction,
    Event,
    Mailbox,
    Message,
    MessageKind,
    Status,
    Thread,
    User,
)
from inbox.sources import RawItem
from inbox.storage import BlobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOptions:
    ticket_pattern: str = r"\[#(\d+)\]"
    subject_match_days: int = 14
    max_message_bytes: int = 50 * 1024 * 1024


@dataclass
class IngestResult:
    message: Message | None
    thread: Thread | None
    created: bool  # False: a duplicate, nothing written
    reason: str = ""  # why it was a duplicate, or how the thread was found
    warnings: list[str] = field(default_factory=list)


def _is_duplicate(
    session: Session, mailbox_id: int, source_key: str, message_id: str | None
) -> str:
    if session.scalar(
        select(Message.id).where(Message.mailbox_id == mailbox_id, Message.source_key == source_key)
    ):
        return "same source identity"
    if message_id and session.scalar(
        select(Message.id)
        .where(Message.mailbox_id == mailbox_id, Message.message_id == message_id)
        .limit(1)
    ):
        return "same Message-ID"
    return ""


def _unreadable(raw: bytes, problem: str) -> ParsedMessage:
    from inbox.ingest.parse import ParsedMessage as PM

    return PM(
        subject="",
        from_=None,
        to=[],
        cc=[],
        reply_to=[],
        date=None,
        message_id=None,
        in_reply_to=None,
        references=[],
        normalized_subject="",
        ticket_token=None,
        kind="normal",
        text="",
        new_text="",
        quoted_text="",
        html=None,
        attachments=[],
        charsets=[],
        warnings=[problem],
        raw_headers=[],
    )


def _team_addresses(session: Session, mailbox: Mailbox) -> set[str]:
    addresses = {a.lower() for a in [mailbox.address or ""] if a}
    addresses.update(e.lower() for e in session.scalars(select(User.email).where(User.active)))
    return addresses


def _contact(session: Session, address: str, name: str) -> Contact | None:
    address = address.strip().lower()
    if not address:
        return None
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is not None:
        if name and not contact.name:
            contact.name = name
        return contact
    try:
        with session.begin_nested():
            contact = Contact(address=address, name=name)
            session.add(contact)
    except IntegrityError:  # another process added the same customer meanwhile
        contact = session.scalar(select(Contact).where(Contact.address == address))
    return contact


def _find_thread(
    session: Session,
    mailbox: Mailbox,
    parsed: ParsedMessage,
    contact: Contact | None,
    received_at: datetime,
    options: IngestOptions,
) -> tuple[Thread | None, str]:
    ids = [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i]
    if ids:
        thread_id = session.scalar(
            select(Message.thread_id)
            .where(Message.mailbox_id == mailbox.id, Message.message_id.in_(ids))
            .order_by(Message.received_at.desc())
            .limit(1)
        )
        if thread_id is not None:
            return session.get(Thread, thread_id), "references"
    if parsed.ticket_token and parsed.ticket_token.isdigit():
        thread = session.get(Thread, int(parsed.ticket_token))
        if thread is not None and thread.mailbox_id == mailbox.id:
            return thread, "ticket token"
    if contact is not None and parsed.normalized_subject and options.subject_match_days > 0:
        since = received_at - timedelta(days=options.subject_match_days)
        thread = session.scalar(
            select(Thread)
            .where(
                Thread.mailbox_id == mailbox.id,
                Thread.contact_id == contact.id,
                Thread.normalized_subject == parsed.normalized_subject[:255],
                Thread.last_activity_at >= since,
            )
            .order_by(Thread.last_activity_at.desc())
            .limit(1)
        )
        if thread is not None:
            return thread, "customer and subject"
    return None, "new thread"


def _addresses(items: Iterable) -> list[dict[str, str]]:
    return [{"name": a.name, "address": a.address} for a in items]


def ingest_message(
    session: Session,
    blobs: BlobStore,
    mailbox: Mailbox,
    raw: bytes,
    *,
    source_key: str,
    received_at: datetime | None,
    now: datetime,
    options: IngestOptions = IngestOptions(),
    from_sent_folder: bool = False,
) -> IngestResult:
    """Store one raw message in ``mailbox`` unless it is already there.

    ``received_at`` None means "use the Date header" (history imports), bounded by ``now``.

    Never raises for bad input: an unreadable message is stored raw, flagged and threaded
    on its own. The caller commits (per batch) and only then moves its cursor.
    """
    if not raw:
        raw = b"\r\n"
    if _is_duplicate(session, mailbox.id, source_key, None):
        return IngestResult(None, None, False, "same source identity")  # cheap: before parsing
    parsed: ParsedMessage
    if len(raw) > options.max_message_bytes:
        parsed = _unreadable(
            raw, f"The message is {len(raw)} bytes, over the limit; stored raw, not read."
        )
    else:
        try:
            parsed = parse_message(raw, ticket_pattern=options.ticket_pattern)
        except Exception as exc:
            log.exception("parse failed for %s", source_key)
            parsed = _unreadable(
                raw, f"The message could not be read ({exc.__class__.__name__}); stored raw."
            )
    if received_at is None:
        received_at = parsed.date if parsed.date is not None and parsed.date <= now else now
    raw_sha = hashlib.sha256(raw).hexdigest()
    # Without a readable Message-ID the stand-in is derived from the bytes, and the duplicate
    # check uses it too: a re-fetch (new UIDVALIDITY) of an unreadable message is a repeat.
    message_id = parsed.message_id or f"{raw_sha[:32]}@inbox.generated"
    reason = _is_duplicate(session, mailbox.id, source_key, message_id)
    if reason:
        return IngestResult(None, None, False, reason)

    blobs.put(raw, raw_sha)
    from_address = parsed.from_.address if parsed.from_ else ""
    from_name = parsed.from_.name if parsed.from_ else ""
    team = _team_addresses(session, mailbox)
    direction = (
        Direction.OUTBOUND
        if (from_sent_folder or from_address.lower() in team)
        else Direction.INBOUND
    )
    kind = MessageKind(parsed.kind)

    customer = from_address
    customer_name = from_name
    if direction == Direction.OUTBOUND:
        first_to = (parsed.to or [None])[0]
        customer = first_to.address if first_to else ""
        customer_name = first_to.name if first_to else ""
    contact = _contact(session, customer, customer_name)
    thread, how = _find_thread(session, mailbox, parsed, contact, received_at, options)
    failed = parsed.warnings and not (parsed.subject or parsed.text or parsed.from_)
    created_thread = thread is None
    if thread is None:
        thread = Thread(
            mailbox_id=mailbox.id,
            subject=parsed.subject or "",
            normalized_subject=(parsed.normalized_subject or "")[:255],
            contact_id=contact.id if contact else None,
            status=Status.OPEN if direction == Direction.OUTBOUND else Status.NEW,
            last_activity_at=received_at,
            message_count=0,
        )
        session.add(thread)
        session.flush()

    message = Message(
        thread_id=thread.id,
        mailbox_id=mailbox.id,
        direction=direction,
        kind=kind,
        source_key=source_key,
        message_id=message_id,
        in_reply_to=parsed.in_reply_to,
        references=list(parsed.references),
        subject=parsed.subject or "",
        from_name=from_name[:255],
        from_address=from_address[:320],
        to=_addresses(parsed.to),
        cc=_addresses(parsed.cc),
        reply_to=_addresses(parsed.reply_to),
        sent_at=parsed.date,
        received_at=received_at,
        text=parsed.text,
        new_text=parsed.new_text,
        html=parsed.html,
        raw_sha256=raw_sha,
        parse_warnings=list(parsed.warnings),
        parse_failed=bool(failed),
    )
    for att in parsed.attachments:
        blobs.put(att.data, att.sha256)
        message.attachments.append(
            Attachment(
                filename=att.filename[:512],
                content_type=att.content_type[:255],
                size=att.size,
                sha256=att.sha256,
                inline=att.inline,
                content_id=att.content_id,
            )
        )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # the same source identity was stored meanwhile
        return IngestResult(None, None, False, "same source identity")

    _update_thread(session, thread, message, created=created_thread, found_by=how)
    return IngestResult(message, thread, True, how, list(parsed.warnings))


def _update_thread(
    session: Session, thread: Thread, message: Message, *, created: bool, found_by: str
) -> None:
    from inbox.services import deadlines

    thread.message_count = (thread.message_count or 0) + 1
    if message.received_at >= thread.last_activity_at:
        thread.last_activity_at = message.received_at
    data = {"message": message.id, "found_by": found_by}
    if created:
        session.add(Event(thread_id=thread.id, kind="thread_created", data=data))
    else:
        session.add(Event(thread_id=thread.id, kind="message_received", data=data))
    if message.direction != Direction.INBOUND:
        return
    if message.kind != MessageKind.NORMAL:
        return  # auto-replies, bounces and bulk mail never reopen a thread or set a deadline
    thread.last_inbound_at = message.received_at
    if not created and thread.status in (Status.RESOLVED, Status.WAITING):
        previous = thread.status
        thread.status = Status.OPEN
        session.add(
            Event(
                thread_id=thread.id,
                kind="status_changed",
                data={"from": previous.value, "to": "open", "by": "customer reply"},
            )
        )
    deadlines.on_customer_message(session, thread, message.received_at)


@dataclass
class BatchCounts:
    imported: int = 0
    duplicates: int = 0
    with_warnings: int = 0

    def add(self, other: BatchCounts) -> None:
        self.imported += other.imported
        self.duplicates += other.duplicates
        self.with_warnings += other.with_warnings


def ingest_items(
    session: Session,
    blobs: BlobStore,
    mailbox: Mailbox,
    items: Iterable[RawItem],
    *,
    now: datetime,
    options: IngestOptions = IngestOptions(),
) -> BatchCounts:
    """Ingest a batch of raw items into ``mailbox``; the caller commits once for the batch."""
    counts = BatchCounts()
    for item in items:
        result = ingest_message(
            session,
            blobs,
            mailbox,
            item.raw,
            source_key=item.source_key,
            received_at=item.received_at,
            now=now,
            options=options,
            from_sent_folder=item.from_sent_folder,
        )
        if not result.created:
            counts.duplicates += 1
            continue
        counts.imported += 1
        if result.warnings:
            counts.with_warnings += 1
    return counts

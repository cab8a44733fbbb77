"""Store raw messages: dedupe by source identity and Message-ID, find each one's thread, write the rows.

A batch is read in three steps so that the database sees a handful of queries per batch
rather than many per message: (1) drop items whose source identity is known and parse the
rest, (2) look up in one query each the Message-IDs, referenced ids and customers the batch
mentions, (3) thread and build rows in memory, in arrival order, then flush once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from inbox.ingest import notices
from inbox.ingest.bounces import BounceReport
from inbox.ingest.columns import clean, storable, ticket_number
from inbox.ingest.parse import ParsedMessage, parse_message
from inbox.models import (
    Attachment,
    Contact,
    Direction,
    Event,
    Mailbox,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    RawMessage,
    SourceCursor,
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
    ticket_token: str = "[#{number}]"  # how our own mail writes the ticket number (settings)
    subject_match_days: int = 14
    max_message_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class StoredMessage:
    """What an ``AFTER_STORE`` hook is given: a message just stored, inside the ingest transaction."""

    mailbox: Mailbox
    thread: Thread
    message: Message
    created: bool  # the message opened its thread
    now: datetime
    options: IngestOptions = IngestOptions()
    # A bounce of our own mail: the outbound message it returns (the bounce is stored on that
    # message's thread) and what the bounce says; see inbox.services.automatic.
    bounced: Message | None = None
    bounce: BounceReport | None = None


# Called for every stored message (inbound or outbound, any kind, new thread or follow-up), in
# order, inside the ingest transaction, after the thread's own bookkeeping (counts, events,
# reopening). Filled by ``inbox.wiring``: sorting rules, then the deadline, then what follows.
AFTER_STORE: list[Callable[[Session, StoredMessage], None]] = []


@dataclass
class IngestResult:
    message: Message | None
    thread: Thread | None
    created: bool  # False: a duplicate, nothing written
    reason: str = ""  # why it was a duplicate, or how the thread was found
    warnings: list[str] = field(default_factory=list)


@dataclass
class BatchCounts:
    imported: int = 0
    duplicates: int = 0
    with_warnings: int = 0

    def add(self, other: BatchCounts) -> None:
        self.imported += other.imported
        self.duplicates += other.duplicates
        self.with_warnings += other.with_warnings


def _unreadable(problem: str) -> ParsedMessage:
    return ParsedMessage(
        subject="", from_=None, to=[], cc=[], reply_to=[], date=None, message_id=None,
        in_reply_to=None, references=[], normalized_subject="", ticket_token=None, kind="normal",
        text="", new_text="", quoted_text="", html=None, attachments=[], charsets=[],
        warnings=[problem], raw_headers=[],
    )  # fmt: skip


QUARANTINED = "Quarantined: "  # the first warning of a message that could not be stored as read


def _parse(
    raw: bytes, source_key: str, options: IngestOptions, unreadable: str | None = None
) -> ParsedMessage:
    if unreadable is not None:
        return _unreadable(unreadable)
    if len(raw) > options.max_message_bytes:
        return _unreadable(
            notices.Notice("The message is %(size)s bytes, over the limit; stored raw, not read.", size=len(raw))
        )
    try:
        return storable(parse_message(raw, ticket_pattern=options.ticket_pattern))
    except Exception as exc:
        log.exception("parse failed for %s", source_key)
        return _unreadable(
            notices.Notice("The message could not be read (%(error)s); stored raw.", error=exc.__class__.__name__)
        )


def read_raw(raw: bytes, source_key: str, options: IngestOptions) -> ParsedMessage:
    """Read raw bytes as ingest does (size limit, parse, column-safe values); never raises."""
    return _parse(raw, source_key, options)


@dataclass
class _Pending:
    item: RawItem
    raw: bytes
    sha: str
    parsed: ParsedMessage
    message_id: str


class _Batch:
    """What one batch knows: known ids and threads, including those it creates itself."""

    def __init__(self, session: Session, mailbox: Mailbox, pending: Sequence[_Pending]) -> None:
        self.session, self.mailbox = session, mailbox
        mids = {p.message_id for p in pending}
        refs = {r for p in pending for r in [p.parsed.in_reply_to, *p.parsed.references] if r}
        self.thread_of_mid: dict[str, int | Thread] = {}
        wanted = list(mids | refs)
        for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
            rows = session.execute(
                select(Message.message_id, Message.thread_id).where(
                    Message.mailbox_id == mailbox.id, Message.message_id.in_(chunk)
                )
            )
            self.thread_of_mid.update({mid: tid for mid, tid in rows})
        self.stored_mids = {m for m in mids if m in self.thread_of_mid}
        self.team = {a.lower() for a in [mailbox.address or ""] if a}
        self.team.update(e.lower() for e in session.scalars(select(User.email).where(User.active)))
        addresses = {_customer(p, self.team)[0].strip().lower()[:320] for p in pending} - {""}
        self.contacts = (
            {
                c.address: c
                for c in session.scalars(select(Contact).where(Contact.address.in_(addresses)))
            }
            if addresses
            else {}
        )
        self.new_threads: list[Thread] = []
        self.raw_seen = (
            set(
                session.scalars(
                    select(RawMessage.sha256).where(RawMessage.sha256.in_({p.sha for p in pending}))
                )
            )
            if pending
            else set()
        )

    def contact(self, address: str, name: str) -> Contact | None:
        address = address.strip().lower()[:320]
        if not address:
            return None
        contact = self.contacts.get(address)
        if contact is None:
            contact = Contact(address=address, name=name[:255])
            self.session.add(contact)
            self.contacts[address] = contact
        elif name and not contact.name:
            contact.name = name[:255]
        return contact

    def thread_for_ids(self, ids: list[str]) -> Thread | None:
        for mid in ids:
            found = self.thread_of_mid.get(mid)
            if isinstance(found, Thread):
                return found
            if found is not None:
                return self.session.get(Thread, found)
        return None

    def thread_by_subject(self, contact: Contact, subject: str, since: datetime) -> Thread | None:
        for thread in reversed(self.new_threads):
            if thread.contact is contact and thread.normalized_subject == subject:
                return thread
        if contact.id is None:
            return None
        return self.session.scalar(subject_match(self.mailbox.id, contact.id, subject, since))


def subject_match(mailbox_id: int, contact_id: int, subject: str, since: datetime) -> Select:
    """The customer's latest thread with this normalized subject active since ``since``.

    ix_threads_match_subject (mailbox_id, contact_id, normalized_subject, last_activity_at)
    answers it with one index probe; without last_activity_at in that index SQLite walked the
    mailbox's activity index instead, reading every thread in the window for each message.
    """
    return (
        select(Thread)
        .where(
            Thread.mailbox_id == mailbox_id,
            Thread.contact_id == contact_id,
            Thread.normalized_subject == subject,
            Thread.last_activity_at >= since,
        )
        .order_by(Thread.last_activity_at.desc())
        .limit(1)
    )


def _customer(p: _Pending, team: set[str]) -> tuple[str, str]:
    """The customer's address and name: the sender, or the first recipient of our own mail."""
    parsed = p.parsed
    sender = parsed.from_.address if parsed.from_ else ""
    if p.item.from_sent_folder or sender.lower() in team:
        first = parsed.to[0] if parsed.to else None
        return (first.address, first.name) if first else ("", "")
    return sender, parsed.from_.name if parsed.from_ else ""


AUTOMATIC_IS_WORK = "automatic_mail_is_work"  # Mailbox.settings key, see inbox.services.automatic
BOUNCE_RECIPIENT_WINDOW = timedelta(days=7)


def initial_status(mailbox: Mailbox, kind: MessageKind, *, outbound: bool) -> Status:
    """The status of a thread that ``kind`` of mail opens: automatic mail (auto-replies,
    bounces, bulk) starts as 自動メール unless the mailbox counts it as work."""
    if outbound:
        return Status.OPEN
    if kind != MessageKind.NORMAL and not (mailbox.settings or {}).get(AUTOMATIC_IS_WORK):
        return Status.AUTOMATIC
    return Status.NEW


def bounced_message(
    session: Session, mailbox_id: int, report: BounceReport, *, header_ids: Sequence[str], now: datetime
) -> Message | None:
    """The outbound message of ours in this mailbox that a bounce returns, or None.

    First by Message-ID (the returned message's, then the bounce's own In-Reply-To and
    References); without one, the latest message this mailbox sent (and that went out) to a
    failed recipient in the last week.
    """
    ids = [i for i in [*report.original_ids, *header_ids] if i]
    if ids:
        found = session.scalar(
            select(Message)
            .where(Message.mailbox_id == mailbox_id, Message.message_id.in_(ids),
                   Message.direction == Direction.OUTBOUND)
            .order_by(Message.id.desc())
            .limit(1)
        )
        if found is not None:
            return found
    if not report.recipients:
        return None
    wanted = set(report.recipients)
    items = session.scalars(
        select(OutboxItem)
        .where(OutboxItem.mailbox_id == mailbox_id, OutboxItem.message_row_id.is_not(None),
               OutboxItem.status.in_([OutboxStatus.SENT, OutboxStatus.UNKNOWN]),
               OutboxItem.created_at >= now - BOUNCE_RECIPIENT_WINDOW)
        .order_by(OutboxItem.created_at.desc(), OutboxItem.id.desc())
        .limit(200)
    )
    for item in items:
        if wanted & {r.lower() for r in item.recipients or []}:
            return session.get(Message, item.message_row_id)
    return None


def _bounced_message(batch: _Batch, p: _Pending, now: datetime) -> Message | None:
    parsed = p.parsed
    if parsed.kind != MessageKind.BOUNCE.value:
        return None
    header_ids = [i for i in [parsed.in_reply_to, *parsed.references] if i]
    return bounced_message(
        batch.session, batch.mailbox.id, parsed.bounce or BounceReport(), header_ids=header_ids, now=now
    )


def _merged_target(session: Session, thread: Thread) -> Thread:
    """Mail for a thread merged into another goes to that one (inbox.services.thread_ops)."""
    for _hop in range(50):
        if thread.merged_into_id is None:
            break
        target = session.get(Thread, thread.merged_into_id)
        if target is None:
            break
        thread = target
    return thread


def _find_thread(
    batch: _Batch,
    p: _Pending,
    contact: Contact | None,
    received_at: datetime,
    options: IngestOptions,
):
    thread, why = _match_thread(batch, p, contact, received_at, options)
    return (_merged_target(batch.session, thread), why) if thread is not None else (None, why)


def _match_thread(
    batch: _Batch,
    p: _Pending,
    contact: Contact | None,
    received_at: datetime,
    options: IngestOptions,
):
    parsed = p.parsed
    thread = batch.thread_for_ids(
        [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i]
    )
    if thread is not None:
        return thread, "references"
    number = ticket_number(parsed.ticket_token)
    if number is not None:
        thread = batch.session.get(Thread, number)
        if thread is not None and thread.mailbox_id == batch.mailbox.id:
            return thread, "ticket token"
    if contact is not None and parsed.normalized_subject and options.subject_match_days > 0:
        since = received_at - timedelta(days=options.subject_match_days)
        thread = batch.thread_by_subject(contact, parsed.normalized_subject[:255], since)
        if thread is not None:
            return thread, "customer and subject"
    return None, "new thread"


def address_dicts(items: Iterable) -> list[dict[str, str]]:
    """Addresses as stored in the JSON columns to / cc / reply_to."""
    return [{"name": a.name, "address": a.address} for a in items]


def _store_one(
    batch: _Batch, blobs: BlobStore, p: _Pending, *, now: datetime, options: IngestOptions
) -> IngestResult:
    session, mailbox, parsed = batch.session, batch.mailbox, p.parsed
    received_at = p.item.received_at
    if received_at is None:
        received_at = parsed.date if parsed.date is not None and parsed.date <= now else now
    from_address = parsed.from_.address if parsed.from_ else ""
    from_name = parsed.from_.name if parsed.from_ else ""
    outbound = p.item.from_sent_folder or from_address.lower() in batch.team
    direction = Direction.OUTBOUND if outbound else Direction.INBOUND
    contact = batch.contact(*_customer(p, batch.team))
    bounced = _bounced_message(batch, p, now) if not outbound else None
    if bounced is not None:
        thread, how = bounced.thread, "bounce of our message"
    else:
        thread, how = _find_thread(batch, p, contact, received_at, options)
    created = thread is None
    if thread is None:
        thread = Thread(
            mailbox_id=mailbox.id,
            subject=parsed.subject or "",
            normalized_subject=(parsed.normalized_subject or "")[:255],
            contact=contact,
            status=initial_status(mailbox, MessageKind(parsed.kind), outbound=outbound),
            last_activity_at=received_at,
            message_count=0,
            tags=[],
        )
        session.add(thread)
        batch.new_threads.append(thread)
    if p.sha not in batch.raw_seen:
        session.add(RawMessage(sha256=p.sha, data=p.raw))
        batch.raw_seen.add(p.sha)
    message = Message(
        thread=thread,
        mailbox_id=mailbox.id,
        direction=direction,
        kind=MessageKind(parsed.kind),
        source_key=p.item.source_key,
        message_id=p.message_id,
        in_reply_to=parsed.in_reply_to,
        references=list(parsed.references),
        subject=parsed.subject or "",
        from_name=from_name[:255],
        from_address=from_address[:320],
        to=address_dicts(parsed.to),
        cc=address_dicts(parsed.cc),
        reply_to=address_dicts(parsed.reply_to),
        sent_at=parsed.date,
        received_at=received_at,
        text=parsed.text,
        new_text=parsed.new_text,
        html=parsed.html,
        raw_sha256=p.sha,
        parse_warnings=[notices.stored(w) for w in parsed.warnings],
        parse_failed=bool(parsed.warnings and not (parsed.subject or parsed.text or parsed.from_)),
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
    session.add(message)
    batch.thread_of_mid[p.message_id] = thread
    _update_thread(session, thread, message, created=created, found_by=how, now=now, extra={
        "bounced": bounced, "bounce": parsed.bounce if bounced is not None else None, "options": options})
    return IngestResult(message, thread, True, how, list(parsed.warnings))


def _update_thread(
    session: Session, thread: Thread, message: Message, *, created: bool, found_by: str,
    now: datetime, extra: dict | None = None,
) -> None:
    """Keep the thread's own record of a message just stored, then run the ``AFTER_STORE`` hooks."""
    thread.message_count = (thread.message_count or 0) + 1
    if thread.last_activity_at is None or message.received_at >= thread.last_activity_at:
        thread.last_activity_at = message.received_at
    data = {"message_id": message.message_id, "found_by": found_by}
    session.add(
        Event(thread=thread, kind="thread_created" if created else "message_received", data=data)
    )
    if message.direction == Direction.INBOUND and message.kind == MessageKind.NORMAL:
        # auto-replies, bounces, bulk mail and our own never reopen a thread
        thread.last_inbound_at = message.received_at
        if not created and thread.status == Status.AUTOMATIC:  # the customer wrote: work now
            thread.status = Status.NEW
            session.add(Event(thread=thread, kind="status_changed", data={
                "from": Status.AUTOMATIC.value, "to": Status.NEW.value, "by": "customer reply"}))
        if not created and thread.status in (Status.RESOLVED, Status.WAITING):
            previous = thread.status
            thread.status = Status.OPEN
            session.add(
                Event(
                    thread=thread,
                    kind="status_changed",
                    data={"from": previous.value, "to": "open", "by": "customer reply"},
                )
            )
    mailbox = thread.mailbox or session.get(Mailbox, thread.mailbox_id)  # a new thread has only the id
    stored = StoredMessage(mailbox, thread, message, created, now, **(extra or {}))
    for hook in AFTER_STORE:
        hook(session, stored)


def ingest_batch(
    session: Session,
    blobs: BlobStore,
    mailbox: Mailbox,
    items: Iterable[RawItem],
    *,
    now: datetime,
    options: IngestOptions = IngestOptions(),
    unreadable: str | None = None,
    parsed: Mapping[str, ParsedMessage] | None = None,
) -> list[IngestResult]:
    """Ingest raw items into ``mailbox``, one result per item, in order; flushes, never commits.

    Never raises for bad input: an unreadable message is stored raw, flagged and threaded
    on its own. The caller commits (per batch) and only then moves its cursor. With
    ``unreadable`` the items are not read at all: each is stored raw with that problem.
    ``parsed`` (by source key, from ``parse_items``) saves parsing inside the transaction.
    """
    items = [
        RawItem(i.source_key, i.raw or b"\r\n", i.received_at, i.from_sent_folder) for i in items
    ]
    keys = [i.source_key for i in items]
    known = (
        set(
            session.scalars(
                select(Message.source_key).where(
                    Message.mailbox_id == mailbox.id, Message.source_key.in_(keys)
                )
            )
        )
        if keys
        else set()
    )
    results: list[IngestResult | None] = []
    pending: list[_Pending] = []
    for item in items:
        if item.source_key in known:
            results.append(IngestResult(None, None, False, "same source identity"))
            continue
        known.add(item.source_key)
        ready = parsed.get(item.source_key) if parsed and unreadable is None else None
        message = ready or _parse(item.raw, item.source_key, options, unreadable)
        sha = hashlib.sha256(item.raw).hexdigest()
        # Without a usable Message-ID the stand-in comes from the bytes, so a re-fetch of an
        # unreadable message (new UIDVALIDITY) is recognised as a repeat too. A Message-ID
        # without "@" (cut short, made up) is not trusted to tell messages apart: two
        # different mails both truncated to "<f" must not be taken for one.
        trusted = message.message_id if message.message_id and "@" in message.message_id else None
        mid = (trusted or f"{sha[:32]}@inbox.generated")[:998]
        pending.append(_Pending(item, item.raw, sha, message, mid))
        results.append(None)
    with session.no_autoflush:
        batch = _Batch(session, mailbox, pending)
        stored = iter(pending)
        for i, result in enumerate(results):
            if result is not None:
                continue
            p = next(stored)
            if p.message_id in batch.stored_mids or isinstance(
                batch.thread_of_mid.get(p.message_id), Thread
            ):
                results[i] = IngestResult(None, None, False, "same Message-ID")
                continue
            results[i] = _store_one(batch, blobs, p, now=now, options=options)
    session.flush()
    return [r for r in results if r is not None]


def known_source_keys(session: Session, mailbox_id: int, keys: Sequence[str]) -> set[str]:
    """The source keys among ``keys`` already stored in the mailbox."""
    if not keys:
        return set()
    return set(
        session.scalars(
            select(Message.source_key).where(
                Message.mailbox_id == mailbox_id, Message.source_key.in_(list(keys))
            )
        )
    )


def parse_items(items: Iterable[RawItem], options: IngestOptions) -> dict[str, ParsedMessage]:
    """Parse items ahead of their transaction (parsing needs no database), by source key."""
    return {i.source_key: _parse(i.raw or b"\r\n", i.source_key, options) for i in items}


def ingest_items(
    session: Session,
    blobs: BlobStore,
    mailbox: Mailbox,
    items: Iterable[RawItem],
    *,
    now: datetime,
    options: IngestOptions = IngestOptions(),
    parsed: Mapping[str, ParsedMessage] | None = None,
) -> BatchCounts:
    """Ingest a batch and count what happened; the caller commits once for the batch."""
    counts = BatchCounts()
    results = ingest_batch(session, blobs, mailbox, items, now=now, options=options, parsed=parsed)
    for result in results:
        if not result.created:
            counts.duplicates += 1
            continue
        counts.imported += 1
        if result.warnings:
            counts.with_warnings += 1
    return counts


def ingest_quarantined(
    session: Session,
    blobs: BlobStore,
    mailbox: Mailbox,
    item: RawItem,
    *,
    error: str,
    now: datetime,
) -> BatchCounts:
    """Store one message that could not be stored as read: raw bytes, flagged, with ``error``.

    It gets a thread of its own and a Message-ID made from its bytes, so that a repeat
    fetch is still recognised. ``reprocess`` reads it again later (after an upgrade).
    """
    problem = clean(f"{QUARANTINED}{error}", 1000)
    results = ingest_batch(session, blobs, mailbox, [item], now=now, unreadable=problem)
    created = sum(r.created for r in results)
    return BatchCounts(imported=created, duplicates=len(results) - created, with_warnings=created)


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
    """Store one raw message (a batch of one); ``received_at`` None means "use the Date header"."""
    item = RawItem(source_key, raw, received_at, from_sent_folder)
    return ingest_batch(session, blobs, mailbox, [item], now=now, options=options)[0]


def cursor_for(session: Session, mailbox_id: int, name: str) -> SourceCursor:
    """The named cursor of a mailbox's source (created at its start), for the caller to move."""
    cursor = session.scalar(
        select(SourceCursor).where(SourceCursor.mailbox_id == mailbox_id, SourceCursor.name == name)
    )
    if cursor is None:
        cursor = SourceCursor(
            mailbox_id=mailbox_id, name=name, uidvalidity=None, last_uid=0, state={}
        )
        session.add(cursor)
        session.flush()
    return cursor


def raw_source(session: Session, sha256: str) -> bytes | None:
    """The raw bytes of a stored message, exactly as received."""
    return session.scalar(select(RawMessage.data).where(RawMessage.sha256 == sha256))

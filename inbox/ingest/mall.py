"""Storing EC-mall conversations: one thread per inquiry, each message once.

A conversation from ``inbox.sources.rakuten``/``yahoo`` becomes the thread whose
``external_ref`` is its inquiry/topic id; each post becomes the message whose
``source_key`` is the mall's own identity. Our own replies, stored at enqueue with a
temporary key, are matched to the mall's copy here, so a reply never shows twice.
Polling (the cursor "mall", moved only with the step that completes a window) is
``inbox.jobs.mall_poll``; this module is given a session and stores.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.ingest.store import BatchCounts, _update_thread
from inbox.models import (
    Attachment,
    Contact,
    Direction,
    Event,
    Mailbox,
    Message,
    OutboxItem,
    OutboxStatus,
    Status,
    Thread,
)
from inbox.sources.mall_http import (
    CLOCK_SKEW,
    MallConversation,
    MallFile,
    MallPost,
    same_body,
)
from inbox.storage import BlobStore

log = logging.getLogger(__name__)

CURSOR = "mall"
PENDING_PREFIX = "out:"  # source_key of our own reply until the mall's copy is seen

# Called when the mall's copy shows that a reply still queued (or failed) did reach the
# customer: the delivery's consequences (status, deadline, history). Filled by ``inbox.wiring``.
ON_RECONCILED: list[Callable[[Session, OutboxItem, datetime], None]] = []
# Called when the mall's copy changed a thread's status (completed in the mall: resolved; answered
# in the mall: the after-reply status), after the change is flushed. Filled by ``inbox.wiring``.
ON_MALL_STATUS: list[Callable[[Session, Thread, datetime], None]] = []


# -- storing ---------------------------------------------------------------------------------


@dataclass
class StoreContext:
    blobs: BlobStore
    now: datetime
    fetch_file: Callable[[MallFile], bytes]


def store_conversation(session: Session, mailbox: Mailbox, conv: MallConversation, ctx: StoreContext) -> BatchCounts:
    """Upsert the thread of ``conv`` and add every post not stored yet. Flushes; the caller commits."""
    counts = BatchCounts()
    prior = session.scalar(select(Thread.external_meta).where(
        Thread.mailbox_id == mailbox.id, Thread.external_ref == conv.ref))
    thread = _thread(session, mailbox, conv)
    answered = False  # a reply typed in the mall's back office was stored now
    for post in sorted(conv.posts, key=lambda p: (p.posted_at, p.key)):
        existing = session.scalar(
            select(Message).where(Message.mailbox_id == mailbox.id, Message.source_key == post.key))
        if existing is not None:
            if post.deleted and not existing.deleted_by_source:
                existing.deleted_by_source, existing.text, existing.new_text = True, "", ""
                session.add(Event(thread_id=thread.id, kind="message_deleted_by_source",
                                  data={"message": existing.id}))
            counts.duplicates += 1
            continue
        if not post.inbound and _adopt_pending(session, thread, post, ctx.now):
            counts.duplicates += 1
            continue
        if _add_post(session, mailbox, thread, conv, post, ctx):
            counts.imported += 1
            answered = not post.inbound
        else:
            counts.duplicates += 1
    _follow_mall(session, mailbox, thread, conv, bool((prior or {}).get("completed")), answered, ctx.now)
    return counts


def _follow_mall(session: Session, mailbox: Mailbox, thread: Thread, conv: MallConversation,
                 was_completed: bool, answered: bool, now: datetime) -> None:
    """Keep the thread's status in step with what was done in the mall's own back office.

    Completed there (RMS, ストアクリエイターPro): resolved. Answered there, with that answer the
    newest message: the channel's after-reply status (the deadline is cleared by ``_answered``).
    """
    before = thread.status
    if conv.meta.get("completed") and not was_completed:
        after, why = Status.RESOLVED, "completed in the mall"
    elif answered and mailbox.status_after_reply is not None and (
        thread.last_inbound_at is None or _newest_outbound(session, thread) >= thread.last_inbound_at
    ):
        after, why = mailbox.status_after_reply, "reply in the mall"
    else:
        return
    if before == after or (before == Status.RESOLVED and why == "reply in the mall"):
        return
    thread.status = after
    session.add(Event(thread_id=thread.id, kind="status_changed",
                      data={"from": before.value, "to": after.value, "by": why}))
    session.flush()
    for hook in ON_MALL_STATUS:
        hook(session, thread, now)


def _newest_outbound(session: Session, thread: Thread) -> datetime:
    return session.scalar(select(Message.received_at).where(
        Message.thread_id == thread.id, Message.direction == Direction.OUTBOUND)
        .order_by(Message.received_at.desc()).limit(1))


def _contact(session: Session, address: str, name: str) -> Contact | None:
    address = address.strip().lower()[:320]
    if not address:
        return None
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is None:
        try:
            with session.begin_nested():
                contact = Contact(address=address, name=name[:255])
                session.add(contact)
        except IntegrityError:  # another process added the same customer meanwhile
            contact = session.scalar(select(Contact).where(Contact.address == address))
    elif name and not contact.name:
        contact.name = name[:255]
    return contact


def _thread(session: Session, mailbox: Mailbox, conv: MallConversation) -> Thread:
    def find() -> Thread | None:
        return session.scalar(select(Thread).where(
            Thread.mailbox_id == mailbox.id, Thread.external_ref == conv.ref))

    meta = {k: v for k, v in conv.meta.items() if v is not None}
    if conv.updated_at is not None:
        meta["last_update"] = conv.updated_at.isoformat()
    thread = find()
    if thread is not None:
        if {**(thread.external_meta or {}), **meta} != (thread.external_meta or {}):
            thread.external_meta = {**(thread.external_meta or {}), **meta}
        return thread
    contact = _contact(session, conv.customer_address, conv.customer_name)
    first = min(conv.posts, key=lambda p: p.posted_at) if conv.posts else None
    try:
        with session.begin_nested():
            thread = Thread(
                mailbox_id=mailbox.id, subject=conv.subject, normalized_subject=conv.subject[:255],
                contact_id=contact.id if contact else None,
                status=Status.OPEN if first is not None and not first.inbound else Status.NEW,
                last_activity_at=first.posted_at if first else datetime.now().astimezone(),
                message_count=0, external_ref=conv.ref, external_meta=meta)
            session.add(thread)
    except IntegrityError:  # another scheduler created it meanwhile
        thread = find()
        assert thread is not None
    return thread


def _add_post(session: Session, mailbox: Mailbox, thread: Thread, conv: MallConversation,
              post: MallPost, ctx: StoreContext) -> bool:
    created = thread.message_count == 0 and not session.scalar(
        select(Message.id).where(Message.thread_id == thread.id).limit(1))
    if post.inbound:
        name, address = conv.customer_name, conv.customer_address
    else:
        name, address = mailbox.display_name or mailbox.name, mailbox.address or ""
    message = Message(
        thread_id=thread.id, mailbox_id=mailbox.id,
        direction=Direction.INBOUND if post.inbound else Direction.OUTBOUND,
        source_key=post.key, subject=thread.subject, from_name=name[:255], from_address=address[:320],
        sent_at=post.posted_at, received_at=post.posted_at, text=post.body, new_text=post.body,
        deleted_by_source=post.deleted)
    for file in post.files:
        data = ctx.fetch_file(file)
        digest = ctx.blobs.put(data, hashlib.sha256(data).hexdigest())
        message.attachments.append(Attachment(
            filename=file.filename[:512],
            content_type=mimetypes.guess_type(file.filename)[0] or "application/octet-stream",
            size=len(data), sha256=digest))
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # the same mall message was stored meanwhile
        return False
    _update_thread(session, thread, message, created=created, found_by="mall reference", now=ctx.now)
    if not post.inbound:
        _answered(session, thread, message)
    return True


def _answered(session: Session, thread: Thread, message: Message) -> None:
    """A reply made in the mall's own back office answers the customer: the rule deadline ends."""
    if thread.due_at is None or thread.due_set_by_hand:
        return
    if thread.last_inbound_at is not None and message.received_at < thread.last_inbound_at:
        return
    thread.due_at = None
    session.add(Event(thread_id=thread.id, kind="deadline_cleared",
                      data={"by": "reply in the mall", "message": message.id}))


def _adopt_pending(session: Session, thread: Thread, post: MallPost, now: datetime) -> bool:
    """Give our own stored reply the mall's key when the mall's copy is ours (same text, after we queued it)."""
    pending = session.scalars(
        select(Message).where(Message.thread_id == thread.id, Message.direction == Direction.OUTBOUND,
                              Message.source_key.like(f"{PENDING_PREFIX}%"))
        .order_by(Message.created_at, Message.id))
    for message in pending:
        item = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
        posted = (item.payload or {}).get("posted_at") if item is not None else None
        if not same_body(message.text, post.body):
            continue
        if posted and datetime.fromisoformat(posted) != post.posted_at:
            continue
        if not posted and post.posted_at < message.created_at - CLOCK_SKEW:
            continue
        message.source_key = post.key
        message.sent_at = post.posted_at
        if item is not None and item.status != OutboxStatus.SENT:
            previous = item.status
            item.status, item.sent_at, item.last_error = OutboxStatus.SENT, now, None
            item.claimed_by = item.claimed_until = None
            session.add(Event(thread_id=thread.id, kind="send_reconciled",
                              data={"outbox": item.id, "from": previous.value, "key": post.key}))
            for hook in ON_RECONCILED:
                hook(session, item, now)
        return True
    return False

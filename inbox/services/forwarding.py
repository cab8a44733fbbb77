"""Forwarding one message, or a whole thread, to any address from the mailbox's address.

The forward goes through the outbox like a reply (outbox kind "reply", delivered by
``inbox.senders.mail_reply``) and is recorded on the thread as an outbound message of kind
``forward``: it is no answer to the customer, so it never changes the thread's status or
deadline (``delivery.delivered`` acts on ordinary replies only) and is no double reply. Its
Message-ID is signed with the thread and its subject carries the ticket token, so the
forwarded party's answer threads back into the same thread. Knows nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.config import Settings
from inbox.ingest.store import raw_source
from inbox.models import Direction, Event, Message, MessageKind, OutboxItem, Thread, User
from inbox.outgoing.compose import (
    OutgoingAttachment,
    attribution_line,
    build_mail,
    make_message_id,
    parse_addresses,
    quote,
    references_for,
    with_ticket_token,
)
from inbox.outgoing.headers import HeaderProblem, clean_text
from inbox.services import outbox
from inbox.services.errors import InvalidInput, NotFound
from inbox.storage import BlobStore

MODES = ("attach", "inline")
MAX_NOTE = 100_000


@dataclass
class Forward:
    """What the forward form sends."""

    to: str
    note: str  # the agent's words above the forwarded mail
    mode: str  # "attach": the original as .eml (message/rfc822); "inline": quoted in the text
    message_id: int | None  # one message of the thread, or None for the whole thread
    key: str  # one per opened form: a double submit forwards once


def valid_addresses(text: str) -> list[tuple[str, str]]:
    """The addresses typed in a field, each checked with email-validator (syntax only, no
    SMTPUTF8). Raises InvalidInput naming the first bad one, or when there is none."""
    found, bad = parse_addresses(text)
    for _name, address in found:
        try:
            validate_email(
                address,
                check_deliverability=False,
                allow_smtputf8=False,
                globally_deliverable=False,
                test_environment=True,
            )
        except EmailNotValidError:
            bad.append(address)
    if bad:
        raise InvalidInput(
            "Not a valid mail address: %(address)s", address=clean_text(bad[0])[:200]
        )
    if not found:
        raise InvalidInput("Give at least one address in To.")
    return found


def _messages(session: Session, thread: Thread, message_id: int | None) -> list[Message]:
    query = (
        select(Message)
        .where(Message.thread_id == thread.id, Message.direction != Direction.NOTE)
        .order_by(Message.received_at, Message.id)
    )
    if message_id is not None:
        query = query.where(Message.id == message_id)
    found = list(session.scalars(query))
    if not found:
        raise NotFound("This message does not exist on this thread.")
    return found


def _raw(session: Session, message: Message, blobs: BlobStore) -> bytes | None:
    if not message.raw_sha256:
        return None
    raw = raw_source(session, message.raw_sha256)
    if raw is None and blobs.exists(message.raw_sha256):
        raw = blobs.get(message.raw_sha256)
    return raw


def forward(
    session: Session,
    thread: Thread,
    author: User,
    form: Forward,
    *,
    now: datetime,
    settings: Settings,
    blobs: BlobStore,
) -> Message:
    """Record the forward on ``thread`` and queue it; flushes, never commits.

    The same ``form.key`` twice returns the first forward. Raises InvalidInput (bad address,
    mode, mailbox without a sending address) and NotFound (a message not on the thread)."""
    key = f"forward:{thread.id}:{form.key[:64]}"
    existing = session.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == key))
    if existing is not None and existing.message_row_id is not None:
        return session.get(Message, existing.message_row_id)
    if form.mode not in MODES:
        raise InvalidInput("Choose how to forward: attached as a mail file or quoted in the text.")
    if len(form.note) > MAX_NOTE:
        raise InvalidInput("The message is too long.")
    mailbox = thread.mailbox
    if not mailbox.address or "@" not in mailbox.address:
        raise InvalidInput("This mailbox has no sending address.")
    to = valid_addresses(form.to)
    originals = _messages(session, thread, form.message_id)
    token = settings.ticket_token_for(thread.id)
    subject = with_ticket_token(
        f"Fwd: {clean_text(thread.subject or originals[-1].subject)}",
        token,
        settings.ticket_pattern,
    )
    text = form.note.replace("\r\n", "\n").rstrip()
    attachments: list[OutgoingAttachment] = []
    for n, original in enumerate(originals, 1):
        raw = _raw(session, original, blobs) if form.mode == "attach" else None
        if raw is not None:
            attachments.append(OutgoingAttachment(f"message-{n}.eml", "message/rfc822", raw))
            continue
        header = attribution_line(
            original.sent_at or original.received_at,
            original.from_name or original.from_address,
            mailbox.timezone,
        )
        text += "\n\n---------- Forwarded message ----------\n"
        text += f"Subject: {original.subject}\n" + quote(
            original.text or original.new_text or "", header
        )
    last = originals[-1]
    parent_id = (
        last.message_id
        if last.message_id and not last.message_id.endswith("@inbox.generated")
        else None
    )
    references = references_for(last.references or [], parent_id)
    domain = mailbox.address.rsplit("@", 1)[-1]
    message_id = make_message_id(thread.id, domain, settings.secret_key)
    try:
        built = build_mail(
            from_=(mailbox.display_name or "", mailbox.address),
            to=to,
            cc=[],
            subject=subject,
            text=text + "\n",
            message_id=message_id,
            date=now,
            in_reply_to=parent_id,
            references=references,
            attachments=attachments,
            charset=mailbox.outbound_charset or "utf-8",
            tz=mailbox.timezone,
        )
    except HeaderProblem as exc:
        raise InvalidInput(
            "This forward cannot be sent: %(reason)s", reason=str(exc)[:200]
        ) from exc
    message = Message(
        thread_id=thread.id,
        mailbox_id=mailbox.id,
        direction=Direction.OUTBOUND,
        kind=MessageKind.FORWARD,
        subject=clean_text(subject),
        from_name=(mailbox.display_name or "")[:255],
        from_address=mailbox.address,
        to=[{"name": n, "address": a} for n, a in to],
        cc=[],
        sent_at=now,
        received_at=now,
        text=text,
        new_text=text,
        author_id=author.id,
        created_at=now,
        message_id=message_id,
        in_reply_to=parent_id,
        references=references,
        raw_sha256=blobs.put(built.raw),
    )
    session.add(message)
    session.flush()
    item = outbox.enqueue(
        session,
        kind="reply",
        idempotency_key=key,
        now=now,
        mail_from=mailbox.address,
        recipients=list(dict.fromkeys(a for _n, a in to)),
        raw=built.raw,
        payload={"charset": built.charset, "charset_note": built.charset_note, "forward": True},
        mailbox_id=mailbox.id,
        thread_id=thread.id,
        message_row_id=message.id,
    )
    message.source_key = f"out:{item.id}"
    thread.message_count = (thread.message_count or 0) + 1
    session.add(
        Event(
            thread_id=thread.id,
            actor_id=author.id,
            kind="forwarded",
            data={
                "message": message.id,
                "outbox": item.id,
                "to": [a for _n, a in to],
                "mode": form.mode,
                "of": form.message_id,
            },
        )
    )
    return message

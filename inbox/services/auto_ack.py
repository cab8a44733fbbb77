"""Auto-acknowledgement (自動返信): one templated answer per new thread, sent through the outbox.

Settings per mailbox, in ``Mailbox.settings``: ``auto_ack_enabled``, ``auto_ack_open_text``
(sent inside business hours), ``auto_ack_closed_text`` (outside them; the open text when
empty) and ``auto_ack_interval_minutes`` (the loop guard: at most one acknowledgement to the
same address per mailbox within that many minutes). Placeholders: ``{ticket}`` (the ticket
token the ingest recognises in a subject, e.g. ``[#123]``), ``{next_business_open}`` /
``{next_business_open_en}`` (the next opening from the mailbox calendar, in Japanese or
English), ``{subject}`` and ``{name}`` (the customer's). Other braces are left as written.

Sent only for a new thread whose first message is an ordinary inbound mail (never to an
auto-reply, bounce or list/bulk mail, as ``inbox.ingest.classify`` decides from
Auto-Submitted, X-Auto-Response-Suppress, Precedence, List-Id...), never to no-reply
addresses (noreply, mailer-daemon, postmaster, ...) nor to the mailbox's own address, and
never twice for a thread (``AutoAck.thread_id`` is unique; the outbox key is per thread). The
acknowledgement is an outbound ``Message`` of kind AUTO_REPLY on the thread (so it shows in
the conversation) with ``Auto-Submitted: auto-replied`` and ``X-Auto-Response-Suppress: All``;
it is no answer: it neither changes the status nor meets the deadline
(``inbox.services.delivery`` and ``inbox.services.deadlines`` count only NORMAL messages).

Mall mailboxes (Rakuten, Yahoo) take the same settings: the text goes through the mall's reply
channel (``replies.REPLY_CHANNELS[kind]``, ``inbox.services.mall_replies``), whose own limits
(length, characters per line, links) are checked first: a text the mall would refuse is not
queued, and the thread's history says why. The mall deliverer posts it once (rate limits and
lost answers are its business) and the next poll matches the mall's copy. The loop guard keys
on the inquiry's customer (the mall's masked address). Knows nothing of HTTP or SMTP.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.ingest.store import StoredMessage
from inbox.models import (
    AutoAck,
    Direction,
    Event,
    Mailbox,
    MailboxKind,
    Message,
    MessageKind,
    OutboxItem,
    Status,
    Thread,
)
from inbox.outgoing.compose import build_mail, reply_subject
from inbox.outgoing.headers import clean_text
from inbox.services import outbox
from inbox.services.business_hours import BusinessCalendar
from inbox.services.deadlines import calendar_for
from inbox.services.replies import REPLY_CHANNELS, OutgoingReply

KIND = "auto_ack"  # the outbox kind; delivered like a reply (SMTP, Sent folder)
HEADERS = (("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"))
MAIL_KINDS = (MailboxKind.IMAP, MailboxKind.LOCAL)
DEFAULT_INTERVAL_MINUTES = 60
MAX_INTERVAL_MINUTES = 60 * 24 * 30
MAX_TEXT = 10_000
PLACEHOLDERS = ("ticket", "next_business_open", "next_business_open_en", "subject", "name")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")
# Local parts that never read mail (or would answer with more automatic mail).
_NO_REPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|mail[-_.]?daemon|postmaster"
    r"|bounces?|nobody|listserv|majordomo|owner-.*|.*-request|.*-bounces?)(?:[-+_.].*)?$",
    re.IGNORECASE,
)
_WEEKDAYS_JA = "月火水木金土日"


def _(text: str) -> str:
    """Marks a text for the translation catalogue; the web layer translates it."""
    return text


@dataclass(frozen=True)
class AckSettings:
    enabled: bool = False
    open_text: str = ""
    closed_text: str = ""
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES

    @classmethod
    def of(cls, mailbox: Mailbox) -> AckSettings:
        s = mailbox.settings or {}
        try:
            interval = int(s.get("auto_ack_interval_minutes") or DEFAULT_INTERVAL_MINUTES)
        except (TypeError, ValueError):
            interval = DEFAULT_INTERVAL_MINUTES
        return cls(
            enabled=bool(s.get("auto_ack_enabled")),
            open_text=str(s.get("auto_ack_open_text") or ""),
            closed_text=str(s.get("auto_ack_closed_text") or ""),
            interval_minutes=max(interval, 1),
        )


def settings_problem(settings: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """Why the auto-acknowledgement settings are unusable: (msgid, settings key, params), or None."""
    raw = settings.get("auto_ack_interval_minutes")
    try:
        interval = DEFAULT_INTERVAL_MINUTES if raw in (None, "") else int(raw)
    except (TypeError, ValueError):
        interval = -1
    if not 1 <= interval <= MAX_INTERVAL_MINUTES:
        return (_("The interval between acknowledgements to the same sender must be between 1 and %(max)s minutes."),
                "auto_ack_interval_minutes", {"max": MAX_INTERVAL_MINUTES})
    for key in ("auto_ack_open_text", "auto_ack_closed_text"):
        text = str(settings.get(key) or "")
        if len(text) > MAX_TEXT:
            return _("The text is too long (at most %(max)s characters)."), key, {"max": MAX_TEXT}
        unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(PLACEHOLDERS))
        if unknown:
            return (_("Unknown placeholder {%(name)s}. Use {ticket}, {next_business_open}, {next_business_open_en}, {subject} or {name}."),
                    key, {"name": unknown[0]})
    if settings.get("auto_ack_enabled") and not str(settings.get("auto_ack_open_text") or "").strip():
        return _("Write the acknowledgement text before turning it on."), "auto_ack_open_text", {}
    return None


def is_no_reply(address: str) -> bool:
    """An address that never reads its mail (noreply@, mailer-daemon@, list-request@, ...)."""
    local, at, domain = (address or "").strip().rpartition("@")
    return not at or not local or not domain or bool(_NO_REPLY.match(local))


def business_state(cal: BusinessCalendar, at: datetime) -> tuple[bool, datetime | None]:
    """(open at ``at``, the next opening: ``at`` itself when open; None when the calendar has
    no working day ahead)."""
    try:
        opens = cal.add_business_hours(at, 0)
    except ValueError:
        return False, None
    return opens == at, opens


def format_opening(when: datetime | None, cal: BusinessCalendar, language: str) -> str:
    """``when`` in the team's zone: 「12月1日(月) 9:00」 or "Monday 1 December, 09:00"."""
    if when is None:
        return ""
    local = cal.to_local(when)
    if language == "ja":
        return f"{local.month}月{local.day}日({_WEEKDAYS_JA[local.weekday()]}) {local.hour}:{local.minute:02d}"
    return f"{local:%A} {local.day} {local:%B}, {local:%H:%M}"


def render(text: str, values: dict[str, str]) -> str:
    """``text`` with each known ``{placeholder}`` replaced; anything else stays as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _recipient(mailbox: Mailbox, thread: Thread, message: Message) -> tuple[str, str]:
    """Whom to acknowledge: the first Reply-To address, else the sender; in a mall, the
    inquiry's customer (the mall's masked address)."""
    if mailbox.kind not in MAIL_KINDS:
        contact = thread.contact
        return (contact.name, contact.address) if contact else (message.from_name or "", message.from_address or "")
    for a in message.reply_to or []:
        if a.get("address"):
            return a.get("name", ""), a["address"]
    return message.from_name or "", message.from_address or ""


def skip_reason(
    session: Session, mailbox: Mailbox, thread: Thread, message: Message, *, created: bool, now: datetime
) -> str | None:
    """Why no acknowledgement goes out for ``message`` (a short code), None when one should."""
    ack = AckSettings.of(mailbox)
    mall = mailbox.kind not in MAIL_KINDS
    if not ack.enabled or (mall and (mailbox.kind not in REPLY_CHANNELS or not thread.external_ref)):
        return "off"
    if not created or message.direction != Direction.INBOUND:
        return "not a new thread"
    if message.kind != MessageKind.NORMAL or thread.status in (Status.AUTOMATIC, Status.RESOLVED):
        return "automatic mail"
    if message.parse_failed or (not mall and (not mailbox.address or "@" not in mailbox.address)):
        return "cannot answer"
    _name, address = _recipient(mailbox, thread, message)
    if not mall and (is_no_reply(address) or is_no_reply(message.from_address)):
        return "no-reply sender"
    if not mall and address.lower() == mailbox.address.lower():
        return "own address"
    since = now - timedelta(minutes=ack.interval_minutes)
    recent = session.scalar(
        select(AutoAck.id).where(AutoAck.mailbox_id == mailbox.id, AutoAck.address == address.lower()[:320],
                                 AutoAck.created_at > since).limit(1)
    )
    if recent is not None:
        return "loop guard"
    return None


def acknowledge(
    session: Session,
    thread: Thread,
    message: Message,
    *,
    created: bool,
    now: datetime,
    ticket_token: str,
    ticket_pattern: str,
) -> OutboxItem | None:
    """Queue the acknowledgement of ``message`` (which ``created`` ``thread``), or None when none
    is due (see ``skip_reason``). Flushes, never commits; at most once per thread."""
    mailbox = thread.mailbox or session.get(Mailbox, thread.mailbox_id)
    reason = skip_reason(session, mailbox, thread, message, created=created, now=now)
    if reason in ("loop guard", "no-reply sender"):
        session.add(Event(thread=thread, kind="auto_ack_skipped", data={"reason": reason}))
    if reason is not None:
        return None
    if session.scalar(select(AutoAck.id).where(AutoAck.thread_id == thread.id)) is not None:
        return None
    ack = AckSettings.of(mailbox)
    cal = calendar_for(mailbox)
    is_open, opening = business_state(cal, now)
    name, address = _recipient(mailbox, thread, message)
    values = {
        "ticket": ticket_token,
        "next_business_open": format_opening(opening, cal, "ja"),
        "next_business_open_en": format_opening(opening, cal, "en"),
        "subject": thread.subject or "",
        "name": name or address,
    }
    text = render(ack.open_text if is_open or not ack.closed_text.strip() else ack.closed_text, values)
    text = text.replace("\r\n", "\n").rstrip() + "\n"
    mall = mailbox.kind not in MAIL_KINDS
    if mall:
        problems = REPLY_CHANNELS[mailbox.kind].validate(text.rstrip("\n"), [])
        if problems:  # the mall would refuse it: say so on the thread instead of queueing it
            session.add(Event(thread=thread, kind="auto_ack_skipped", data={
                "reason": "mall limits", "problems": [p % getattr(p, "params", {}) for p in problems]}))
            return None
    row = AutoAck(mailbox_id=mailbox.id, thread_id=thread.id, address=address.lower()[:320], created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker acknowledged this thread meanwhile
        return None
    if mall:
        item = _queue_mall(session, mailbox, thread, message, text.rstrip("\n"), now)
    else:
        item = _queue_mail(session, mailbox, thread, message, (name, address), text, now, ticket_token, ticket_pattern)
    row.outbox_id = item.id
    item.payload = {**(item.payload or {}), "business_hours": is_open}
    thread.message_count = (thread.message_count or 0) + 1
    session.add(Event(thread_id=thread.id, kind="auto_ack_queued",
                      data={"outbox": item.id, "to": address, "business_hours": is_open}))
    return item


def _queue_mail(
    session: Session, mailbox: Mailbox, thread: Thread, message: Message, to: tuple[str, str], text: str,
    now: datetime, ticket_token: str, ticket_pattern: str,
) -> OutboxItem:
    """The acknowledgement as a mail: built now (threading headers, Auto-Submitted), sent by
    the reply deliverer (SMTP, then the Sent folder)."""
    name, address = to
    parent_id = message.message_id if message.message_id and not message.message_id.endswith("@inbox.generated") else None
    references = [r for r in [*(message.references or [])[-19:], parent_id] if r]
    domain = mailbox.address.rsplit("@", 1)[-1]
    message_id = f"inbox.ack.{thread.id}.{secrets.token_hex(8)}@{domain}"
    subject = reply_subject(thread.subject or message.subject or "", ticket_token, ticket_pattern)
    built = build_mail(
        from_=(mailbox.display_name or "", mailbox.address), to=[to], cc=[],
        subject=subject, text=text, message_id=message_id, date=now, in_reply_to=parent_id,
        references=references, charset=mailbox.outbound_charset or "utf-8", tz=mailbox.timezone,
        extra_headers=HEADERS,
    )
    ack_message = Message(
        thread_id=thread.id, mailbox_id=mailbox.id, direction=Direction.OUTBOUND,
        kind=MessageKind.AUTO_REPLY, message_id=message_id, in_reply_to=parent_id,
        references=references, subject=clean_text(subject), from_name=(mailbox.display_name or "")[:255],
        from_address=mailbox.address, to=[{"name": name, "address": address}], sent_at=now,
        received_at=now, text=text, new_text=text, created_at=now,
    )
    session.add(ack_message)
    session.flush()
    item = outbox.enqueue(
        session, kind=KIND, idempotency_key=f"{KIND}:{thread.id}", now=now, mail_from=mailbox.address,
        recipients=[address], raw=built.raw, payload={"charset": built.charset},
        mailbox_id=mailbox.id, thread_id=thread.id, message_row_id=ack_message.id,
    )
    ack_message.source_key = f"out:{item.id}"
    return item


def _queue_mall(
    session: Session, mailbox: Mailbox, thread: Thread, message: Message, text: str, now: datetime
) -> OutboxItem:
    """The acknowledgement as a mall reply: through the mall's reply channel (its limits were
    checked), posted once by the mall deliverer and matched to the mall's copy by the next poll."""
    ack_message = Message(
        thread_id=thread.id, mailbox_id=mailbox.id, direction=Direction.OUTBOUND,
        kind=MessageKind.AUTO_REPLY, subject=thread.subject or "",
        from_name=(mailbox.display_name or mailbox.name)[:255], from_address=mailbox.address or "",
        sent_at=now, received_at=now, text=text, new_text=text, created_at=now,
    )
    session.add(ack_message)
    session.flush()
    reply = OutgoingReply(
        message=ack_message, author=None, to=[], cc=[], bcc=[], subject=thread.subject or "",  # type: ignore[arg-type]
        text=text, attachments=[], parent=message, idempotency_key=f"{KIND}:{thread.id}",
        settings=None, blobs=None,  # type: ignore[arg-type]
    )
    item = REPLY_CHANNELS[mailbox.kind].enqueue(session, thread, reply, now)
    ack_message.source_key = f"out:{item.id}"
    return item


def on_stored_message(session: Session, stored: StoredMessage) -> None:
    """Ingest hook (after the deadline's): acknowledge a new thread's first customer message."""
    if not stored.created or stored.message.direction != Direction.INBOUND:
        return
    mailbox = stored.mailbox or session.get(Mailbox, stored.thread.mailbox_id)
    if mailbox is None or not AckSettings.of(mailbox).enabled:
        return
    if stored.thread.id is None:
        session.flush()  # the thread number goes into the text and the subject
    options = stored.options
    acknowledge(
        session, stored.thread, stored.message, created=True, now=stored.now,
        ticket_token=options.ticket_token.replace("{number}", str(stored.thread.id)),
        ticket_pattern=options.ticket_pattern,
    )

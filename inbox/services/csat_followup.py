"""The satisfaction follow-up mail: the survey link in its own mail, some hours after a resolution.

For mailboxes whose survey is sent as ``"followup"`` (``inbox.services.csat``), a scheduler scan
(lease ``LEASE``) finds threads resolved at least ``delay_hours`` ago and still resolved, and
queues one mail per resolution through the outbox (delivered like a reply: SMTP, Sent folder),
in the customer's language (Japanese when their first message has kana, else English). A
``CsatFollowup`` row per (thread, resolution time) makes it once per resolution, whether the
mail is queued or skipped; the outbox key is per resolution too. A thread reopened meanwhile is
no longer resolved, so nothing goes out; resolved again later, it is a new resolution. Never for
mall threads, automatic mail (the customer's last message was an auto-reply, bounce or list
mail), no-reply addresses nor the mailbox's own address. Knows nothing of HTTP.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.config import Settings
from inbox.models import (
    CsatFollowup,
    Direction,
    Event,
    Mailbox,
    Message,
    MessageKind,
    OutboxItem,
    Status,
    Thread,
    ThreadFact,
)
from inbox.outgoing.compose import build_mail, with_ticket_token
from inbox.outgoing.headers import clean_text
from inbox.services import auto_ack, claims, csat, outbox

KIND = "csat_followup"  # the outbox kind; delivered like a reply (SMTP, Sent folder)
LEASE = "csat-followup"
HEADERS = (("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All"))
LOOKBACK = timedelta(
    days=7
)  # resolutions older than delay + this are left alone (e.g. after an outage)
BATCH = 200

SUBJECT = {"ja": "ご対応についてのアンケートのお願い", "en": "How did we do?"}
BODY = {
    "ja": "お問い合わせいただきありがとうございました。\n\n今回の対応はいかがでしたか。"
    "よろしければ5段階でご評価ください（1分ほどで終わります）:\n{url}\n",
    "en": "Thank you for contacting us.\n\nHow did we do? Please rate our help from 1 to 5 "
    "(it takes a minute):\n{url}\n",
}


@dataclass
class FollowupResult:
    claimed: bool
    queued: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def _last_inbound(session: Session, thread: Thread) -> Message | None:
    return session.scalar(
        select(Message)
        .where(Message.thread_id == thread.id, Message.direction == Direction.INBOUND)
        .order_by(Message.received_at.desc(), Message.id.desc())
        .limit(1)
    )


def recipient(mailbox: Mailbox, thread: Thread, last: Message) -> tuple[str, str]:
    """The customer: the last message's Reply-To or sender, else the thread's contact."""
    name, address = auto_ack._recipient(mailbox, thread, last)
    if not address and thread.contact is not None:
        name, address = thread.contact.name or "", thread.contact.address or ""
    return name, address


def skip_reason(mailbox: Mailbox, thread: Thread, last: Message | None) -> str | None:
    """Why no follow-up goes out for this resolution (a short code), None when one should."""
    if mailbox.kind not in auto_ack.MAIL_KINDS or thread.external_ref or not csat.offered(mailbox):
        return "mall"
    if last is None or last.parse_failed or not mailbox.address or "@" not in mailbox.address:
        return "cannot answer"
    if last.kind != MessageKind.NORMAL:
        return "automatic mail"
    _name, address = recipient(mailbox, thread, last)
    if (
        not address
        or auto_ack.is_no_reply(address)
        or (last.from_address and auto_ack.is_no_reply(last.from_address))
    ):
        return "no-reply sender"
    if address.lower() == mailbox.address.lower():
        return "own address"
    return None


def due(
    session: Session, mailbox: Mailbox, *, now: datetime, limit: int = BATCH
) -> list[tuple[Thread, datetime]]:
    """(thread, resolution time) of the mailbox's threads resolved at least the delay ago, still
    resolved, and not yet followed up for that resolution."""
    delay = timedelta(hours=csat.settings_of(mailbox).delay_hours)
    done = (
        select(CsatFollowup.thread_id)
        .where(
            CsatFollowup.thread_id == ThreadFact.thread_id,
            CsatFollowup.resolved_at == ThreadFact.resolved_at,
        )
        .exists()
    )
    rows = session.execute(
        select(Thread, ThreadFact.resolved_at)
        .join(ThreadFact, ThreadFact.thread_id == Thread.id)
        .where(
            ThreadFact.mailbox_id == mailbox.id,
            Thread.status == Status.RESOLVED,
            ThreadFact.resolved_at <= now - delay,
            ThreadFact.resolved_at > now - delay - LOOKBACK,
            ~done,
        )
        .order_by(ThreadFact.resolved_at, Thread.id)
        .limit(limit)
    )
    return [(thread, resolved_at) for thread, resolved_at in rows]


def follow_up(
    session: Session, thread: Thread, resolved_at: datetime, *, settings: Settings, now: datetime
) -> OutboxItem | None:
    """Queue the follow-up of this resolution, or record why not. Flushes, never commits; None
    when skipped or when another process decided this resolution first."""
    mailbox = thread.mailbox
    last = _last_inbound(session, thread)
    reason = skip_reason(mailbox, thread, last)
    language = csat.thread_language(session, thread)
    row = CsatFollowup(
        thread_id=thread.id,
        resolved_at=resolved_at,
        mailbox_id=mailbox.id,
        skipped=reason,
        language=language,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    if reason is not None or last is None:
        return None
    chosen = csat.settings_of(mailbox)
    url = csat.survey_url(mailbox, thread, settings.secret_key, now) + f"?lang={language}"
    body = (chosen.text(f"text_{language}") or BODY[language]).replace("{url}", url).rstrip() + "\n"
    name, address = recipient(mailbox, thread, last)
    token = settings.ticket_token_for(thread.id)
    custom_subject = chosen.text(f"subject_{language}")
    subject = with_ticket_token(custom_subject or SUBJECT[language], token, settings.ticket_pattern)
    parent_id = (
        last.message_id
        if last.message_id and not last.message_id.endswith("@inbox.generated")
        else None
    )
    references = [r for r in [*(last.references or [])[-19:], parent_id] if r]
    message_id = (
        f"inbox.csat.{thread.id}.{secrets.token_hex(8)}@{mailbox.address.rsplit('@', 1)[-1]}"
    )
    built = build_mail(
        from_=(mailbox.display_name or "", mailbox.address),
        to=[(name, address)],
        cc=[],
        subject=subject,
        text=body,
        message_id=message_id,
        date=now,
        in_reply_to=parent_id,
        references=references,
        charset=mailbox.outbound_charset or "utf-8",
        tz=mailbox.timezone,
        extra_headers=HEADERS,
    )
    message = Message(
        thread_id=thread.id,
        mailbox_id=mailbox.id,
        direction=Direction.OUTBOUND,
        kind=MessageKind.AUTO_REPLY,
        message_id=message_id,
        in_reply_to=parent_id,
        references=references,
        subject=clean_text(subject),
        from_name=(mailbox.display_name or "")[:255],
        from_address=mailbox.address,
        to=[{"name": name, "address": address}],
        sent_at=now,
        received_at=now,
        text=body,
        new_text=body,
        created_at=now,
    )
    session.add(message)
    session.flush()
    item = outbox.enqueue(
        session,
        kind=KIND,
        idempotency_key=f"{KIND}:{thread.id}:{int(resolved_at.timestamp())}",
        now=now,
        mail_from=mailbox.address,
        recipients=[address],
        raw=built.raw,
        payload={"charset": built.charset, "language": language},
        mailbox_id=mailbox.id,
        thread_id=thread.id,
        message_row_id=message.id,
    )
    message.source_key = f"out:{item.id}"
    row.outbox_id = item.id
    thread.message_count = (thread.message_count or 0) + 1
    session.add(
        Event(
            thread_id=thread.id,
            kind="csat_followup_queued",
            data={"outbox": item.id, "to": address, "language": language},
        )
    )
    session.flush()
    return item


def followup_mailboxes(session: Session) -> list[Mailbox]:
    boxes = session.scalars(select(Mailbox).where(Mailbox.active).order_by(Mailbox.id))
    return [m for m in boxes if csat.offered(m) and csat.settings_of(m).send == "followup"]


def scan(session: Session, *, settings: Settings, now: datetime) -> FollowupResult:
    """One pass over every follow-up mailbox (at most ``BATCH`` resolutions each); flushes only."""
    result = FollowupResult(claimed=True)
    for mailbox in followup_mailboxes(session):
        for thread, resolved_at in due(session, mailbox, now=now):
            if follow_up(session, thread, resolved_at, settings=settings, now=now) is not None:
                result.queued += 1
            else:
                row = session.get(CsatFollowup, (thread.id, resolved_at))
                if row is not None and row.skipped:
                    result.skipped[row.skipped] = result.skipped.get(row.skipped, 0) + 1
    return result


def run(runtime: Any, *, owner: str, now: datetime) -> FollowupResult:
    """Scheduler entry point: take the lease, scan, commit; a busy lease means skip."""
    settings: Settings = runtime.settings
    with runtime.Session() as session:
        claimed = claims.try_claim(session, LEASE, owner, now=now, ttl=timedelta(minutes=10))
        session.commit()
    if not claimed:
        return FollowupResult(claimed=False)
    try:
        with runtime.Session() as session:
            result = scan(session, settings=settings, now=now)
            if claims.holds(session, LEASE, owner, now=now):
                session.commit()
            else:
                session.rollback()
        return result
    finally:
        with runtime.Session() as session:
            claims.release(session, LEASE, owner)
            session.commit()

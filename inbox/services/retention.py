"""Retention and erasure: remove what inbox keeps about customers when it must.

Two jobs share one set of primitives:

- **Retention** (per mailbox, off by default; ``mailbox.settings["retention"] = {"months": N,
  "action": "delete" | "anonymise"}``): resolved threads whose last activity is older than N
  months are deleted (with their KPI facts) or anonymised (the thread row and its KPI facts
  stay; its messages, raw sources, attachments and everything naming the customer go).
  ``run`` takes the database lease "retention" so two schedulers never do it twice.
- **Erasure** of one customer on request (APPI): every thread whose customer is the address
  is anonymised as above, the address's own messages in other threads are deleted, and the
  contact is removed. KPI facts (thread_facts, reply_facts) stay, so report totals do not move.

Deleting a message removes, through the database, its search index entries (the FTS and
bigram triggers on SQLite, the expression indexes on PostgreSQL), its attachments' rows and
its VoC terms. Raw sources (``raw_messages``) and attachment blobs are content-addressed and
may be shared by other messages: a raw source goes with the last message that names it, and
a blob file only once no attachment or message names it any more. Files are not part of the
transaction, so the services return the candidate blobs and ``remove_blobs`` deletes them
after the caller committed, checking the references once more.

Services here never commit, except ``run``, the scheduler's entry point (as alerts.run_scan).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import perf_counter
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from inbox.models import (
    Alert,
    ApprovalRequest,
    Attachment,
    AutoAck,
    Contact,
    CsatAnswer,
    Event,
    Mailbox,
    Message,
    MessageTerm,
    Notification,
    OutboxItem,
    OutboxStatus,
    RawMessage,
    Status,
    Thread,
    ThreadOrderNumber,
    WebhookDelivery,
)
from inbox.services import audit, claims, customer_links, customers, job_runs
from inbox.services.errors import InvalidInput
from inbox.storage import BlobStore

log = logging.getLogger(__name__)

LEASE = "retention"
ACTIONS = ("delete", "anonymise")
MAX_MONTHS = 1200
CHUNK = 500  # ids per IN (...) list: below SQLite's variable limit


@dataclass
class Counts:
    threads_deleted: int = 0
    threads_anonymised: int = 0
    messages: int = 0
    attachments: int = 0
    raw_sources: int = 0
    message_terms: int = 0
    outbox_items: int = 0
    contacts: int = 0
    kpi_facts_kept: int = 0
    blob_candidates: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if k != "blob_candidates"}

    def add(self, other: Counts) -> None:
        for key, value in other.as_dict().items():
            setattr(self, key, getattr(self, key) + value)
        self.blob_candidates |= other.blob_candidates


# --- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    months: int
    action: str


def policy(mailbox: Mailbox) -> Policy | None:
    """The mailbox's retention policy, None when off (the default) or unreadable."""
    raw = (mailbox.settings or {}).get("retention") or {}
    try:
        months, action = int(raw.get("months") or 0), raw.get("action")
    except (TypeError, ValueError, AttributeError):
        return None
    if months <= 0 or action not in ACTIONS:
        return None
    return Policy(months, action)


def set_policy(
    session: Session, mailbox: Mailbox, months: int | None, action: str | None, *,
    actor_id: int | None, now: datetime,
) -> Policy | None:
    """Turn retention on (``months`` ≥ 1 and an action) or off (``months`` None); audited."""
    before = policy(mailbox)
    if months is None:
        mailbox.change_settings(retention=None)
    else:
        if not 1 <= months <= MAX_MONTHS:
            raise InvalidInput("Retention must be between 1 and %(max)s months.", max=MAX_MONTHS)
        if action not in ACTIONS:
            raise InvalidInput("Retention action must be delete or anonymise.")
        mailbox.change_settings(retention={"months": months, "action": action})
    after = policy(mailbox)
    audit.record(
        session, actor_id=actor_id, action="mailbox.retention", target=f"mailbox {mailbox.name}",
        changes={"retention": [_policy_text(before), _policy_text(after)]}, now=now,
    )
    return after


def save_form(
    session: Session, mailbox: Mailbox, months: str, action: str, *, actor_id: int | None, now: datetime
) -> Policy | None:
    """The settings page's values: empty months switch retention off."""
    months = (months or "").strip()
    if not months:
        return set_policy(session, mailbox, None, None, actor_id=actor_id, now=now)
    if not months.isascii() or not months.isdigit():
        raise InvalidInput("Enter the months as a whole number.")
    return set_policy(session, mailbox, int(months), action, actor_id=actor_id, now=now)


def _policy_text(p: Policy | None) -> str:
    return "off" if p is None else f"{p.action} after {p.months} months"


def months_before(now: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day if shorter)."""
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in (now.day, 30, 29, 28):
        try:
            return now.replace(year=year, month=month, day=min(now.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --- retention ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligible:
    thread_id: int
    mailbox: str
    action: str
    last_activity_at: datetime


def eligible(session: Session, *, now: datetime) -> list[Eligible]:
    """Threads that retention would delete or anonymise now, per mailbox policy, oldest first.

    Resolved only, last activity before the cutoff; a thread anonymised already (no messages
    and no customer left) is not listed again.
    """
    found: list[Eligible] = []
    for box in session.scalars(select(Mailbox).order_by(Mailbox.name)):
        p = policy(box)
        if p is None:
            continue
        stmt = select(Thread.id, Thread.last_activity_at).where(
            Thread.mailbox_id == box.id,
            Thread.status == Status.RESOLVED,
            Thread.last_activity_at < months_before(now, p.months),
        )
        if p.action == "anonymise":
            stmt = stmt.where(
                or_(Thread.contact_id.is_not(None), exists().where(Message.thread_id == Thread.id))
            )
        for thread_id, last in session.execute(stmt.order_by(Thread.last_activity_at, Thread.id)):
            found.append(Eligible(thread_id, box.name, p.action, last))
    return found


def apply(session: Session, *, now: datetime, limit: int | None = None) -> dict[str, Counts]:
    """Delete or anonymise the eligible threads (at most ``limit``), audited per mailbox.

    Returns counts per mailbox name; the caller commits, then calls ``remove_blobs``.
    """
    by_mailbox: dict[str, Counts] = {}
    for item in eligible(session, now=now)[:limit]:
        counts = by_mailbox.setdefault(item.mailbox, Counts())
        if item.action == "delete":
            counts.add(delete_threads(session, [item.thread_id]))
        else:
            counts.add(anonymise_threads(session, [item.thread_id]))
    for name, counts in by_mailbox.items():
        audit.record(
            session, actor_id=None, action="retention.run", target=f"mailbox {name}",
            changes=counts.as_dict(), now=now,
        )
    return by_mailbox


@dataclass
class RunResult:
    claimed: bool
    by_mailbox: dict[str, Counts] = field(default_factory=dict)


def run(runtime: Any, *, owner: str, now: datetime, batch: int = 200) -> RunResult:
    """Scheduler and CLI entry point: take the "retention" lease, then apply in batches.

    A busy lease means another process is at it: skip. Each batch is its own transaction,
    checked to still hold the lease before it commits, so a run taken over after a crash
    never does a batch twice; blobs are removed after each commit.
    """
    ttl = timedelta(minutes=30)
    with runtime.Session() as session:
        claimed = claims.try_claim(session, LEASE, owner, now=now, ttl=ttl)
        session.commit()
    if not claimed:
        return RunResult(claimed=False)
    result = RunResult(claimed=True)
    started = perf_counter()
    while True:
        with runtime.Session() as session:
            done = apply(session, now=now, limit=batch)
            if not done or not claims.holds(session, LEASE, owner, now=now):
                session.rollback()
                break
            session.commit()
        total = Counts()
        for name, counts in done.items():
            result.by_mailbox.setdefault(name, Counts()).add(counts)
            total.add(counts)
        remove_blobs(runtime.Session, runtime.blobs, total.blob_candidates)
    with runtime.Session() as session:
        job_runs.record(
            session, LEASE, started=now, duration=perf_counter() - started,
            result={name: c.as_dict() for name, c in result.by_mailbox.items()},
        )
        claims.release(session, LEASE, owner)
        session.commit()
    if result.by_mailbox:
        log.info("retention: %s", {n: c.as_dict() for n, c in result.by_mailbox.items()})
    return result


# --- erasure ------------------------------------------------------------------------------


def erase_customer(session: Session, address: str, *, actor_id: int | None, now: datetime) -> Counts:
    """Erase one customer's data: see the module docstring. Audited without the address
    itself (a hash of it, so that the entry can be matched to the request later).

    The caller commits, then calls ``remove_blobs`` with ``counts.blob_candidates``.
    """
    address = (address or "").strip().lower()
    if not address or len(address) > 320:
        raise InvalidInput("Give the customer's address.")
    contact_ids = list(session.scalars(select(Contact.id).where(Contact.address == address)))
    # The customer's other identities (linked by the team on their profile) are the same person.
    for contact_id in list(contact_ids):
        for other in customers.contact_ids(session, customers.primary_id(session, contact_id)):
            if other not in contact_ids:
                contact_ids.append(other)
    addresses = {address, *session.scalars(select(Contact.address).where(Contact.id.in_(contact_ids)))} if contact_ids else {address}
    thread_ids = list(session.scalars(select(Thread.id).where(Thread.contact_id.in_(contact_ids)))) if contact_ids else []
    counts = anonymise_threads(session, thread_ids, address=address)
    # Their own messages in other customers' threads (copied in, forwarded by someone).
    stray = list(session.scalars(
        select(Message.id).where(func.lower(Message.from_address).in_(sorted(addresses)))
    ))
    counts.add(_purge_messages(session, stray))
    if contact_ids:
        session.execute(update(Thread).where(Thread.contact_id.in_(contact_ids)).values(contact_id=None)
                        .execution_options(synchronize_session=False))
        customer_links.forget(session, contact_ids)
        counts.contacts += session.execute(delete(Contact).where(Contact.id.in_(contact_ids))).rowcount
    audit.record(
        session, actor_id=actor_id, action="customer.erased",
        target="address sha256:" + hashlib.sha256(address.encode()).hexdigest()[:16],
        changes=counts.as_dict(), now=now,
    )
    session.expire_all()
    return counts


# --- primitives ---------------------------------------------------------------------------


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _purge_messages(session: Session, message_ids: Sequence[int]) -> Counts:
    """Delete messages with their attachments, terms and raw sources (when no longer shared)."""
    counts = Counts()
    for ids in _chunks(message_ids):
        thread_ids = set(session.scalars(select(Message.thread_id).where(Message.id.in_(ids))))
        shas = set(session.scalars(select(Attachment.sha256).where(Attachment.message_id.in_(ids))))
        raws = set(session.scalars(
            select(Message.raw_sha256).where(Message.id.in_(ids), Message.raw_sha256.is_not(None))
        ))
        counts.attachments += session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.message_id.in_(ids))
        ) or 0
        counts.message_terms += session.scalar(
            select(func.count()).select_from(MessageTerm).where(MessageTerm.message_id.in_(ids))
        ) or 0
        for model in (OutboxItem, ApprovalRequest):
            session.execute(update(model).where(model.message_row_id.in_(ids))
                            .values(message_row_id=None).execution_options(synchronize_session=False))
        session.execute(delete(MessageTerm).where(MessageTerm.message_id.in_(ids)))
        session.execute(delete(Attachment).where(Attachment.message_id.in_(ids)))
        counts.messages += session.execute(delete(Message).where(Message.id.in_(ids))).rowcount
        still_named = set(session.scalars(select(Message.raw_sha256).where(Message.raw_sha256.in_(raws))))
        gone = raws - still_named
        if gone:
            counts.raw_sources += session.execute(
                delete(RawMessage).where(RawMessage.sha256.in_(gone))
            ).rowcount
        counts.blob_candidates |= shas | raws
        _recount(session, thread_ids)
    return counts


def _recount(session: Session, thread_ids: Iterable[int]) -> None:
    for ids in _chunks(sorted(set(thread_ids))):
        count = (select(func.count()).where(Message.thread_id == Thread.id)).scalar_subquery()
        session.execute(update(Thread).where(Thread.id.in_(ids)).values(message_count=count)
                        .execution_options(synchronize_session=False))


def _outbox_ids(session: Session, thread_ids: list[int]) -> list[int]:
    return list(session.scalars(select(OutboxItem.id).where(OutboxItem.thread_id.in_(thread_ids))))


def anonymise_threads(session: Session, thread_ids: Sequence[int], *, address: str = "") -> Counts:
    """Keep the threads and their KPI facts; remove their messages and all that names the customer.

    Outbox items stay (reply facts hang on them) with their addresses and bytes cleared; one
    still waiting to go is failed ("erased"). Approval drafts, CSAT comments, notifications
    and webhook bodies of the threads are cleared; event details naming ``address`` too.
    """
    counts = Counts()
    for ids in _chunks(thread_ids):
        message_ids = list(session.scalars(select(Message.id).where(Message.thread_id.in_(ids))))
        counts.add(_purge_messages(session, message_ids))
        outbox_ids = _outbox_ids(session, ids)
        for oids in _chunks(outbox_ids):
            session.execute(
                update(OutboxItem).where(OutboxItem.id.in_(oids),
                                         OutboxItem.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]))
                .values(status=OutboxStatus.FAILED, last_error="erased")
                .execution_options(synchronize_session=False))
            counts.outbox_items += session.execute(
                update(OutboxItem).where(OutboxItem.id.in_(oids))
                .values(recipients=[], raw=None, payload={})
                .execution_options(synchronize_session=False)).rowcount
            session.execute(update(WebhookDelivery).where(WebhookDelivery.outbox_id.in_(oids))
                            .values(body={}, responses=[]).execution_options(synchronize_session=False))
        session.execute(update(ApprovalRequest).where(ApprovalRequest.thread_id.in_(ids))
                        .values(draft={}, written_text="", diff="", comment="")
                        .execution_options(synchronize_session=False))
        session.execute(update(CsatAnswer).where(CsatAnswer.thread_id.in_(ids)).values(comment="")
                        .execution_options(synchronize_session=False))
        session.execute(delete(Notification).where(Notification.thread_id.in_(ids)))
        session.execute(delete(ThreadOrderNumber).where(ThreadOrderNumber.thread_id.in_(ids)))
        contacts = dict(session.execute(
            select(Contact.id, Contact.address).join(Thread, Thread.contact_id == Contact.id)
            .where(Thread.id.in_(ids))
        ).all())
        for named in {address, *contacts.values()} - {""}:
            _scrub_events(session, ids, named.lower())
        session.execute(
            update(Thread).where(Thread.id.in_(ids))
            .values(subject="", normalized_subject="", contact_id=None, external_meta={}, message_count=0)
            .execution_options(synchronize_session=False))
        counts.threads_anonymised += len(ids)
        # A customer left with no thread is forgotten too.
        for contact_id in contacts:
            if session.scalar(select(Thread.id).where(Thread.contact_id == contact_id).limit(1)) is None:
                customer_links.forget(session, [contact_id])
                counts.contacts += session.execute(delete(Contact).where(Contact.id == contact_id)).rowcount
        counts.kpi_facts_kept += session.scalar(
            select(func.count()).select_from(Thread).where(Thread.id.in_(ids), Thread.facts.has())
        ) or 0
    session.expire_all()
    return counts


def _scrub_events(session: Session, thread_ids: list[int], address: str) -> None:
    for event in session.scalars(select(Event).where(Event.thread_id.in_(thread_ids))):
        if address in json.dumps(event.data or {}, ensure_ascii=False).lower():
            event.data = {k: v for k, v in (event.data or {}).items()
                          if address not in json.dumps(v, ensure_ascii=False).lower()}
    session.flush()


def delete_threads(session: Session, thread_ids: Sequence[int]) -> Counts:
    """Delete threads outright, with everything hanging on them (their KPI facts too)."""
    counts = Counts()
    for ids in _chunks(thread_ids):
        message_ids = list(session.scalars(select(Message.id).where(Message.thread_id.in_(ids))))
        counts.add(_purge_messages(session, message_ids))
        outbox_ids = _outbox_ids(session, ids)
        session.execute(delete(ApprovalRequest).where(ApprovalRequest.thread_id.in_(ids)))
        session.execute(delete(Alert).where(Alert.thread_id.in_(ids)))
        session.execute(delete(AutoAck).where(AutoAck.thread_id.in_(ids)))
        for oids in _chunks(outbox_ids):
            session.execute(delete(Alert).where(Alert.outbox_id.in_(oids)))
            session.execute(delete(AutoAck).where(AutoAck.outbox_id.in_(oids)))
            counts.outbox_items += session.execute(delete(OutboxItem).where(OutboxItem.id.in_(oids))).rowcount
        session.execute(delete(Event).where(Event.thread_id.in_(ids)))
        counts.threads_deleted += session.execute(delete(Thread).where(Thread.id.in_(ids))).rowcount
    session.expire_all()
    return counts


def remove_blobs(session_factory: Any, blobs: BlobStore, candidates: Iterable[str]) -> int:
    """After the commit: delete each candidate blob file nothing names any more. Returns how many."""
    removed = 0
    candidates = sorted(set(candidates))
    if not candidates:
        return 0
    with session_factory() as session:
        named: set[str] = set()
        for shas in _chunks(candidates):  # type: ignore[arg-type]
            named |= set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(shas))))
            named |= set(session.scalars(select(Message.raw_sha256).where(Message.raw_sha256.in_(shas))))
    for sha in candidates:
        if sha not in named and blobs.delete(sha):
            removed += 1
    return removed

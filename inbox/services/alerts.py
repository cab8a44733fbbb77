"""Deadline alerts: find threads entering a stage and queue one alert mail per (thread, stage, deadline), plus daily digests.

Exactly once comes from the database, not from timing: an ``Alert`` row (unique on thread,
stage, deadline) and its outbox item (unique idempotency key) are written in one
transaction, and losing that unique race means another process already did it. The
"alerts" lease only keeps two schedulers from doing the same work at the same moment.
Delivery is the outbox's business (``inbox.senders.alert_mail``).
"""

from __future__ import annotations

import email.policy
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from inbox.config import Settings
from inbox.models import (
    Alert,
    Event,
    Mailbox,
    MailboxMember,
    OutboxItem,
    OutboxStatus,
    Role,
    Status,
    Thread,
    User,
)
from inbox.resources import templates_dir
from inbox.services import claims, job_runs, outbox
from inbox.services.access import visible_mailbox_ids
from inbox.services.business_hours import BusinessCalendar, Stage, stage_starts
from inbox.services.deadlines import OPEN_STATUSES, calendar_for, calendars_for, stage_condition
from inbox.services.errors import NotFound

log = logging.getLogger(__name__)

LEASE = "alerts"
# hook(session, thread, stage, due_at, now), run once per alert issued (a thread reaching a
# deadline stage), in the transaction that records it. Filled by ``inbox.wiring`` (webhooks).
STAGE_HOOKS: list[Callable[[Session, Thread, str, datetime, datetime], None]] = []
KIND = "alert"
# An overdue alert that could not be issued within this long after the deadline (scheduler
# down, deadline set by hand far in the past) is dropped: the badge and digest still show it.
LOOKBACK = timedelta(days=7)
COMMIT_EVERY = 50
DIGEST_LIMIT = 30
EMAIL_TEMPLATES = templates_dir() / "email"
_WEEKDAYS_JA = "月火水木金土日"


@dataclass
class ScanResult:
    claimed: bool
    issued: int = 0
    lost: int = 0  # another process issued it first (or the thread changed meanwhile)
    digests: int = 0
    escalated: int = 0


@dataclass(frozen=True, order=True)
class DueAlert:
    thread_id: int
    stage: Stage
    due_at: datetime


def idempotency_key(thread_id: int, stage: Stage | str, due_at: datetime) -> str:
    return f"alert:{thread_id}:{Stage(stage).value}:{due_at.isoformat()}"


def message_id_for(key: str) -> str:
    """A stable Message-ID for an outbox key, so a resent alert is recognisably the same mail."""
    return "<" + key.replace(":", ".").replace("+", "") + "@inbox.alerts>"


@functools.lru_cache(maxsize=8192)
def _starts(
    due_at: datetime, cal: BusinessCalendar, notify_at: time
) -> tuple[tuple[Stage, datetime], ...]:
    # Many threads share a deadline (rules end at close of business), so this is cached.
    return tuple(stage_starts(due_at, cal, notify_at=notify_at).items())


def _alert_stage(due_at: datetime, now: datetime, cal: BusinessCalendar, notify_at: time) -> Stage:
    current = Stage.NONE
    for stage, starts in _starts(due_at, cal, notify_at):
        if starts <= now:
            current = stage
    return current


def _issued(stage: Stage) -> Any:
    return exists().where(
        Alert.thread_id == Thread.id, Alert.due_at == Thread.due_at, Alert.stage == stage.value
    )


def candidates_stmts(mailbox_id: int, now: datetime, until: datetime) -> list[Select]:
    """Open threads of one mailbox due in ``(now - LOOKBACK, until)`` whose current alert may be missing.

    Two range scans of ix_threads_queue_deadline (mailbox_id, status, due_at): past deadlines
    without an overdue alert, and coming ones without a due-today alert; each NOT EXISTS is
    an anti-join on the alerts' unique index (kept apart, as an OR would make PostgreSQL
    hash the whole alerts table).
    """
    base = select(Thread.id, Thread.due_at).where(
        Thread.mailbox_id == mailbox_id, Thread.status.in_(OPEN_STATUSES)
    )
    return [
        base.where(Thread.due_at > now - LOOKBACK, Thread.due_at <= now, ~_issued(Stage.OVERDUE)),
        base.where(Thread.due_at > now, Thread.due_at < until, ~_issued(Stage.DUE_TODAY)),
    ]


def find_due(session: Session, *, now: datetime, notify_at: time) -> list[DueAlert]:
    """Alerts whose time has come at ``now`` and that nobody issued yet, in a fixed order.

    Only the latest stage reached counts (a deadline set at 15:00 for 17:00 today gets
    "due today", not also "due tomorrow"). Per mailbox, one range scan of the
    (mailbox_id, status, due_at) index from ``now - LOOKBACK`` to the end of the team's next
    working day, skipping deadlines whose overdue or due-today alert exists.
    """
    pending: list[DueAlert] = []
    maybe_tomorrow: list[DueAlert] = []
    calendars = {m.id: calendar_for(m) for m in session.scalars(select(Mailbox))}
    for mailbox_id, cal in calendars.items():
        today = cal.to_local(now).date()
        until = cal.start_of_day(cal.next_working_day(today) + timedelta(days=1))

        rows = [
            r for stmt in candidates_stmts(mailbox_id, now, until) for r in session.execute(stmt)
        ]
        for thread_id, due_at in rows:
            stage = _alert_stage(due_at, now, cal, notify_at)
            if stage == Stage.DUE_TOMORROW:
                maybe_tomorrow.append(DueAlert(thread_id, stage, due_at))
            elif stage != Stage.NONE:
                pending.append(DueAlert(thread_id, stage, due_at))
    done: set[tuple[int, datetime]] = set()
    ids = [d.thread_id for d in maybe_tomorrow]
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        done.update(
            session.execute(
                select(Alert.thread_id, Alert.due_at).where(
                    Alert.thread_id.in_(chunk), Alert.stage == Stage.DUE_TOMORROW.value
                )
            ).all()
        )
    pending += [d for d in maybe_tomorrow if (d.thread_id, d.due_at) not in done]
    return sorted(pending)  # one order for every process: concurrent inserts cannot deadlock


def recipients_for(session: Session, thread: Thread) -> list[User]:
    """The assignee; when unassigned, the mailbox's leads; with no leads, the admins."""
    if thread.assignee_id is not None:
        assignee = session.get(User, thread.assignee_id)
        if assignee is not None and assignee.active:
            return [assignee]
    leads = list(
        session.scalars(
            select(User)
            .join(MailboxMember, MailboxMember.user_id == User.id)
            .where(
                MailboxMember.mailbox_id == thread.mailbox_id, User.role == Role.LEAD, User.active
            )
            .order_by(User.id)
        )
    )
    if leads:
        return leads
    return list(
        session.scalars(select(User).where(User.role == Role.ADMIN, User.active).order_by(User.id))
    )


def issue(session: Session, due: DueAlert, *, now: datetime, settings: Settings) -> bool:
    """Record the alert and queue its mail in the caller's transaction; False if already issued.

    The insert runs in a savepoint: a unique violation (another process got there first)
    rolls back only this alert. Recipients with ``alert_digest`` get no single mail.
    """
    thread = session.get(Thread, due.thread_id)
    if thread is None or thread.status == Status.RESOLVED or thread.due_at != due.due_at:
        return False
    alert = Alert(thread_id=thread.id, stage=due.stage.value, due_at=due.due_at)
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return False
    recipients = recipients_for(session, thread)
    singles = [u for u in recipients if not u.alert_digest]
    if singles:
        key = idempotency_key(thread.id, due.stage, due.due_at)
        raw = render_mail(
            f"deadline_{due.stage.value}",
            singles,
            settings=settings,
            now=now,
            message_id=message_id_for(key),
            context={
                "ticket": settings.ticket_token_for(thread.id),
                "subject": thread.subject,
                "mailbox": thread.mailbox.name,
                "due_at": due.due_at,
                "assignee": thread.assignee.name if thread.assignee else None,
            },
        )
        item = outbox.enqueue(
            session,
            kind=KIND,
            idempotency_key=key,
            now=now,
            mail_from=settings.alert_from_address,
            recipients=[u.email for u in singles],
            raw=raw,
            payload={"stage": due.stage.value, "due_at": due.due_at.isoformat()},
            mailbox_id=thread.mailbox_id,
            thread_id=thread.id,
        )
        alert.outbox_id = item.id
    session.add(
        Event(
            thread_id=thread.id,
            kind="deadline_alert",
            data={
                "stage": due.stage.value,
                "due_at": due.due_at.isoformat(),
                "mailed": [u.id for u in singles],
                "digest": [u.id for u in recipients if u.alert_digest],
            },
        )
    )
    for hook in STAGE_HOOKS:
        hook(session, thread, due.stage.value, due.due_at, now)
    return True


def scan(Session: sessionmaker[Session], settings: Settings, *, now: datetime) -> ScanResult:
    """One pass without the lease: issue every due alert and escalation, then the digests that are due."""
    result = ScanResult(claimed=True)
    with Session() as session:
        pending = find_due(session, now=now, notify_at=settings.alert_notify_at)
        for n, due in enumerate(pending, 1):
            if issue(session, due, now=now, settings=settings):
                result.issued += 1
            else:
                result.lost += 1
            if n % COMMIT_EVERY == 0:
                session.commit()
        session.commit()
    with Session() as session:
        from inbox.services import escalation  # builds on this module

        result.escalated, lost = escalation.scan(session, now=now, settings=settings)
        result.lost += lost
        session.commit()
    with Session() as session:
        result.digests = queue_digests(session, now=now, settings=settings)
        session.commit()
    return result


def run_scan(runtime: Any, *, owner: str, now: datetime) -> ScanResult:
    """Scheduler entry point: take the "alerts" lease, then ``scan``; a busy lease means skip."""
    settings: Settings = runtime.settings
    ttl = timedelta(seconds=max(3 * settings.alert_scan_seconds, 30))
    with runtime.Session() as session:
        claimed = claims.try_claim(session, LEASE, owner, now=now, ttl=ttl)
        session.commit()
    if not claimed:
        return ScanResult(claimed=False)
    started = perf_counter()
    result = scan(runtime.Session, settings, now=now)
    duration = perf_counter() - started
    with runtime.Session() as session:  # /metrics shows it: inbox_job_last_duration_seconds
        job_runs.record(
            session, LEASE, started=now, duration=duration,
            result={"issued": result.issued, "escalated": result.escalated,
                    "digests": result.digests, "lost": result.lost},
        )
        session.commit()
    if result.issued or result.digests:
        log.info("alerts: %s issued, %s digests", result.issued, result.digests)
    return result


# --- daily digests ------------------------------------------------------------------------


def queue_digests(session: Session, *, now: datetime, settings: Settings) -> int:
    """Queue today's digest for each digest user whose local ``notify_at`` has passed.

    Sent on days that are a working day of one of the user's mailboxes, once per local
    date (the outbox key ``alert-digest:<user>:<date>`` makes it once), and only when
    something is overdue, due today or due tomorrow for them: threads assigned to them, and
    for leads and admins the unassigned threads of their mailboxes.
    """
    queued = 0
    for user in session.scalars(
        select(User).where(User.alert_digest, User.active).order_by(User.id)
    ):
        local = now.astimezone(ZoneInfo(user.timezone))
        key = f"alert-digest:{user.id}:{local.date().isoformat()}"
        if local.time() < settings.alert_notify_at or session.scalar(
            select(OutboxItem.id).where(OutboxItem.idempotency_key == key)
        ):
            continue
        calendars = calendars_for(session, visible_mailbox_ids(session, user))
        if not any(cal.is_working_day(local.date()) for cal in calendars.values()):
            continue
        leads_for = list(calendars) if user.role in (Role.LEAD, Role.ADMIN) else []
        whose = or_(
            Thread.assignee_id == user.id,
            and_(Thread.assignee_id.is_(None), Thread.mailbox_id.in_(leads_for)),
        )
        sections = []
        for stage in (Stage.OVERDUE, Stage.DUE_TODAY, Stage.DUE_TOMORROW):
            cond = and_(whose, stage_condition(stage, now, calendars=calendars))
            total = session.scalar(select(func.count()).select_from(Thread).where(cond)) or 0
            threads = session.scalars(
                select(Thread).where(cond).order_by(Thread.due_at, Thread.id).limit(DIGEST_LIMIT)
            )
            sections.append({"stage": stage.value, "total": total, "threads": list(threads)})
        if not any(s["total"] for s in sections):
            continue
        raw = render_mail(
            "deadline_digest",
            [user],
            settings=settings,
            now=now,
            message_id=message_id_for(key),
            context={
                "sections": sections,
                "ticket": settings.ticket_token_for,
                "date": local.date(),
            },
        )
        outbox.enqueue(
            session,
            kind=KIND,
            idempotency_key=key,
            now=now,
            mail_from=settings.alert_from_address,
            recipients=[user.email],
            raw=raw,
            payload={"digest": True, "user": user.id},
        )
        queued += 1
    return queued


# --- the mail itself ----------------------------------------------------------------------

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(EMAIL_TEMPLATES)),
    autoescape=False,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


def _when(zone: ZoneInfo, lang: str):
    def fmt(dt: datetime) -> str:
        local = dt.astimezone(zone)
        if lang == "ja":
            wd = _WEEKDAYS_JA[local.weekday()]
            return f"{local.year}年{local.month}月{local.day}日({wd}) {local:%H:%M} ({zone.key})"
        return f"{local:%a %d %b %Y %H:%M} ({zone.key})"

    return fmt


def render_mail(
    name: str,
    users: Sequence[User],
    *,
    settings: Settings,
    now: datetime,
    message_id: str,
    context: dict[str, Any],
) -> bytes:
    """Render ``templates/email/<name>/{subject,body}.txt`` for ``users`` as UTF-8 MIME bytes.

    Each recipient language gets its own text (Japanese first when mixed, both in one
    mail), with times in the timezone of the first recipient of that language.
    """
    langs: dict[str, User] = {}
    for user in sorted(users, key=lambda u: u.language != "ja"):
        langs.setdefault(user.language if user.language in ("ja", "en") else "ja", user)
    subjects, bodies = [], []
    for lang, first in langs.items():
        zone = ZoneInfo(first.timezone)
        ctx = {**context, "lang": lang, "when": _when(zone, lang)}
        subjects.append(" ".join(_env.get_template(f"{name}/subject.txt").render(ctx).split()))
        bodies.append(_env.get_template(f"{name}/body.txt").render(ctx).strip() + "\n")
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = settings.alert_from_address
    msg["To"] = ", ".join(u.email for u in users)
    msg["Subject"] = " / ".join(subjects)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content("\n----\n\n".join(bodies), charset="utf-8", cte="base64")
    return msg.as_bytes()


# --- what the admin page shows --------------------------------------------------------------


def stuck_items(session: Session) -> list[OutboxItem]:
    """Alert mail that could not be sent (failed, rejected) or may not have been (unknown)."""
    return list(
        session.scalars(
            select(OutboxItem)
            .where(
                OutboxItem.kind == KIND,
                OutboxItem.status.in_(
                    [OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.REJECTED]
                ),
            )
            .order_by(OutboxItem.created_at.desc(), OutboxItem.id.desc())
        )
    )


def resend(session: Session, item_id: int, *, actor_id: int | None, now: datetime) -> OutboxItem:
    """Queue a stuck alert mail again (``outbox.resend``); NotFound for anything else."""
    item = session.get(OutboxItem, item_id)
    if item is None or item.kind != KIND:
        raise NotFound("Alert mail #%(id)s does not exist.", id=item_id)
    outbox.resend(session, item, now=now, actor_id=actor_id)
    return item

"""The lead overview: counts per status and per agent, overdue counts and the longest-waiting thread per mailbox.

Only the mailboxes the viewer is a member of (admins: all); leads and admins only.
Knows nothing of the web.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from inbox.models import Mailbox, Role, Status, Thread, User
from inbox.services.access import require_role, visible_mailbox_ids
from inbox.services.queue import UNRESOLVED, due_today_condition, overdue_condition


@dataclass
class MailboxSummary:
    mailbox: Mailbox
    counts: dict[str, int]  # per status value
    overdue: int
    oldest_waiting: Thread | None  # unresolved, oldest last customer message


@dataclass
class AgentLoad:
    user: User | None  # None: nobody assigned yet
    counts: dict[str, int]  # new / open / waiting
    overdue: int = 0  # deadline passed, still unresolved
    due_today: int = 0  # deadline later today (the viewer's day), not yet overdue

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Overview:
    totals: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    mailboxes: list[MailboxSummary] = field(default_factory=list)
    agents: list[AgentLoad] = field(default_factory=list)


def lead_overview(session: Session, user: User, *, now: datetime) -> Overview:
    """The overview of the viewer's mailboxes at ``now``.

    Raises PermissionDenied unless the viewer is a lead or an admin.
    """
    require_role(user, Role.LEAD, Role.ADMIN)
    ids = visible_mailbox_ids(session, user)
    overview = Overview(totals={s.value: 0 for s in Status})
    if not ids:
        return overview
    per_mailbox: dict[int, dict[str, int]] = {i: {s.value: 0 for s in Status} for i in ids}
    rows = session.execute(
        select(Thread.mailbox_id, Thread.status, func.count())
        .where(Thread.mailbox_id.in_(ids))
        .group_by(Thread.mailbox_id, Thread.status)
    )
    for mailbox_id, status, n in rows:
        per_mailbox[mailbox_id][Status(status).value] = n
        overview.totals[Status(status).value] += n
    overdue = dict(
        session.execute(
            select(Thread.mailbox_id, func.count())
            .where(Thread.mailbox_id.in_(ids), overdue_condition(now))
            .group_by(Thread.mailbox_id)
        ).all()
    )
    overview.overdue = sum(overdue.values())
    mailboxes = session.scalars(select(Mailbox).where(Mailbox.id.in_(ids)).order_by(Mailbox.name))
    for mailbox in mailboxes:
        overview.mailboxes.append(
            MailboxSummary(
                mailbox=mailbox,
                counts=per_mailbox[mailbox.id],
                overdue=overdue.get(mailbox.id, 0),
                oldest_waiting=_oldest_waiting(session, mailbox.id),
            )
        )
    overview.agents = _agent_loads(session, ids, now=now, zone=user.timezone)
    return overview


def _oldest_waiting(session: Session, mailbox_id: int) -> Thread | None:
    return session.scalars(
        select(Thread)
        .where(
            Thread.mailbox_id == mailbox_id,
            Thread.status.in_(UNRESOLVED),
            Thread.last_inbound_at.is_not(None),
        )
        .order_by(Thread.last_inbound_at, Thread.id)
        .options(joinedload(Thread.contact), joinedload(Thread.assignee))
        .limit(1)
    ).first()


def _agent_loads(
    session: Session, mailbox_ids: list[int], *, now: datetime, zone: str
) -> list[AgentLoad]:
    """Unresolved threads per assignee (and unassigned), busiest first, with how many of
    them are overdue and how many fall due later today (``zone``: the viewer's day)."""
    loads: dict[int | None, dict[str, int]] = {}
    rows = session.execute(
        select(Thread.assignee_id, Thread.status, func.count())
        .where(Thread.mailbox_id.in_(mailbox_ids), Thread.status.in_(UNRESOLVED))
        .group_by(Thread.assignee_id, Thread.status)
    )
    for assignee_id, status, n in rows:
        loads.setdefault(assignee_id, {s.value: 0 for s in UNRESOLVED})[Status(status).value] = n
    users = {
        u.id: u for u in session.scalars(select(User).where(User.id.in_([i for i in loads if i])))
    }
    late = {
        name: dict(
            session.execute(
                select(Thread.assignee_id, func.count())
                .where(Thread.mailbox_id.in_(mailbox_ids), condition)
                .group_by(Thread.assignee_id)
            ).all()
        )
        for name, condition in (
            ("overdue", overdue_condition(now)),
            ("due_today", due_today_condition(now, zone)),
        )
    }
    result = [
        AgentLoad(
            user=users.get(i) if i else None,
            counts=c,
            overdue=late["overdue"].get(i, 0),
            due_today=late["due_today"].get(i, 0),
        )
        for i, c in loads.items()
    ]
    result.sort(key=lambda a: (a.user is None, -a.total, a.user.name if a.user else ""))
    return result

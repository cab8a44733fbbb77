"""The queue: which threads a user sees per view and filter, sorted and keyset-paged (no OFFSET), with side-bar counts.

Views: ``default`` (unresolved, overdue first, then by deadline, then newest activity),
one per status (``automatic``: 自動メール, never counted as open), ``mine``, ``unassigned``, ``overdue``, ``due_today`` and ``all``. Filters by
mailbox, status, assignee, tag and deadline narrow any view. "Overdue" and "due today" are
inbox.services.deadlines' stage conditions (the same rule as the deadline badges; "today"
is the viewer's local date). Bulk changes are inbox.services.assignment.bulk_apply's.
Knows nothing of the web.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, union_all
from sqlalchemy.orm import Session, joinedload, selectinload

from inbox.models import Mailbox, MailboxMember, Role, Status, Thread, ThreadTag, User
from inbox.services.access import (
    can_see_mailbox,
    visible_mailbox_ids,
    visible_mailboxes,
)
from inbox.services.assignment import BulkCounts, bulk_apply
from inbox.services.deadlines import stage_condition
from inbox.services.errors import InvalidInput, NotFound

UNRESOLVED = (Status.NEW, Status.OPEN, Status.WAITING)
VIEWS = (
    "default",
    "new",
    "open",
    "waiting",
    "resolved",
    "automatic",
    "mine",
    "unassigned",
    "overdue",
    "due_today",
    "all",
)
# One view per status; "automatic" (自動メール) holds threads opened by automatic mail, which
# are not work and so in no other view but "all" (see inbox.services.automatic).
STATUS_VIEWS = ("new", "open", "waiting", "resolved", "automatic")
SORTS = ("deadline", "activity")
DEADLINES = ("overdue", "today", "none")
BULK_ACTIONS = ("assign", "unassign", "status", "add_tag", "remove_tag", "category")
MAX_BULK = 500
MAX_ID = 2**63 - 1  # what a BIGINT id column holds


@dataclass(frozen=True)
class QueueFilter:
    view: str = "default"
    mailbox_id: int | None = None
    statuses: tuple[Status, ...] = ()  # given: replaces the view's own status rule
    assignee: str | None = None  # "me", "none", or a user id as text
    tag: str | None = None
    deadline: str | None = None  # "overdue", "today" or "none" (no deadline)
    sort: str | None = None  # None: the view's own ("deadline" for unresolved views)

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise InvalidInput("Unknown queue view %(view)r.", view=self.view)
        if self.sort is not None and self.sort not in SORTS:
            raise InvalidInput("Unknown sort order %(sort)r.", sort=self.sort)
        if self.deadline is not None and self.deadline not in DEADLINES:
            raise InvalidInput("Unknown deadline filter %(deadline)r.", deadline=self.deadline)
        if self.assignee not in (None, "me", "none") and not (
            str(self.assignee).isascii() and str(self.assignee).isdigit()
            and 0 < int(self.assignee) <= MAX_ID
        ):
            raise InvalidInput("Unknown assignee filter.")

    def as_args(self) -> dict[str, Any]:
        """The filter as query arguments (for links that keep it), empty values left out."""
        args: dict[str, Any] = {
            "view": None if self.view == "default" else self.view,
            "mailbox": self.mailbox_id,
            "status": [s.value for s in self.statuses] or None,
            "assignee": self.assignee,
            "tag": self.tag,
            "deadline": self.deadline,
            "sort": self.sort,
        }
        return {k: v for k, v in args.items() if v is not None}

    @property
    def order(self) -> str:
        if self.sort:
            return self.sort
        return "activity" if self.view in ("resolved", "automatic", "all") else "deadline"


@dataclass
class QueuePage:
    threads: list[Thread]
    next_cursor: str | None


@dataclass
class QueueScreen:
    """Everything the queue page shows: one page of threads and the side bar."""

    page: QueuePage
    counts: dict[str, int]
    mailboxes: list[Mailbox]
    assignees: list[User] = field(default_factory=list)  # whom the viewer may assign to


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    return stage_condition("overdue", now)


def due_today_condition(now: datetime, zone: str) -> ColumnElement[bool]:
    """Due later today in ``zone`` (the viewer's day); overdue threads are not "due today"."""
    return stage_condition("due_today", now, zone=zone)


def _view_conditions(
    view: str, user: User, now: datetime
) -> tuple[ColumnElement[bool] | None, list[ColumnElement[bool]]]:
    """The view's status rule (replaced by an explicit status filter) and its other rules."""
    if view in STATUS_VIEWS:
        return Thread.status == Status(view), []
    if view == "all":
        return None, []
    others: list[ColumnElement[bool]] = []
    if view == "mine":
        others.append(Thread.assignee_id == user.id)
    elif view == "unassigned":
        others.append(Thread.assignee_id.is_(None))
    elif view == "overdue":
        others.append(overdue_condition(now))
    elif view == "due_today":
        others.append(due_today_condition(now, user.timezone))
    return Thread.status.in_(UNRESOLVED), others


def _conditions(
    session: Session, user: User, flt: QueueFilter, now: datetime
) -> list[ColumnElement[bool]]:
    """WHERE conditions on Thread for the view and filters, inside the user's mailboxes.

    The mailboxes are an explicit id list (for admins too), so that both databases can walk
    the per-mailbox indexes in order for each id.
    """
    ids = [flt.mailbox_id] if flt.mailbox_id is not None else visible_mailbox_ids(session, user)
    status_rule, conds = _view_conditions(flt.view, user, now)
    if flt.statuses:
        status_rule = Thread.status.in_(flt.statuses)
    if status_rule is not None:
        conds.append(status_rule)
    conds.append(Thread.mailbox_id.in_(ids))
    conds.append(Thread.merged_into_id.is_(None))  # a merged thread lives on in its target
    if flt.assignee == "me":
        conds.append(Thread.assignee_id == user.id)
    elif flt.assignee == "none":
        conds.append(Thread.assignee_id.is_(None))
    elif flt.assignee:
        conds.append(Thread.assignee_id == int(flt.assignee))
    if flt.tag:
        tagged = select(ThreadTag.thread_id).where(ThreadTag.tag == flt.tag)
        conds.append(Thread.id.in_(tagged))
    if flt.deadline == "overdue":
        conds.append(overdue_condition(now))
    elif flt.deadline == "today":
        conds.append(due_today_condition(now, user.timezone))
    elif flt.deadline == "none":
        conds.append(Thread.due_at.is_(None))
    return conds


def _statuses(flt: QueueFilter) -> tuple[Status, ...]:
    if flt.statuses:
        return flt.statuses
    if flt.view in STATUS_VIEWS:
        return (Status(flt.view),)
    return tuple(Status) if flt.view == "all" else UNRESOLVED


# Keyset paging. "activity": (last_activity_at DESC, id DESC). "deadline": (due_at ASC
# NULLS LAST, last_activity_at DESC, id DESC): overdue threads have the earliest deadlines,
# so they come first; threads without a deadline come last, newest activity first.


def encode_cursor(thread: Thread, order: str) -> str:
    key: dict[str, Any] = {"o": order, "a": thread.last_activity_at.isoformat(), "i": thread.id}
    if order == "deadline":
        key["d"] = thread.due_at.isoformat() if thread.due_at else None
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a cursor time without its zone")
    return value


def decode_cursor(cursor: str, order: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        if key["o"] != order:
            raise ValueError("cursor of another sort order")
        key["a"] = _aware(datetime.fromisoformat(key["a"]))
        key["i"] = int(key["i"])
        if not 0 <= key["i"] <= MAX_ID:
            raise ValueError("id out of range")
        if order == "deadline" and key["d"] is not None:
            key["d"] = _aware(datetime.fromisoformat(key["d"]))
        return key
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput("The page link is damaged; start from the first page.") from exc


def _after_activity(when: datetime, ident: int) -> ColumnElement[bool]:
    return or_(
        Thread.last_activity_at < when,
        and_(Thread.last_activity_at == when, Thread.id < ident),
    )


KEY_COLUMNS = (Thread.id, Thread.due_at, Thread.last_activity_at)
ACTIVITY_ORDER = (Thread.last_activity_at.desc(), Thread.id.desc())


def _by_activity(conds: list[ColumnElement[bool]], limit: int) -> Select:
    """Newest activity first; the (mailbox_id, last_activity_at, id) index serves it."""
    return select(*KEY_COLUMNS).where(*conds).order_by(*ACTIVITY_ORDER).limit(limit)


def _with_deadline(
    conds: list[ColumnElement[bool]], statuses: tuple[Status, ...], limit: int
) -> Select:
    """Threads with a deadline, earliest first: one branch per status, so that each walks
    the (status, due_at) index in order and stops after ``limit`` rows."""
    branches = [
        select(*KEY_COLUMNS)
        .where(*conds, Thread.status == status, Thread.due_at.is_not(None))
        .order_by(Thread.due_at, *ACTIVITY_ORDER)
        .limit(limit)
        .subquery()
        for status in statuses
    ]
    if len(branches) == 1:
        sub = branches[0]
    else:
        sub = union_all(*(select(*b.c) for b in branches)).subquery()
    return select(*sub.c).order_by(sub.c.due_at, sub.c.last_activity_at.desc(), sub.c.id.desc())


def _page_keys(session: Session, conds: list, flt: QueueFilter, after: str | None, limit: int):
    """(id, due_at, last_activity_at) of the next ``limit`` threads in the filter's order."""
    order = flt.order
    key = decode_cursor(after, order) if after else None
    if order == "activity":
        if key:
            conds = [*conds, _after_activity(key["a"], key["i"])]
        return list(session.execute(_by_activity(conds, limit)))
    rows: list = []
    if key is None or key["d"] is not None:  # overdue first, then by deadline
        dated = conds
        if key:
            dated = [*conds, or_(Thread.due_at > key["d"], and_(
                Thread.due_at == key["d"], _after_activity(key["a"], key["i"])))]  # fmt: skip
        rows = list(session.execute(_with_deadline(dated, _statuses(flt), limit).limit(limit)))
    if len(rows) < limit:  # then the threads without a deadline, newest activity first
        tail = [*conds, Thread.due_at.is_(None)]
        if key and key["d"] is None:
            tail.append(_after_activity(key["a"], key["i"]))
        rows += list(session.execute(_by_activity(tail, limit - len(rows))))
    return rows


def list_threads(
    session: Session,
    user: User,
    flt: QueueFilter,
    *,
    now: datetime,
    after: str | None = None,
    limit: int = 50,
) -> QueuePage:
    """One page of the view: ``limit`` threads after the cursor ``after`` (from ``next_cursor``).

    Two steps: the page's keys from narrow index-walking queries (see ``_page_keys``), then
    the threads with their contact, assignee, mailbox and tags by id. Raises InvalidInput
    for a damaged cursor or one made for another sort order.
    """
    keys = _page_keys(session, _conditions(session, user, flt, now), flt, after, limit + 1)
    more = len(keys) > limit
    ids = [k.id for k in keys[:limit]]
    loaded = session.scalars(
        select(Thread)
        .where(Thread.id.in_(ids))
        .options(
            joinedload(Thread.contact),
            joinedload(Thread.assignee),
            joinedload(Thread.mailbox),
            selectinload(Thread.tags),
        )
    ).unique()
    by_id = {t.id: t for t in loaded}
    threads = [by_id[i] for i in ids if i in by_id]
    cursor = encode_cursor(threads[-1], flt.order) if more and threads else None
    return QueuePage(threads=threads, next_cursor=cursor)


def queue_screen(
    session: Session,
    user: User,
    flt: QueueFilter,
    *,
    now: datetime,
    after: str | None = None,
    limit: int = 50,
) -> QueueScreen:
    """The queue page's data. Raises NotFound for a mailbox the user may not see, and
    InvalidInput as ``list_threads`` does."""
    if flt.mailbox_id is not None and not can_see_mailbox(session, user, flt.mailbox_id):
        raise NotFound("This mailbox does not exist or is not yours.")
    return QueueScreen(
        page=list_threads(session, user, flt, now=now, after=after, limit=limit),
        counts=view_counts(session, user, now=now, mailbox_id=flt.mailbox_id),
        mailboxes=visible_mailboxes(session, user),
        assignees=assignable_users(session, user),
    )


def assignable_users(session: Session, user: User) -> list[User]:
    """Active members of the viewer's mailboxes for leads and admins; agents only themselves."""
    if user.role == Role.AGENT:
        return [user]
    ids = visible_mailbox_ids(session, user)
    members = select(MailboxMember.user_id).where(MailboxMember.mailbox_id.in_(ids))
    stmt = select(User).where(User.active.is_(True), or_(User.id.in_(members), User.id == user.id))
    return list(session.scalars(stmt.order_by(User.name)))


def view_counts(
    session: Session, user: User, *, now: datetime, mailbox_id: int | None = None
) -> dict[str, int | None]:
    """Side-bar counts for the unresolved views, in one mailbox or all the user's mailboxes.

    Grouped and index-backed: statuses from (mailbox_id, status, due_at); "mine" and
    "unassigned" from (assignee_id, status); the deadline views from (mailbox_id, status,
    due_at). "resolved" and "all" get None: counting every thread ever closed reads the
    whole table's index and grows without end, and nobody works from that number.
    """
    ids = [mailbox_id] if mailbox_id is not None else visible_mailbox_ids(session, user)
    counts: dict[str, int | None] = {s.value: 0 for s in UNRESOLVED}
    rows = session.execute(
        select(Thread.status, func.count())
        .where(Thread.mailbox_id.in_(ids), Thread.status.in_(UNRESOLVED))
        .group_by(Thread.mailbox_id, Thread.status)
    )
    for status, n in rows:
        counts[Status(status).value] += n  # type: ignore[operator]
    counts["default"] = sum(counts[s.value] or 0 for s in UNRESOLVED)
    counts["automatic"] = session.scalar(  # not work, so not in "default"; shown on its own
        select(func.count()).select_from(Thread)
        .where(Thread.mailbox_id.in_(ids), Thread.status == Status.AUTOMATIC)
    )
    counts["resolved"] = counts["all"] = None
    for view in ("mine", "unassigned", "overdue", "due_today"):
        status_rule, others = _view_conditions(view, user, now)
        stmt = select(func.count()).select_from(Thread)
        counts[view] = session.scalar(stmt.where(Thread.mailbox_id.in_(ids), status_rule, *others))
    return counts


def bulk_update(
    session: Session,
    user: User,
    thread_ids: list[int],
    action: str,
    value: str | None,
    *,
    now: datetime,
) -> BulkCounts:
    """Apply one action to the chosen threads through ``assignment.bulk_apply``.

    Actions: "assign" (value: a user id or "me"), "unassign", "status" (a status value),
    "add_tag"/"remove_tag" (a tag), "category" (a category id, "" for none). Threads the user may not see or change are skipped and
    counted as such. Raises InvalidInput for an empty choice, too many threads or an
    unknown action, and what bulk_apply raises (PermissionDenied, InvalidInput).
    """
    ids = sorted(set(thread_ids))
    if not ids:
        raise InvalidInput("Choose at least one thread.")
    if len(ids) > MAX_BULK:
        raise InvalidInput("Choose at most %(n)s threads at a time.", n=MAX_BULK)
    if action not in BULK_ACTIONS:
        raise InvalidInput("Unknown bulk action %(action)r.", action=action)
    return bulk_apply(session, ids, action, value, by=user, now=now)

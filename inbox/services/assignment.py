"""Who works a thread and how far it is: assignee, status, priority, tags, category; one at a time or in bulk.

Every change is checked against the version the person saw (optimistic locking through
``Thread.version``) and written to the event log. Replies, notes and deadlines live elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from inbox.models import Priority, Role, Status, Thread, ThreadTag, User
from inbox.services import categories, deadlines, history
from inbox.services.access import can_see_mailbox, get_thread, restrict_threads
from inbox.services.errors import (
    ConcurrentChange,
    InboxError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)

MAX_TAGS = 20
MAX_TAG_LENGTH = 64

# hook(session, thread, now), run after a thread's new status is saved (by hand, in bulk or by a
# reply); the thread's mailbox kind may act on it. Filled by ``inbox.wiring`` (mall channels).
StatusHook = Callable[[Session, Thread, datetime], None]
STATUS_HOOKS: list[StatusHook] = []
# hook(session, thread, now), run after a thread's new assignee is saved (by hand or in bulk).
# Filled by ``inbox.wiring`` (webhooks).
ASSIGNED_HOOKS: list[StatusHook] = []


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


def _checked(session: Session, thread_id: int, by: User, expected_version: int) -> Thread:
    thread = get_thread(session, by, thread_id)
    if thread.version != expected_version:
        raise ConcurrentChange(
            _("Someone else changed this thread while you were looking at it. Nothing was saved.")
        )
    return thread


def _save(session: Session, thread: Thread) -> Thread:
    """Write the thread now so that a concurrent writer shows up as ConcurrentChange here."""
    flag_modified(thread, "status")  # tag-only changes must bump the version too
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConcurrentChange(
            _("Someone else changed this thread while you were looking at it. Nothing was saved.")
        ) from exc
    return thread


def _lead(user: User) -> bool:
    return user.role in (Role.LEAD, Role.ADMIN)


def _assignee(session: Session, thread: Thread, assignee_id: int, by: User) -> User:
    if assignee_id != by.id and not _lead(by):
        raise PermissionDenied(_("Agents can assign threads only to themselves."))
    if thread.assignee_id not in (None, by.id, assignee_id) and not _lead(by):
        raise PermissionDenied(
            _("This thread is assigned to someone else; ask a lead to reassign it.")
        )
    user = session.get(User, assignee_id)
    if user is None or not user.active:
        raise InvalidInput(_("That person cannot work this mailbox."))
    if not can_see_mailbox(session, user, thread.mailbox_id):
        raise InvalidInput(
            _("%(name)s is not a member of %(mailbox)s."), name=user.name, mailbox=thread.mailbox.name
        )
    return user


def _apply_assign(session: Session, thread: Thread, assignee_id: int, by: User, now: datetime) -> bool:
    _assignee(session, thread, assignee_id, by)
    if thread.assignee_id == assignee_id:
        return False
    history.record(
        session, thread, "assigned", {"from": thread.assignee_id, "to": assignee_id}, by=by, now=now
    )
    thread.assignee_id = assignee_id
    return True


def _apply_unassign(session: Session, thread: Thread, by: User, now: datetime) -> bool:
    if thread.assignee_id is None:
        return False
    if thread.assignee_id != by.id and not _lead(by):
        raise PermissionDenied(_("Agents can unassign only themselves."))
    history.record(session, thread, "unassigned", {"from": thread.assignee_id}, by=by, now=now)
    thread.assignee_id = None
    return True


def _apply_status(session: Session, thread: Thread, status: Status, by: User, now: datetime) -> bool:
    if thread.status == status:
        return False
    if status == Status.RESOLVED:
        categories.check_resolvable(session, thread)
    history.record(
        session, thread, "status_changed", {"from": thread.status.value, "to": status.value}, by=by, now=now
    )
    thread.status = status
    return True


def status_changed(session: Session, thread: Thread, now: datetime) -> None:
    """Tell the ``STATUS_HOOKS`` that ``thread`` now has its status; call it once the change is saved."""
    for hook in STATUS_HOOKS:
        hook(session, thread, now)


def _apply_priority(
    session: Session, thread: Thread, priority: Priority, by: User, now: datetime
) -> bool:
    if thread.priority == priority:
        return False
    history.record(
        session,
        thread,
        "priority_changed",
        {"from": thread.priority.value, "to": priority.value},
        by=by,
        now=now,
    )
    thread.priority = priority
    deadlines.on_classification_changed(session, thread, now)
    return True


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Trimmed, single-spaced, de-duplicated tags in the order given; InvalidInput if too many/long."""
    result: list[str] = []
    for tag in tags:
        clean = " ".join(tag.split())
        if not clean or clean in result:
            continue
        if len(clean) > MAX_TAG_LENGTH:
            raise InvalidInput(_("A tag may be at most 64 characters long."))
        result.append(clean)
    if len(result) > MAX_TAGS:
        raise InvalidInput(_("A thread may have at most 20 tags."))
    return result


def _apply_tags(
    session: Session,
    thread: Thread,
    by: User,
    now: datetime,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    replace: list[str] | None = None,
) -> bool:
    current = [t.tag for t in thread.tags]
    wanted = list(replace) if replace is not None else [t for t in current if t not in set(remove)]
    wanted += [t for t in add if t not in wanted]
    wanted = normalize_tags(wanted)
    added = sorted(set(wanted) - set(current))
    removed = sorted(set(current) - set(wanted))
    if not added and not removed:
        return False
    thread.tags = [t for t in thread.tags if t.tag in wanted] + [ThreadTag(tag=t) for t in added]
    history.record(session, thread, "tags_changed", {"added": added, "removed": removed}, by=by, now=now)
    deadlines.on_classification_changed(session, thread, now)
    return True


def set_category(
    session: Session,
    thread_id: int,
    category_id: int | None,
    *,
    by: User,
    expected_version: int,
    now: datetime,
) -> Thread:
    """Set the thread's category (None: none). Raises NotFound, InvalidInput, ConcurrentChange."""
    thread = _checked(session, thread_id, by, expected_version)
    if categories.apply(session, thread, category_id, by=by, now=now):
        _save(session, thread)
    return thread


def assign(
    session: Session, thread_id: int, assignee_id: int, *, by: User, expected_version: int, now: datetime
) -> Thread:
    """Assign the thread to ``assignee_id``.

    Agents may only take a thread for themselves (and not from a colleague); leads and admins
    may assign anyone who can work the mailbox. Raises NotFound (thread not visible),
    PermissionDenied, InvalidInput (assignee cannot work the mailbox) or ConcurrentChange.
    """
    thread = _checked(session, thread_id, by, expected_version)
    if _apply_assign(session, thread, assignee_id, by, now):
        _save(session, thread)
        for hook in ASSIGNED_HOOKS:
            hook(session, thread, now)
    return thread


def unassign(
    session: Session, thread_id: int, *, by: User, expected_version: int, now: datetime
) -> Thread:
    """Remove the assignee; agents only themselves. Raises NotFound, PermissionDenied, ConcurrentChange."""
    thread = _checked(session, thread_id, by, expected_version)
    if _apply_unassign(session, thread, by, now):
        _save(session, thread)
    return thread


def set_status(
    session: Session, thread_id: int, status: Status, *, by: User, expected_version: int, now: datetime
) -> Thread:
    """Change the status (new/open/waiting/resolved). Raises NotFound or ConcurrentChange."""
    thread = _checked(session, thread_id, by, expected_version)
    if _apply_status(session, thread, status, by, now):
        _save(session, thread)
        status_changed(session, thread, now)
    return thread


def set_priority(
    session: Session,
    thread_id: int,
    priority: Priority,
    *,
    by: User,
    expected_version: int,
    now: datetime,
) -> Thread:
    """Change the priority. Raises NotFound or ConcurrentChange."""
    thread = _checked(session, thread_id, by, expected_version)
    if _apply_priority(session, thread, priority, by, now):
        _save(session, thread)
    return thread


def set_tags(
    session: Session,
    thread_id: int,
    tags: Iterable[str],
    *,
    by: User,
    expected_version: int,
    now: datetime,
) -> Thread:
    """Replace the thread's tags with ``tags`` (normalized). Raises NotFound, InvalidInput,
    ConcurrentChange."""
    thread = _checked(session, thread_id, by, expected_version)
    if _apply_tags(session, thread, by, now, replace=normalize_tags(tags)):
        _save(session, thread)
    return thread


# --- bulk ---------------------------------------------------------------------------------------

BULK_ACTIONS = ("assign", "unassign", "status", "priority", "add_tag", "remove_tag", "category")


@dataclass(frozen=True)
class BulkCounts:
    """What a bulk action did: threads changed, already in that state, and left out."""

    changed: int
    unchanged: int
    skipped: int  # not visible to the user, not allowed for them, or changed meanwhile
    # why threads were skipped: (one of the errors, how many threads it stood for), per message
    reasons: tuple[tuple[InboxError, int], ...] = field(default=(), compare=False)


def _bulk_value(session: Session, action: str, value: str | int | None, by: User) -> object:
    try:
        if action == "assign":
            assignee_id = by.id if value in ("me", None, "") else int(value)
            if assignee_id != by.id and not _lead(by):
                raise PermissionDenied(_("Agents can assign threads only to themselves."))
            return assignee_id
        if action == "status":
            return Status(value)
        if action == "priority":
            return Priority(value)
        if action == "category":
            return int(value) if value not in (None, "", "none") else None
        if action in ("add_tag", "remove_tag"):
            tags = normalize_tags([str(value or "")])
            if not tags:
                raise InvalidInput(_("Enter a tag."))
            return tags[0]
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_("That value is not valid for this action.")) from exc
    if action == "unassign":
        return None
    raise InvalidInput(_("Unknown bulk action."))


def _bulk_one(session: Session, thread: Thread, action: str, value: object, by: User, now: datetime) -> bool:
    if action == "assign":
        return _apply_assign(session, thread, value, by, now)  # type: ignore[arg-type]
    if action == "unassign":
        return _apply_unassign(session, thread, by, now)
    if action == "status":
        return _apply_status(session, thread, value, by, now)  # type: ignore[arg-type]
    if action == "priority":
        return _apply_priority(session, thread, value, by, now)  # type: ignore[arg-type]
    if action == "category":
        return categories.apply(session, thread, value, by=by, now=now)  # type: ignore[arg-type]
    if action == "add_tag":
        return _apply_tags(session, thread, by, now, add=[value])  # type: ignore[list-item]
    return _apply_tags(session, thread, by, now, remove=[value])  # type: ignore[list-item]


def bulk_apply(
    session: Session,
    thread_ids: Iterable[int],
    action: str,
    value: str | int | None,
    by: User,
    now: datetime,
) -> BulkCounts:
    """Apply one action to several threads: ``assign`` (value: a user id or "me"), ``unassign``,
    ``status``, ``priority`` (value: the enum value), ``add_tag``/``remove_tag`` (value: a tag),
    ``category`` (value: a category id, or "" for none; threads whose mailbox lacks it are skipped).

    Threads the user may not see, or may not change this way (an agent taking a colleague's
    thread), are skipped; each change is evented. Raises InvalidInput for an unknown action or
    value, PermissionDenied when the action itself is not allowed for the user.
    """
    checked = _bulk_value(session, action, value, by)
    ids = sorted({int(i) for i in thread_ids})
    stmt = restrict_threads(select(Thread).where(Thread.id.in_(ids)), session, by)
    threads = list(session.scalars(stmt.order_by(Thread.id)))
    changed = unchanged = 0
    skipped = len(ids) - len(threads)
    reasons: dict[str, tuple[InboxError, int]] = {}
    if skipped:
        gone = NotFound(_("not found, or not in your mailboxes"))
        reasons[str(gone)] = (gone, skipped)
    for thread in threads:
        try:
            with session.begin_nested():
                done = _bulk_one(session, thread, action, checked, by, now)
                if done:
                    _save(session, thread)
                    if action == "status":
                        status_changed(session, thread, now)
                    if action == "assign":
                        for hook in ASSIGNED_HOOKS:
                            hook(session, thread, now)
        except (PermissionDenied, InvalidInput, NotFound, ConcurrentChange) as exc:
            skipped += 1
            first, n = reasons.get(str(exc), (exc, 0))
            reasons[str(exc)] = (first, n + 1)
            continue
        if done:
            changed += 1
        else:
            unchanged += 1
    return BulkCounts(
        changed=changed, unchanged=unchanged, skipped=skipped, reasons=tuple(reasons.values())
    )


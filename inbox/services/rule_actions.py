"""What sorting rules do: run them on a stored incoming message (ingest), and the editor's dry run.

``on_stored_message`` is the ingest hook (``inbox.ingest.store.AFTER_STORE``, before the
deadline hook, so tags, priority, category and a named deadline rule set here count for the
thread's first deadline). Each rule that matches writes one ``rule_applied`` event in words
(rule name and what changed), and the individual changes write their usual events marked
with ``rule``. ``preview`` answers which of the last 500 threads a rule would match and what
it would change, writing nothing.

Where ``require_approval`` goes: ``Thread.approval_required`` is set True (what
``inbox.services.approval.required`` reads), an ``approval_flagged`` event names the rule, and
the ``rule_applied`` event lists ``{"what": "approval"}``.
Status changes made by rules do not run ``assignment.STATUS_HOOKS`` (a rule acts on mail
as it arrives; telling a mall that an inquiry is complete stays a person's decision), and the
"category required before resolve" setting binds people, not rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from inbox.models import (
    Attachment,
    BlockedSender,
    Category,
    Contact,
    Direction,
    Mailbox,
    MailboxMember,
    Message,
    Priority,
    SortingRule,
    Status,
    Thread,
    ThreadTag,
    User,
)
from inbox.services import assignment, categories, customers, deadlines, history, presence
from inbox.services.access import can_see_mailbox, restrict_threads
from inbox.services.errors import InvalidInput
from inbox.services.rules import SPAM_TAG, CompiledRule, Facts, compile_rule, rules_in_force

PREVIEW_THREADS = 500


@dataclass
class Outcome:
    """What one rule did (or would do) to one thread: display-ready changes, and whether to stop."""

    rule: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    stop: bool = False


# --- facts ----------------------------------------------------------------------------------------


def _addresses(items: Iterable[Any]) -> list[str]:
    return [str(a.get("address", "")).lower() for a in items or [] if isinstance(a, dict)]


def facts_for(
    thread: Thread,
    message: Message,
    mailbox: Mailbox,
    *,
    new_thread: bool,
    vip: bool | None = None,
    has_attachment: bool | None = None,
    calendar=None,
) -> Facts:
    """The facts of ``message`` in ``thread``; each is read only if a condition asks for it."""
    return Facts(
        new_thread=new_thread,
        sender=lambda: (message.from_address or "").lower(),
        recipients=lambda: _addresses(message.to) + _addresses(message.cc),
        subject_text=lambda: message.subject or thread.subject or "",
        body_text=lambda: message.new_text or message.text or "",
        kind=lambda: message.kind.value if message.kind else "normal",
        channel=lambda: mailbox.kind.value,
        mall_values=lambda: categories.mall_values(thread.external_meta),
        has_attachment=(
            (lambda: any(not a.inline for a in message.attachments))
            if has_attachment is None else (lambda: has_attachment)
        ),
        inside_hours=lambda: (calendar or deadlines.calendar_for(mailbox)).is_open(message.received_at),
        vip=(lambda: bool(thread.contact is not None and thread.contact.vip)) if vip is None else (lambda: vip),
        customer_vip=lambda: customers.is_vip(thread),
    )


# --- actions ----------------------------------------------------------------------------------------


class _Run:
    """One rule's actions on one thread; with ``dry`` nothing is changed, only described."""

    def __init__(self, session: Session, thread: Thread, rule: CompiledRule, facts: Facts, *, now: datetime, dry: bool):
        self.session, self.thread, self.rule, self.facts = session, thread, rule, facts
        self.now, self.dry = now, dry
        self.out = Outcome(rule.name)
        self.reclassified = False

    def note(self, what: str, value: Any = None) -> None:
        self.out.changes.append({"what": what, "value": value})

    def event(self, kind: str, data: dict[str, Any]) -> None:
        if not self.dry:
            history.record(self.session, self.thread, kind, {**data, "rule": self.rule.name}, by=None, now=self.now)

    def add_tags(self, tags: list[str]) -> None:
        current = [t.tag for t in self.thread.tags]
        added = [t for t in tags if t not in current]
        if not added:
            return
        try:
            assignment.normalize_tags(current + added)
        except InvalidInput:
            return  # the thread already has as many tags as it may
        if not self.dry:
            self.thread.tags = [*self.thread.tags, *(ThreadTag(tag=t) for t in added)]
            self.event("tags_changed", {"added": sorted(added), "removed": []})
            self.reclassified = True
        self.note("tags", added)

    def set_category(self, category_id: int) -> None:
        if self.thread.category_id == category_id:
            return
        category = self.session.get(Category, category_id)
        if category is None or not category.active or category.mailbox_id not in (None, self.thread.mailbox_id):
            return
        if not self.dry:
            categories.apply(self.session, self.thread, category_id, by=None, now=self.now, rule=self.rule.name)
        self.note("category", category.label)

    def set_priority(self, value: str) -> None:
        priority = Priority(value)
        current = self.thread.priority or Priority.NORMAL  # a thread made at ingest has no value yet
        if current == priority:
            return
        if not self.dry:
            self.event("priority_changed", {"from": current.value, "to": priority.value})
            self.thread.priority = priority
            self.reclassified = True
        self.note("priority", priority.value)

    def set_status(self, value: str) -> None:
        status = Status(value)
        if self.thread.status == status:
            return
        if not self.dry:
            self.event("status_changed", {"from": self.thread.status.value, "to": status.value, "by": "rule"})
            self.thread.status = status
            self.session.flush()  # a thread new at ingest gets its id before the hooks see it
            assignment.status_changed(self.session, self.thread, self.now)  # as a change by hand does
        self.note("status", status.value)

    def assign_to(self, user_id: int | None) -> None:
        if user_id is None or self.thread.assignee_id == user_id:
            return
        user = self.session.get(User, user_id)
        if user is None or not user.active or not can_see_mailbox(self.session, user, self.thread.mailbox_id):
            return  # e.g. a global rule naming someone who does not work this mailbox
        if not self.dry:
            self.event("assigned", {"from": self.thread.assignee_id, "to": user_id})
            self.thread.assignee_id = user_id
        self.note("assignee", user.name)

    def _members(self) -> list[int]:
        return list(
            self.session.scalars(
                select(User.id)
                .join(MailboxMember, MailboxMember.user_id == User.id)
                .where(MailboxMember.mailbox_id == self.thread.mailbox_id, User.active)
                .order_by(User.id)
            )
        )

    def round_robin(self) -> None:
        members = self._members()
        if not members:
            return
        row = self.session.get(SortingRule, self.rule.id) if self.rule.id else None
        key = str(self.thread.mailbox_id)
        last = (row.state or {}).get(key) if row is not None else None
        later = [m for m in members if last is not None and m > last]
        chosen = later[0] if later else members[0]
        if row is not None and not self.dry:
            row.state = {**(row.state or {}), key: chosen}
        self.assign_to(chosen)

    def least_loaded(self) -> None:
        working = sorted(presence.working_user_ids(self.session, self._members(), now=self.now))
        if not working:
            return
        load = dict(
            self.session.execute(
                select(Thread.assignee_id, func.count())
                .where(Thread.assignee_id.in_(working), Thread.status.in_(deadlines.OPEN_STATUSES))
                .group_by(Thread.assignee_id)
            ).all()
        )
        self.assign_to(min(working, key=lambda u: (load.get(u, 0), u)))

    def move(self, mailbox_id: int) -> None:
        if self.thread.mailbox_id == mailbox_id:
            return
        target = self.session.get(Mailbox, mailbox_id)
        if target is None:
            return
        if not self.dry:
            source = self.thread.mailbox or self.session.get(Mailbox, self.thread.mailbox_id)
            self.event("moved", {"from_mailbox": self.thread.mailbox_id, "to_mailbox": mailbox_id,
                                 "from_name": source.name if source else "", "to_name": target.name})
            self.thread.mailbox = target
            self.thread.mailbox_id = target.id
        self.note("mailbox", target.name)

    def deadline_rule(self, name: str) -> None:
        if self.thread.deadline_rule == name:
            return
        if not self.dry:
            self.thread.deadline_rule = name
            self.reclassified = True
        self.note("deadline_rule", name)

    def spam(self) -> None:
        self.add_tags([SPAM_TAG])
        self.set_status(Status.RESOLVED.value)
        self.note("spam")

    def block_sender(self) -> None:
        address = self.facts.sender
        if address and not self.dry:
            known = self.session.scalar(
                select(BlockedSender.id).where(
                    BlockedSender.address == address,
                    BlockedSender.mailbox_id.is_(None) if self.rule.mailbox_id is None
                    else BlockedSender.mailbox_id == self.rule.mailbox_id,
                )
            )
            if known is None:
                self.session.add(BlockedSender(mailbox_id=self.rule.mailbox_id, address=address))
                self.session.info.pop(_BLOCKED, None)
        if address:
            self.note("blocked", address)
        self.spam()

    def require_approval(self) -> None:
        if self.thread.approval_required:
            return
        if not self.dry:
            # Set on the object, not by UPDATE (as approval.require_for_thread does): at ingest
            # the thread may be new, without an id yet.
            self.thread.approval_required = True
            self.event("approval_flagged", {})
        self.note("approval")

    def run(self) -> Outcome:
        for kind, value in self.rule.actions:
            if kind == "stop":
                self.out.stop = True
                continue
            handler = {
                "add_tags": lambda v: self.add_tags(list(v or [])),
                "set_category": self.set_category,
                "set_priority": self.set_priority,
                "set_status": self.set_status,
                "assign": self.assign_to,
                "assign_round_robin": lambda _v: self.round_robin(),
                "assign_least_loaded": lambda _v: self.least_loaded(),
                "move_mailbox": self.move,
                "deadline_rule": self.deadline_rule,
                "spam": lambda _v: self.spam(),
                "block_sender": lambda _v: self.block_sender(),
                "require_approval": lambda _v: self.require_approval(),
            }.get(kind)
            if handler is not None:
                handler(value)
        return self.out


def run_rules(
    session: Session, thread: Thread, facts: Facts, rules: Iterable[CompiledRule], *, now: datetime, dry: bool = False
) -> list[Outcome]:
    """Run ``rules`` in order on ``thread``: each matching rule's actions, until one says stop."""
    outcomes: list[Outcome] = []
    reclassified = False
    for rule in rules:
        if not rule.matches(facts):
            continue
        run = _Run(session, thread, rule, facts, now=now, dry=dry)
        outcome = run.run()
        reclassified |= run.reclassified
        outcomes.append(outcome)
        if not dry:
            history.record(
                session, thread, "rule_applied",
                {"rule": rule.name, "rule_id": rule.id, "changes": outcome.changes}, by=None, now=now,
            )
        if outcome.stop:
            break
    if reclassified and not dry:
        deadlines.on_classification_changed(session, thread, now)
    return outcomes


# --- at ingest --------------------------------------------------------------------------------------


_BLOCKED = "inbox.blocked_senders"


def _blocked(session: Session, mailbox_id: int, sender: str) -> bool:
    """Is ``sender`` blocked for the mailbox (or everywhere)? Read once per session and mailbox."""
    cache: dict[int, set[str]] = session.info.setdefault(_BLOCKED, {})
    if mailbox_id not in cache:
        cache[mailbox_id] = set(
            session.scalars(
                select(BlockedSender.address).where(
                    (BlockedSender.mailbox_id == mailbox_id) | BlockedSender.mailbox_id.is_(None)
                )
            )
        )
    return bool(sender) and sender in cache[mailbox_id]


BLOCKED_RULE = CompiledRule(id=0, name="", mailbox_id=None, match_all=True, conditions=(), actions=(("spam", None), ("stop", None)))


def on_stored_message(session: Session, stored: Any) -> None:
    """AFTER_STORE hook: run the sorting rules on an incoming customer message.

    ``stored`` has ``.thread``, ``.message``, ``.created``, ``.mailbox`` and ``.now``. Our own
    mail is left alone. Mail from a blocked sender is marked as spam and no rule runs.
    """
    message, thread, now = stored.message, stored.thread, stored.now
    if message.direction != Direction.INBOUND:
        return
    with session.no_autoflush:
        mailbox = stored.mailbox or session.get(Mailbox, thread.mailbox_id)
        if mall_category := (stored.created and categories.category_for_mall(mailbox, thread.external_meta)):
            try:
                categories.apply(session, thread, mall_category, by=None, now=now)
            except InvalidInput:
                pass  # the mapped category was switched off meanwhile
        rules = rules_in_force(session, mailbox.id)
        sender = (message.from_address or "").lower()
        blocked = _blocked(session, mailbox.id, sender)
        if not rules and not blocked:
            return
        cal = session.info.setdefault("inbox.calendars", {})
        if mailbox.id not in cal:
            cal[mailbox.id] = deadlines.calendar_for(mailbox)
        facts = facts_for(thread, message, mailbox, new_thread=stored.created, calendar=cal[mailbox.id])
        if blocked:
            run_rules(session, thread, facts, [BLOCKED_RULE], now=now)
            return
        run_rules(session, thread, facts, rules, now=now)


# --- dry run ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    thread: Thread
    changes: list[dict[str, Any]]


def preview(session: Session, user: User, rule: SortingRule, *, now: datetime, limit: int = PREVIEW_THREADS) -> tuple[int, list[PreviewRow]]:
    """Which of the last ``limit`` threads in the rule's scope ``rule`` matches, and what it would change.

    Each thread is judged by its first customer message, as if it arrived now as a new
    thread. Writes nothing. Returns (threads looked at, matching rows, newest first).
    """
    compiled = compile_rule(rule)
    stmt = restrict_threads(select(Thread), session, user)
    if rule.mailbox_id is not None:
        stmt = stmt.where(Thread.mailbox_id == rule.mailbox_id)
    stmt = stmt.options(joinedload(Thread.mailbox), joinedload(Thread.contact)).order_by(Thread.id.desc()).limit(limit)
    threads = list(session.scalars(stmt).unique())
    if not threads:
        return 0, []
    ids = [t.id for t in threads]
    first_ids = select(func.min(Message.id)).where(
        Message.thread_id.in_(ids), Message.direction == Direction.INBOUND
    ).group_by(Message.thread_id)
    messages = {m.thread_id: m for m in session.scalars(select(Message).where(Message.id.in_(first_ids)))}
    with_files = set(
        session.scalars(
            select(Attachment.message_id).where(
                Attachment.message_id.in_([m.id for m in messages.values()]), Attachment.inline.is_(False)
            )
        )
    ) if messages else set()
    calendars: dict[int, Any] = {}
    rows: list[PreviewRow] = []
    with session.no_autoflush:
        for thread in threads:
            message = messages.get(thread.id)
            if message is None:
                continue
            mailbox = thread.mailbox
            cal = calendars.setdefault(mailbox.id, deadlines.calendar_for(mailbox))
            contact: Contact | None = thread.contact
            facts = facts_for(
                thread, message, mailbox, new_thread=True, vip=bool(contact and contact.vip),
                has_attachment=message.id in with_files, calendar=cal,
            )
            outcomes = run_rules(session, thread, facts, [compiled], now=now, dry=True)
            if outcomes:
                rows.append(PreviewRow(thread, outcomes[0].changes))
    return len(threads), rows

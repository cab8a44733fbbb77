"""Sorting rules (振り分けルール): what a rule is, who edits it, and whether incoming mail matches it.

A rule belongs to one mailbox or is global (``mailbox_id`` None; global rules run first). It
has conditions, combined with all (``match_all``) or any, and actions, both stored as JSON
lists of ``{"field"|"type": ..., "value": ...}`` with values already resolved to ids. Admins
edit every rule, leads the rules of their own mailboxes. What the actions do, at ingest and
in the dry-run preview, lives in ``inbox.services.rule_actions``. Knows nothing of HTTP.

Text conditions are Japanese-aware: subject, body, sender and mall type are compared after
``fold``: NFKC (full-width Ａ and half-width ｶﾅ become A and カナ), case folding, and
katakana folded to hiragana, so 「ﾍﾝﾋﾟﾝ」 matches a rule for 「へんぴん」.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inbox.models import (
    Category,
    Mailbox,
    MailboxKind,
    MessageKind,
    Priority,
    Role,
    SortingRule,
    Status,
    User,
)
from inbox.services import history
from inbox.services.access import can_see_mailbox, get_thread, require_role, visible_mailbox_ids
from inbox.services.assignment import normalize_tags
from inbox.services.errors import InvalidInput, NotFound, PermissionDenied

MAX_CONDITIONS = 20
MAX_ACTIONS = 20
MAX_VALUE = 500

# Condition fields, each with the values it takes (None: free text).
CONDITIONS: dict[str, tuple[str, ...] | None] = {
    "sender": None,  # an address (a@b.jp) or a domain (b.jp, @b.jp; subdomains match too)
    "recipient": None,  # the address the mail was sent to (To or Cc)
    "subject": None,  # subject contains
    "body": None,  # body contains
    "kind": tuple(k.value for k in MessageKind),
    "channel": tuple(k.value for k in MailboxKind),
    "mall_type": None,  # the mall's inquiry type or category contains
    "has_attachment": ("yes", "no"),
    "business_hours": ("inside", "outside"),
    "vip": ("yes", "no"),
    "thread": ("new", "followup"),
}
# Action types; those in NO_VALUE take no value.
ACTIONS = (
    "add_tags", "set_category", "set_priority", "assign", "assign_round_robin",
    "assign_least_loaded", "set_status", "move_mailbox", "deadline_rule", "spam",
    "block_sender", "require_approval", "stop",
)  # fmt: skip
NO_VALUE = frozenset(
    {"assign_round_robin", "assign_least_loaded", "spam", "block_sender", "require_approval", "stop"}
)
# Japanese names people may type for priorities and statuses (the English values work too).
PRIORITY_WORDS = {"低": "low", "通常": "normal", "高": "high", "緊急": "urgent"}
STATUS_WORDS = {"未対応": "new", "対応中": "open", "保留": "waiting", "対応完了": "resolved"}
SPAM_TAG = "spam"


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


# --- folding ------------------------------------------------------------------------------------

_KATAKANA = {c: c - 0x60 for c in range(0x30A1, 0x30F7)}  # ァ..ヶ → ぁ..ゖ


def fold(text: str) -> str:
    """Text as the contains-conditions compare it: NFKC, case-folded, katakana → hiragana."""
    return unicodedata.normalize("NFKC", text or "").casefold().translate(_KATAKANA)


# --- the mail a rule looks at -------------------------------------------------------------------


class Facts:
    """What the conditions read about one incoming message and its thread.

    Each value is worked out the first time a condition asks for it (folding a long body or
    looking at the calendar costs time that most rules never need).
    """

    def __init__(self, *, new_thread: bool, **getters: Callable[[], Any]) -> None:
        # getters: sender, recipients, subject_text, body_text, kind, channel, mall_values,
        # has_attachment, inside_hours, vip
        self._get = getters
        self.new_thread = new_thread

    def __getattr__(self, name: str) -> Any:
        get = self.__dict__.get("_get", {}).get(name)
        if get is None:
            raise AttributeError(name)
        value = get()
        setattr(self, name, value)
        return value

    @cached_property
    def subject(self) -> str:
        return fold(self.subject_text)

    @cached_property
    def body(self) -> str:
        return fold(self.body_text)

    @cached_property
    def mall(self) -> list[str]:
        return [fold(v) for v in self.mall_values]


def _sender_matches(sender: str, value: str) -> bool:
    if "@" in value.lstrip("@"):
        return sender == value
    domain = value.lstrip("@")
    host = sender.rpartition("@")[2]
    return host == domain or host.endswith("." + domain)


def predicate(field: str, value: Any) -> Callable[[Facts], bool]:
    """One condition as a test on Facts (``value`` as stored: folded text, or a field's choice)."""
    if field == "sender":
        return lambda f: _sender_matches(f.sender, value)
    if field == "recipient":
        return lambda f: value in f.recipients
    if field == "subject":
        return lambda f: value in f.subject
    if field == "body":
        return lambda f: value in f.body
    if field == "kind":
        return lambda f: f.kind == value
    if field == "channel":
        return lambda f: f.channel == value
    if field == "mall_type":
        return lambda f: any(value in v for v in f.mall)
    flag = value in ("yes", "inside", "new")
    if field == "has_attachment":
        return lambda f: f.has_attachment == flag
    if field == "business_hours":
        return lambda f: f.inside_hours == flag
    if field == "vip":
        return lambda f: f.vip == flag
    if field == "thread":
        return lambda f: f.new_thread == flag
    return lambda f: False


@dataclass(frozen=True)
class CompiledRule:
    """A rule as ingest runs it: plain values, no ORM object (so it can be cached per session)."""

    id: int
    name: str
    mailbox_id: int | None
    match_all: bool
    conditions: tuple[tuple[str, Any], ...]
    actions: tuple[tuple[str, Any], ...]
    tests: tuple[Callable[[Facts], bool], ...] = ()

    def matches(self, facts: Facts) -> bool:
        if not self.tests:
            return True
        if self.match_all:
            for test in self.tests:
                if not test(facts):
                    return False
            return True
        for test in self.tests:
            if test(facts):
                return True
        return False


_COST = {
    "thread": 0, "kind": 0, "channel": 0, "vip": 1, "sender": 1, "recipient": 2, "subject": 2,
    "mall_type": 2, "business_hours": 3, "has_attachment": 3, "body": 4,
}


def compile_rule(rule: SortingRule) -> CompiledRule:
    conditions = tuple((c["field"], c.get("value")) for c in rule.conditions or [])
    return CompiledRule(
        id=rule.id,
        name=rule.name,
        mailbox_id=rule.mailbox_id,
        match_all=rule.match_all,
        conditions=conditions,
        actions=tuple((a["type"], a.get("value")) for a in rule.actions or []),
        # Cheapest first: with all/any the answer is the same in any order, and a cheap test
        # that decides it spares folding a long body.
        tests=tuple(predicate(f, v) for f, v in sorted(conditions, key=lambda c: _COST.get(c[0], 9))),
    )


_CACHE = "inbox.sorting_rules"


def rules_in_force(session: Session, mailbox_id: int) -> list[CompiledRule]:
    """Active global rules, then the mailbox's own, each in position order.

    Read once per session and mailbox (an ingest batch is one session); saving a rule through
    this module empties the cache of the session that saved it.
    """
    cache: dict[int, list[CompiledRule]] = session.info.setdefault(_CACHE, {})
    if mailbox_id not in cache:
        rows = session.scalars(
            select(SortingRule)
            .where(
                SortingRule.active,
                or_(SortingRule.mailbox_id.is_(None), SortingRule.mailbox_id == mailbox_id),
            )
            .order_by(SortingRule.mailbox_id.is_not(None), SortingRule.position, SortingRule.id)
        )
        cache[mailbox_id] = [compile_rule(r) for r in rows]
    return cache[mailbox_id]


def forget_cache(session: Session) -> None:
    session.info.pop(_CACHE, None)


# --- who edits what -----------------------------------------------------------------------------


def editable_scopes(session: Session, user: User) -> list[int | None]:
    """None (global rules) and every mailbox for admins; own mailboxes for leads; nothing for agents."""
    if user.role == Role.ADMIN:
        return [None, *visible_mailbox_ids(session, user)]
    if user.role == Role.LEAD:
        return list(visible_mailbox_ids(session, user))
    return []


def visible_rules(session: Session, user: User) -> list[SortingRule]:
    """The rules the user may edit, global first, then by mailbox and position."""
    scopes = editable_scopes(session, user)
    if not scopes:
        raise PermissionDenied(_("Only admins and leads may edit sorting rules."))
    ids = [s for s in scopes if s is not None]
    cond = SortingRule.mailbox_id.in_(ids)
    if None in scopes:
        cond = or_(cond, SortingRule.mailbox_id.is_(None))
    return list(
        session.scalars(
            select(SortingRule)
            .where(cond)
            .order_by(
                SortingRule.mailbox_id.is_not(None), SortingRule.mailbox_id,
                SortingRule.position, SortingRule.id,
            )
        )
    )


def get_rule(session: Session, user: User, rule_id: int) -> SortingRule:
    """The rule, if the user may edit it; NotFound otherwise (no difference shown)."""
    rule = session.get(SortingRule, rule_id)
    if rule is None or rule.mailbox_id not in editable_scopes(session, user):
        raise NotFound(_("This rule does not exist or is not yours to edit."))
    return rule


# --- reading what a person typed ----------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    """A rule as the editor sends it: rows of (field, text) and (type, text)."""

    name: str
    mailbox_id: int | None
    match_all: bool
    active: bool
    conditions: list[tuple[str, str]]
    actions: list[tuple[str, str]]


def _condition(field: str, text: str, n: int) -> dict[str, Any]:
    if field not in CONDITIONS:
        raise InvalidInput(_("Condition %(n)s: unknown condition."), n=n)
    text = " ".join(text.split())
    choices = CONDITIONS[field]
    if choices is not None:
        if text not in choices:
            raise InvalidInput(_("Condition %(n)s: choose one of the listed values."), n=n)
        return {"field": field, "value": text}
    if not text or len(text) > MAX_VALUE:
        raise InvalidInput(_("Condition %(n)s: enter a value (at most 500 characters)."), n=n)
    if field in ("sender", "recipient"):
        value = text.lower()
        if field == "recipient" and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
            raise InvalidInput(_("Condition %(n)s: enter a mail address."), n=n)
        return {"field": field, "value": value}
    return {"field": field, "value": fold(text)}


def _user(session: Session, text: str, mailbox_id: int | None, n: int) -> int:
    found = session.scalars(
        select(User).where(User.active, or_(User.email == text.lower(), User.name == text))
    ).all()
    if len(found) != 1 or (
        mailbox_id is not None and not can_see_mailbox(session, found[0], mailbox_id)
    ):
        raise InvalidInput(_("Action %(n)s: no one of that name or address works this mailbox."), n=n)
    return found[0].id


def _category(session: Session, text: str, mailbox_id: int | None, n: int) -> int:
    wanted = " ".join(text.replace(">", "›").split())
    rows = session.scalars(
        select(Category).where(
            Category.active,
            or_(Category.mailbox_id.is_(None), Category.mailbox_id == mailbox_id),
        )
    ).all()
    for c in rows:
        if wanted in (c.label, str(c.id)):
            return c.id
    raise InvalidInput(_("Action %(n)s: no such category for this mailbox."), n=n)


def _mailbox(session: Session, user: User, text: str, n: int) -> int:
    box = session.scalar(select(Mailbox).where(Mailbox.name == text))
    if box is None and text.isdigit():
        box = session.get(Mailbox, int(text))
    if box is None or not can_see_mailbox(session, user, box.id):
        raise InvalidInput(_("Action %(n)s: no such mailbox of yours."), n=n)
    return box.id


def _action(session: Session, user: User, kind: str, text: str, mailbox_id: int | None, n: int) -> dict[str, Any]:
    if kind not in ACTIONS:
        raise InvalidInput(_("Action %(n)s: unknown action."), n=n)
    if kind in NO_VALUE:
        return {"type": kind}
    text = " ".join(text.split())
    if not text or len(text) > MAX_VALUE:
        raise InvalidInput(_("Action %(n)s: enter a value."), n=n)
    value: Any
    if kind == "add_tags":
        value = normalize_tags(re.split(r"[,、，]", text))
    elif kind == "set_category":
        value = _category(session, text, mailbox_id, n)
    elif kind == "set_priority":
        value = PRIORITY_WORDS.get(text, text.lower())
        if value not in {p.value for p in Priority}:
            raise InvalidInput(_("Action %(n)s: unknown priority."), n=n)
    elif kind == "set_status":
        value = STATUS_WORDS.get(text, text.lower())
        if value not in {s.value for s in Status}:
            raise InvalidInput(_("Action %(n)s: unknown status."), n=n)
    elif kind == "assign":
        value = _user(session, text, mailbox_id, n)
    elif kind == "move_mailbox":
        value = _mailbox(session, user, text, n)
    else:  # deadline_rule
        value = text[:64]
    return {"type": kind, "value": value}


def _parsed(session: Session, user: User, data: RuleInput) -> tuple[list[dict], list[dict]]:
    if data.mailbox_id not in editable_scopes(session, user):
        raise PermissionDenied(_("You may not edit the rules of this mailbox."))
    conditions = [
        _condition(f, t, n) for n, (f, t) in enumerate(data.conditions, 1) if f and (t.strip() or CONDITIONS.get(f))
    ]
    actions = [
        _action(session, user, k, t, data.mailbox_id, n)
        for n, (k, t) in enumerate(data.actions, 1)
        if k
    ]
    if len(conditions) > MAX_CONDITIONS or len(actions) > MAX_ACTIONS:
        raise InvalidInput(_("A rule may have at most 20 conditions and 20 actions."))
    if not actions:
        raise InvalidInput(_("A rule needs at least one action."))
    return conditions, actions


def _name(name: str) -> str:
    clean = " ".join((name or "").split())
    if not clean or len(clean) > 120:
        raise InvalidInput(_("Enter a rule name of at most 120 characters."))
    return clean


def build(session: Session, user: User, data: RuleInput) -> SortingRule:
    """A rule made from the editor's input, not added to the session (for the preview too).

    Raises PermissionDenied (scope not the user's) or InvalidInput naming the first bad row.
    """
    conditions, actions = _parsed(session, user, data)
    return SortingRule(
        id=None, mailbox_id=data.mailbox_id, name=_name(data.name), active=data.active,
        match_all=data.match_all, conditions=conditions, actions=actions, state={},
    )


def save(
    session: Session, user: User, data: RuleInput, *, rule_id: int | None, now: datetime
) -> SortingRule:
    """Create (``rule_id`` None, placed last) or replace a rule; audited. Raises as ``build``."""
    built = build(session, user, data)
    if rule_id is None:
        last = session.scalar(
            select(SortingRule.position)
            .where(_scope(data.mailbox_id))
            .order_by(SortingRule.position.desc())
            .limit(1)
        )
        rule = SortingRule(position=(last or 0) + 1, state={})
        session.add(rule)
        before = None
    else:
        rule = get_rule(session, user, rule_id)
        before = _snapshot(rule)
        if rule.mailbox_id != data.mailbox_id:
            rule.state = {}
    for key in ("mailbox_id", "name", "active", "match_all", "conditions", "actions"):
        setattr(rule, key, getattr(built, key))
    rule.updated_at = now
    session.flush()
    history.audit(
        session, "sorting_rule_saved", {"rule": rule.id, "before": before, "after": _snapshot(rule)},
        by=user, now=now,
    )
    forget_cache(session)
    return rule


def _scope(mailbox_id: int | None):
    return SortingRule.mailbox_id.is_(None) if mailbox_id is None else SortingRule.mailbox_id == mailbox_id


def _snapshot(rule: SortingRule) -> dict[str, Any]:
    return {
        "name": rule.name, "mailbox": rule.mailbox_id, "active": rule.active,
        "match_all": rule.match_all, "conditions": rule.conditions, "actions": rule.actions,
    }


def delete(session: Session, user: User, rule_id: int, *, now: datetime) -> None:
    rule = get_rule(session, user, rule_id)
    history.audit(session, "sorting_rule_deleted", {"rule": rule.id, "before": _snapshot(rule)}, by=user, now=now)
    session.delete(rule)
    forget_cache(session)


def move(session: Session, user: User, rule_id: int, *, up: bool, now: datetime) -> None:
    """Swap the rule with its neighbour in its scope (earlier rules run first)."""
    rule = get_rule(session, user, rule_id)
    siblings = list(
        session.scalars(
            select(SortingRule).where(_scope(rule.mailbox_id)).order_by(SortingRule.position, SortingRule.id)
        )
    )
    for i, r in enumerate(siblings):
        r.position = i + 1
    i = siblings.index(rule)
    j = i - 1 if up else i + 1
    if 0 <= j < len(siblings):
        siblings[i].position, siblings[j].position = siblings[j].position, siblings[i].position
        history.audit(session, "sorting_rule_moved", {"rule": rule.id, "up": up}, by=user, now=now)
    forget_cache(session)


def as_rows(rule: SortingRule | None, names: Mapping[str, Mapping[Any, str]]) -> dict[str, Any]:
    """The editor's rows for a stored rule: values shown as people typed them.

    ``names`` maps "user"/"category"/"mailbox" ids to what the editor shows for them.
    """
    if rule is None:
        return {"conditions": [], "actions": []}
    shown = {"assign": "user", "set_category": "category", "move_mailbox": "mailbox"}
    actions = []
    for a in rule.actions or []:
        value = a.get("value")
        if a["type"] in shown:
            value = names.get(shown[a["type"]], {}).get(value, value)
        elif isinstance(value, list):
            value = ", ".join(value)
        actions.append((a["type"], "" if value is None else str(value)))
    return {
        "conditions": [(c["field"], str(c.get("value", ""))) for c in rule.conditions or []],
        "actions": actions,
    }


def input_rows(fields: Iterable[str], texts: Iterable[str]) -> list[tuple[str, str]]:
    """Zip the editor's parallel select/text lists into rows (blank rows dropped)."""
    return [(f.strip(), t or "") for f, t in zip(fields, texts, strict=False) if f.strip()]


def set_vip(session: Session, user: User, thread_id: int, vip: bool, *, now: datetime) -> None:
    """Mark the thread's customer as VIP or not (what the ``vip`` condition reads); leads and
    admins of the thread's mailbox. Raises NotFound, PermissionDenied or InvalidInput (no customer)."""
    thread = get_thread(session, user, thread_id)
    require_role(user, Role.ADMIN, Role.LEAD)
    if thread.contact is None:
        raise InvalidInput(_("No contact is known for this thread."))
    if thread.contact.vip != vip:
        thread.contact.vip = vip
        history.record(session, thread, "customer_vip", {"vip": vip}, by=user, now=now)

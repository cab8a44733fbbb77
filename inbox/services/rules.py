"""Sorting rules (振り分けルール): what a rule is, who edits it, and whether incoming mail matches it.

A rule belongs to one mailbox or is global (``mailbox_id`` None; global rules run first). It
has conditions, combined with all (``match_all``) or any, and actions, both stored as JSON
lists of ``{"field"|"type": ..., "value": ...}`` with values already resolved to ids. Admins
edit every rule, leads the rules of their own mailboxes. Reading the editor's input and saving
live in ``inbox.services.rule_editor``; what the actions do, at ingest and in the dry-run
preview, in ``inbox.services.rule_actions``. Knows nothing of HTTP.

Text conditions are Japanese-aware: subject, body and mall type are compared after
``fold``: NFKC (full-width Ａ and half-width ｶﾅ become A and カナ), case folding, and
katakana folded to hiragana, so 「ﾍﾝﾋﾟﾝ」 matches a rule for 「へんぴん」.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inbox.models import MailboxKind, MessageKind, SortingRule, User
from inbox.services.access import editable_scopes
from inbox.services.errors import NotFound, PermissionDenied

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
    # The customer's profile is marked VIP (through any of their linked identities).
    "customer_vip": ("yes", "no"),
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
        # has_attachment, inside_hours, vip, customer_vip
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
    if field == "customer_vip":
        return lambda f: f.customer_vip == flag
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
    "thread": 0, "kind": 0, "channel": 0, "vip": 1, "customer_vip": 2, "sender": 1, "recipient": 2, "subject": 2,
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

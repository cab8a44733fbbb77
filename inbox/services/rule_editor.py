"""Editing sorting rules: reading what a person typed in the rule editor (names, addresses and
labels resolved to ids, text folded), saving, deleting and reordering, with an audit event
each; and the customer VIP mark the ``vip`` condition reads. What a rule is and who may edit
it live in ``inbox.services.rules``. Knows nothing of HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inbox.models import Category, Mailbox, Priority, Role, SortingRule, Status, User
from inbox.services import customers, history
from inbox.services.access import can_see_mailbox, get_thread, require_role
from inbox.services.assignment import normalize_tags
from inbox.services.errors import InvalidInput, PermissionDenied
from inbox.services.rules import (
    ACTIONS,
    CONDITIONS,
    MAX_ACTIONS,
    MAX_CONDITIONS,
    MAX_VALUE,
    NO_VALUE,
    PRIORITY_WORDS,
    STATUS_WORDS,
    editable_scopes,
    fold,
    forget_cache,
    get_rule,
)


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


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
    if len(data.conditions) > MAX_CONDITIONS or len(data.actions) > MAX_ACTIONS:
        raise InvalidInput(_("A rule may have at most 20 conditions and 20 actions."))
    conditions = [_condition(f, t, n) for n, (f, t) in enumerate(data.conditions, 1) if f]
    actions = [
        _action(session, user, k, t, data.mailbox_id, n) for n, (k, t) in enumerate(data.actions, 1) if k
    ]
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
        # Every identity of the customer carries the mark (see inbox.services.customers).
        customers.mark_vip(session, customers.primary_id(session, thread.contact.id), vip)
        history.record(session, thread, "customer_vip", {"vip": vip}, by=user, now=now)

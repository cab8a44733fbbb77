"""Reply deadlines: the mailbox's calendar and rules, due_at set by rule or by hand. Knows nothing of alerts or email."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from inbox.models import Event, Mailbox, Thread
from inbox.services.business_hours import BusinessCalendar, DeadlineRule, due_from_rule, pick_rule

DEFAULT_RULES = [DeadlineRule(business_days=1)]


def calendar_for(mailbox: Mailbox) -> BusinessCalendar:
    """The mailbox team's business calendar (its timezone, hours, closed days, JP holidays)."""
    cfg: dict[str, Any] = {"timezone": mailbox.timezone}
    cfg.update({k: v for k, v in (mailbox.calendar or {}).items() if k != "timezone"})
    return BusinessCalendar.from_config(cfg)


def rules_for(mailbox: Mailbox) -> list[DeadlineRule]:
    rules = [DeadlineRule(**r) for r in (mailbox.deadline_rules or [])]
    return rules or DEFAULT_RULES


def on_customer_message(session: Session, thread: Thread, received_at: datetime) -> None:
    """A customer wrote: set the deadline by the mailbox rule unless one was set by hand."""
    if thread.due_at is not None:
        return  # the first unanswered customer message sets the deadline; a reply clears it
    mailbox = thread.mailbox or session.get(Mailbox, thread.mailbox_id)
    rule = pick_rule(
        rules_for(mailbox),
        tags=[t.tag for t in thread.tags],
        priority=thread.priority.value if thread.priority else None,
    )
    if rule is None:
        return
    due = due_from_rule(rule, received_at, calendar_for(mailbox))
    thread.due_at = due
    thread.due_set_by_hand = False
    session.add(
        Event(
            thread_id=thread.id, kind="deadline_set", data={"due_at": due.isoformat(), "by": "rule"}
        )
    )

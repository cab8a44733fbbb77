"""Marking a mall inquiry complete when its thread is resolved: a per-channel choice, off by default.

When a thread of a Rakuten or Yahoo! channel whose settings hold ``mark_complete_on_resolve``
moves to RESOLVED (by hand, in bulk or by a reply's next status), one outbox item
``mall_complete`` is queued with the inquiry's ref; ``inbox.senders.mall_complete`` delivers it.
``inbox.wiring`` makes ``on_status_changed`` a status hook of ``inbox.services.assignment`` and
lists ``KIND`` as a thread action of the failed-sends list. Knows nothing of HTTP.

A resolved Rakuten thread that is reopened queues ``mall_incomplete`` likewise (Yahoo! has no
such call). On Yahoo! the agent may choose the completion reason (``set_condition``), kept in
the thread's mall fields and sent with the completion.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Event, MailboxKind, OutboxItem, OutboxStatus, Status, Thread
from inbox.services import outbox
from inbox.services.errors import InvalidInput
from inbox.services.mailboxes import InvalidSetting

KIND = "mall_complete"
INCOMPLETE_KIND = "mall_incomplete"
CONDITION = "complete_condition"  # thread.external_meta key: Yahoo! completeConditionId
# Yahoo! completeConditionId -> label (msgid); the mall's own names are in yahoo_facts.
CONDITION_LABELS = {}
SETTING = "mark_complete_on_resolve"
MALL_KINDS = (MailboxKind.RAKUTEN, MailboxKind.YAHOO)


def _(text: str) -> str:
    """Marks a text for the translation catalogue; the web layer translates it."""
    return text


# What the failed-sends list calls a completion that did not go through (a msgid).
ACTION_LABEL = _("Mark complete in the mall")
INCOMPLETE_LABEL = _("Mark incomplete in the mall")
CONDITION_LABELS.update({
    1: _("Completed normally"),
    2: _("Completed by phone"),
    3: _("Handled by email"),
    4: _("Same question"),
    5: _("No answer needed"),
})


def check_setting(settings: Mapping[str, Any]) -> None:
    """The mall channels' validators call this: the choice is a yes/no (absent: no)."""
    if not isinstance(settings.get(SETTING, False), bool):
        raise InvalidSetting("Marking the inquiry complete in the mall is a yes/no choice.", SETTING)


def on_status_changed(session: Session, thread: Thread, now: datetime) -> OutboxItem | None:
    """Queue the mall completion when ``thread`` was just resolved and its channel wants it.

    The key holds the thread's version at the change: a retried request or a second resolve in
    the same transaction finds the queued item, a resolve after a reopen queues again.
    """
    mailbox = thread.mailbox
    if not thread.external_ref or mailbox.kind not in MALL_KINDS:
        return None
    if (mailbox.settings or {}).get(SETTING) is not True:
        return None
    meta = thread.external_meta or {}
    done_in_mall = _last_sent_kind(session, thread)
    done_in_mall = bool(meta.get("completed")) if done_in_mall is None else done_in_mall == KIND
    if thread.status == Status.RESOLVED:
        if meta.get("completed") and done_in_mall:
            return None  # completed in the mall itself (and then resolved here by the poll)
        payload: dict[str, Any] = {"ref": thread.external_ref}
        if mailbox.kind == MailboxKind.YAHOO and meta.get(CONDITION) in CONDITION_LABELS:
            payload["condition"] = meta[CONDITION]
        return outbox.enqueue(
            session, kind=KIND, idempotency_key=f"{KIND}:{thread.id}:v{thread.version}", now=now,
            payload=payload, mailbox_id=thread.mailbox_id, thread_id=thread.id)
    if mailbox.kind != MailboxKind.RAKUTEN or not done_in_mall:
        return None  # never completed in the mall, or reopened already; Yahoo! cannot undo it
    return outbox.enqueue(
        session, kind=INCOMPLETE_KIND, idempotency_key=f"{INCOMPLETE_KIND}:{thread.id}:v{thread.version}",
        now=now, payload={"ref": thread.external_ref}, mailbox_id=thread.mailbox_id, thread_id=thread.id)


def _last_sent_kind(session: Session, thread: Thread) -> str | None:
    """The kind of the thread's newest completion or incompletion item (None: there is none)."""
    return session.scalar(
        select(OutboxItem.kind).where(
            OutboxItem.thread_id == thread.id, OutboxItem.kind.in_([KIND, INCOMPLETE_KIND]),
            OutboxItem.status != OutboxStatus.REJECTED)
        .order_by(OutboxItem.id.desc()).limit(1))


def set_condition(session: Session, thread: Thread, condition: int | None, *, by: int | None) -> None:
    """Choose the Yahoo! completion reason sent when the thread is resolved (None: 通常完了).

    Raises InvalidInput for a thread that is no Yahoo! question or an unknown reason.
    """
    if thread.mailbox.kind != MailboxKind.YAHOO or not thread.external_ref:
        raise InvalidInput("Only Yahoo! questions have a completion reason.")
    if condition is not None and condition not in CONDITION_LABELS:
        raise InvalidInput("Unknown completion reason %(value)s.", value=condition)
    meta = dict(thread.external_meta or {})
    if meta.get(CONDITION) == condition:
        return
    if condition is None:
        meta.pop(CONDITION, None)
    else:
        meta[CONDITION] = condition
    thread.external_meta = meta
    session.add(Event(thread_id=thread.id, actor_id=by, kind="mall_condition_set",
                      data={"condition": condition}))


def reply_pending(session: Session, item: OutboxItem) -> bool:
    """True while a reply queued on the thread before ``item`` still waits to be posted."""
    return session.scalar(
        select(OutboxItem.id).where(
            OutboxItem.thread_id == item.thread_id, OutboxItem.id < item.id,
            OutboxItem.message_row_id.is_not(None),
            OutboxItem.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]))
        .limit(1)) is not None


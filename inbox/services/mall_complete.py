"""Marking a mall inquiry complete when its thread is resolved: a per-channel choice, off by default.

When a thread of a Rakuten or Yahoo! channel whose settings hold ``mark_complete_on_resolve``
moves to RESOLVED (by hand, in bulk or by a reply's next status), one outbox item
``mall_complete`` is queued with the inquiry's ref; ``inbox.senders.mall_complete`` delivers it.
``inbox.wiring`` makes ``on_status_changed`` a status hook of ``inbox.services.assignment`` and
lists ``KIND`` as a thread action of the failed-sends list. Knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import MailboxKind, OutboxItem, OutboxStatus, Status, Thread
from inbox.services import outbox
from inbox.services.mailboxes import InvalidSetting

KIND = "mall_complete"
SETTING = "mark_complete_on_resolve"
MALL_KINDS = (MailboxKind.RAKUTEN, MailboxKind.YAHOO)


def _(text: str) -> str:
    """Marks a text for the translation catalogue; the web layer translates it."""
    return text


# What the failed-sends list calls a completion that did not go through (a msgid).
ACTION_LABEL = _("Mark complete in the mall")


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
    if thread.status != Status.RESOLVED or not thread.external_ref or mailbox.kind not in MALL_KINDS:
        return None
    if (mailbox.settings or {}).get(SETTING) is not True:
        return None
    return outbox.enqueue(
        session, kind=KIND, idempotency_key=f"{KIND}:{thread.id}:v{thread.version}", now=now,
        payload={"ref": thread.external_ref}, mailbox_id=thread.mailbox_id, thread_id=thread.id)


def reply_pending(session: Session, item: OutboxItem) -> bool:
    """True while a reply queued on the thread before ``item`` still waits to be posted."""
    return session.scalar(
        select(OutboxItem.id).where(
            OutboxItem.thread_id == item.thread_id, OutboxItem.id < item.id,
            OutboxItem.message_row_id.is_not(None),
            OutboxItem.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]))
        .limit(1)) is not None


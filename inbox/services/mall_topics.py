"""New Yahoo!ショッピング topic: the team writes first to a customer about an order (externalStoreTopic).

The thread is made here with the store's message as its first, outbound message, and an outbox
item of kind ``yahoo_topic`` (``inbox.senders.mall_topic``) posts it. Once Yahoo! answers with the
topic id, the thread takes it as ``external_ref`` and the message the key of the topic's first
message, so the next poll (``inbox.ingest.mall``) adds the customer's answer to this thread.
One key per opened form makes a double submit create one thread and one topic. Rakuten has no
store-initiated inquiry, so only Yahoo! channels are offered. Knows nothing of HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import (
    Direction,
    Event,
    Mailbox,
    MailboxKind,
    Message,
    MessageKind,
    OutboxItem,
    Status,
    Thread,
    User,
)
from inbox.services import outbox
from inbox.services.access import visible_mailbox_ids
from inbox.services.errors import InvalidInput, InvalidInputs, NotFound
from inbox.sources import yahoo_facts as YF

KIND = "yahoo_topic"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ORDER = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class TopicDraft:
    """What the form sent: the order, Yahoo!'s category id, the title and the message."""

    order_id: str
    category_id: str
    title: str
    text: str
    key: str


def _mailboxes(session: Session, user: User, kinds: tuple[MailboxKind, ...]) -> list[Mailbox]:
    ids = visible_mailbox_ids(session, user)
    return list(
        session.scalars(
            select(Mailbox)
            .where(Mailbox.id.in_(ids), Mailbox.active, Mailbox.kind.in_(kinds))
            .order_by(Mailbox.name, Mailbox.id)
        )
    )


def topic_channels(session: Session, user: User) -> list[Mailbox]:
    """Active Yahoo! channels of ``user``, by name: the ones a topic can be started from."""
    return _mailboxes(session, user, (MailboxKind.YAHOO,))


def has_rakuten(session: Session, user: User) -> bool:
    """Whether ``user`` sees a Rakuten channel (told on the page why it is not offered)."""
    return bool(_mailboxes(session, user, (MailboxKind.RAKUTEN,)))


def channel_for(session: Session, user: User, mailbox_id: int | None) -> Mailbox:
    """One of ``topic_channels``; NotFound for any other id."""
    for mailbox in topic_channels(session, user):
        if mailbox.id == mailbox_id:
            return mailbox
    raise NotFound("You cannot start a Yahoo! topic from this channel.")


def _key(mailbox: Mailbox, key: str) -> str:
    return f"topic:{mailbox.id}:{key[:64]}"


def existing(session: Session, mailbox: Mailbox, key: str) -> Message | None:
    """The message a form with ``key`` already queued, if any (a double submit)."""
    item = session.scalar(
        select(OutboxItem).where(OutboxItem.idempotency_key == _key(mailbox, key))
    )
    if item is None or item.message_row_id is None:
        return None
    return session.get(Message, item.message_row_id)


def check(draft: TopicDraft) -> list[InvalidInput]:
    """Every problem of ``draft`` against Yahoo!'s limits, as translatable errors."""
    problems: list[InvalidInput] = []
    order, category, title = draft.order_id.strip(), draft.category_id.strip(), draft.title.strip()
    if not order:
        problems.append(InvalidInput("Give the order number the topic is about."))
    elif len(order) > YF.STORE_TOPIC_ORDER_MAX or not _ORDER.match(order):
        problems.append(
            InvalidInput(
                "The order number may have at most %(max)s letters, digits, hyphens and underscores.",
                max=YF.STORE_TOPIC_ORDER_MAX,
            )
        )
    if not category:
        problems.append(InvalidInput("Give the topic's category id."))
    elif (
        not (category.isascii() and category.isdigit())
        or len(category) > YF.STORE_TOPIC_CATEGORY_MAX
    ):
        problems.append(
            InvalidInput(
                "The category id must be a number of at most %(max)s digits.",
                max=YF.STORE_TOPIC_CATEGORY_MAX,
            )
        )
    if not title:
        problems.append(InvalidInput("Give the topic a title."))
    elif len(title) > YF.STORE_TOPIC_TITLE_MAX:
        problems.append(
            InvalidInput(
                "Yahoo! accepts at most %(max)s characters in a title; this one has %(count)s.",
                max=YF.STORE_TOPIC_TITLE_MAX,
                count=len(title),
            )
        )
    if not draft.text.strip():
        problems.append(InvalidInput("Write a message before sending."))
    elif len(draft.text) > YF.STORE_TOPIC_BODY_MAX:
        problems.append(
            InvalidInput(
                "Yahoo! accepts at most %(max)s characters; this message has %(count)s.",
                max=YF.STORE_TOPIC_BODY_MAX,
                count=len(draft.text),
            )
        )
    if any(
        _CONTROL.search(v) for v in (draft.order_id, draft.category_id, draft.title, draft.text)
    ):
        problems.append(InvalidInput("Remove the control characters (such as NUL) from the form."))
    return problems


def start(
    session: Session, mailbox: Mailbox, author: User, draft: TopicDraft, *, now: datetime
) -> Message:
    """Start a thread in the Yahoo! channel ``mailbox`` and queue its topic; flushes, never commits.

    Returns the queued message (``message.thread`` is the new thread); the same ``draft.key``
    twice returns the first. Raises InvalidInputs listing every problem of the form."""
    if mailbox.kind != MailboxKind.YAHOO:
        raise NotFound("You cannot start a Yahoo! topic from this channel.")
    done = existing(session, mailbox, draft.key)
    if done is not None:
        return done
    problems = check(draft)
    if problems:
        raise InvalidInputs(problems)
    order, title = draft.order_id.strip(), draft.title.strip()
    seller = str((mailbox.settings or {}).get("seller_id") or "")
    savepoint = session.begin_nested()
    thread = Thread(
        mailbox_id=mailbox.id,
        subject=title,
        normalized_subject=title[:255],
        status=Status.OPEN,
        last_activity_at=now,
        message_count=0,
        tags=[],
        external_meta={
            "mall": "yahoo",
            "order_number": order,
            "seller_id": seller,
            "order_url": YF.ORDER_URL.format(seller=seller, order=order),
        },
    )
    session.add(thread)
    session.flush()
    message = Message(
        thread_id=thread.id,
        mailbox_id=mailbox.id,
        direction=Direction.OUTBOUND,
        kind=MessageKind.NORMAL,
        subject=title,
        from_name=(mailbox.display_name or mailbox.name or "")[:255],
        from_address="",
        to=[],
        cc=[],
        sent_at=now,
        received_at=now,
        text=draft.text,
        new_text=draft.text,
        author_id=author.id,
        created_at=now,
    )
    session.add(message)
    session.flush()
    item = outbox.enqueue(
        session,
        kind=KIND,
        idempotency_key=_key(mailbox, draft.key),
        now=now,
        payload={
            "order_id": order,
            "category_id": draft.category_id.strip(),
            "title": title,
            "body": draft.text,
        },
        mailbox_id=mailbox.id,
        thread_id=thread.id,
        message_row_id=message.id,
    )
    if item.message_row_id != message.id:  # the same form was sent meanwhile by another request
        savepoint.rollback()
        return session.get(Message, item.message_row_id)
    message.source_key = f"out:{item.id}"
    thread.message_count = 1
    session.add(
        Event(
            thread_id=thread.id,
            actor_id=author.id,
            kind="yahoo_topic",
            data={"order": order, "outbox": item.id},
        )
    )
    savepoint.commit()
    return message


def after_delivery(session: Session, item: OutboxItem, topic_id: str | None) -> None:
    """The topic exists at Yahoo!: the thread takes its id, the message its first message's key."""
    thread = session.get(Thread, item.thread_id) if item.thread_id else None
    if thread is None or not topic_id or thread.external_ref == topic_id:
        return
    taken = session.scalar(
        select(Thread.id).where(
            Thread.mailbox_id == thread.mailbox_id, Thread.external_ref == topic_id
        )
    )
    if taken is not None:  # a poll stored the topic first: leave it there, say where
        session.add(
            Event(thread_id=thread.id, kind="yahoo_topic_elsewhere", data={"thread": taken})
        )
        return
    thread.external_ref = topic_id
    message = session.get(Message, item.message_row_id) if item.message_row_id else None
    if message is not None and (message.source_key or "").startswith("out:"):
        message.source_key = f"{topic_id}#m1"

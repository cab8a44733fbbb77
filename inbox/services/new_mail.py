"""New mail: a thread started by the team, writing first to a customer from a mailbox address.

The thread is made here and the mail goes out as its first reply (``replies.send_reply``:
the outbox, the mailbox signature, scheduled sends); the thread starts 対応中 (open) and takes
the mailbox's after-reply status once the mail is delivered, like any reply. The mail's
signed Message-ID and the ticket token in its subject bring the customer's answer back into
the thread. One key per opened form makes a double submit create one thread and one outbox
item. Mall mailboxes are not offered here: a Yahoo! channel starts a topic instead
(``inbox.services.mall_topics``); Rakuten has no store-initiated inquiry. Knows nothing of HTTP.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.config import Settings
from inbox.ingest.subjects import normalize_subject
from inbox.models import (
    Contact,
    Event,
    Mailbox,
    MailboxKind,
    Message,
    OutboxItem,
    Status,
    Thread,
    User,
)
from inbox.outgoing.headers import clean_text
from inbox.services import replies
from inbox.services.access import visible_mailbox_ids
from inbox.services.errors import InvalidInput, NotFound
from inbox.services.forwarding import valid_addresses
from inbox.storage import BlobStore

MAIL_KINDS = (MailboxKind.IMAP, MailboxKind.LOCAL)


def sendable_mailboxes(session: Session, user: User) -> list[Mailbox]:
    """Active mail mailboxes of ``user`` that have a sending address, by name."""
    ids = visible_mailbox_ids(session, user)
    boxes = session.scalars(
        select(Mailbox)
        .where(Mailbox.id.in_(ids), Mailbox.active, Mailbox.kind.in_(MAIL_KINDS))
        .order_by(Mailbox.name, Mailbox.id)
    )
    return [b for b in boxes if replies.sending_problem(b) is None]


def mailbox_for(session: Session, user: User, mailbox_id: int | None) -> Mailbox:
    """One of ``sendable_mailboxes``; NotFound for any other id."""
    for mailbox in sendable_mailboxes(session, user):
        if mailbox.id == mailbox_id:
            return mailbox
    raise NotFound("You cannot send new mail from this mailbox.")


def _contact(session: Session, name: str, address: str) -> Contact:
    address = address.lower()[:320]
    contact = session.scalar(select(Contact).where(func.lower(Contact.address) == address))
    if contact is None:
        contact = Contact(address=address, name=clean_text(name)[:255])
        session.add(contact)
    return contact


def existing(session: Session, mailbox: Mailbox, key: str) -> Message | None:
    """The mail a form with ``key`` already started, if any (a double submit)."""
    item = session.scalar(
        select(OutboxItem).where(OutboxItem.idempotency_key == _key(mailbox, key))
    )
    if item is None or item.message_row_id is None:
        return None
    return session.get(Message, item.message_row_id)


def _key(mailbox: Mailbox, key: str) -> str:
    return f"new:{mailbox.id}:{key[:64]}"


def start(
    session: Session,
    mailbox: Mailbox,
    author: User,
    draft: replies.Draft,
    *,
    now: datetime,
    settings: Settings,
    blobs: BlobStore,
) -> Message:
    """Start a thread in ``mailbox`` with ``draft`` as its first mail; flushes, never commits.

    Returns the queued message (``message.thread`` is the new thread); the same
    ``draft.reply_key`` twice returns the first. Raises InvalidInput (no subject, bad address)
    and ReplyProblems (``replies.check_draft``)."""
    done = existing(session, mailbox, draft.reply_key)
    if done is not None:
        return done
    subject = clean_text(draft.subject)
    if not subject:
        raise InvalidInput("Give the mail a subject.")
    if len(subject) > 998:
        raise InvalidInput("The subject is too long.")
    name, address = valid_addresses(draft.to)[0]
    savepoint = session.begin_nested()
    thread = Thread(
        mailbox_id=mailbox.id,
        subject=subject,
        normalized_subject=normalize_subject(subject)[:255],
        contact=_contact(session, name, address),
        status=Status.OPEN,
        last_activity_at=now,
        message_count=0,
        tags=[],
    )
    session.add(thread)
    session.flush()
    session.add(
        Event(thread_id=thread.id, actor_id=author.id, kind="new_mail", data={"to": address})
    )
    draft.opened_at = now
    try:
        message = replies.send_reply(
            session,
            thread,
            author,
            draft,
            now=now,
            settings=settings,
            blobs=blobs,
            idempotency_key=_key(mailbox, draft.reply_key),
        )
    except Exception:
        savepoint.rollback()
        raise
    if message.thread_id != thread.id:  # the same form was sent meanwhile by another request
        savepoint.rollback()
        return message
    savepoint.commit()
    return message

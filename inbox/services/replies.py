"""Replying to a thread: composer defaults, reply channels by mailbox kind, queueing replies, double-reply checks.

A reply is recorded at once as an outbound ``Message`` and queued as an ``OutboxItem``; the
delivery (SMTP, Sent folder, mall APIs) lives in ``inbox.senders``. Channels are looked up in
``REPLY_CHANNELS`` by ``Mailbox.kind``; this module registers the mail channel (IMAP, LOCAL),
mall modules register their own. Knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from inbox.config import Settings
from inbox.models import (
    Attachment,
    Direction,
    Event,
    Mailbox,
    MailboxKind,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    Thread,
    User,
)
from inbox.outgoing.compose import (
    OutgoingAttachment,
    attribution_line,
    build_reply,
    format_address,
    parse_addresses,
    quote,
    reply_subject,
    with_ticket_token,
)
from inbox.outgoing.headers import clean_text
from inbox.services import delivery, outbox, presence, send_later
from inbox.services.errors import ConcurrentChange, InvalidInput, NotFound
from inbox.storage import BlobStore

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def _(text: str) -> str:
    """Marks a problem text for the translation catalogue; the web layer translates it."""
    return text


class Problem(str):
    """A problem shown next to the composer: the English message id plus its parameters."""

    params: dict[str, str]

    def __new__(cls, msgid: str, **params: str) -> Problem:
        self = super().__new__(cls, msgid)
        self.params = params
        return self


class ReplyProblems(InvalidInput):
    """The reply cannot be sent as it is; ``problems`` are shown next to the composer."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


class ReplyConflict(ConcurrentChange):
    """Someone replied on the thread after this composer was opened (二重返信の恐れ)."""

    def __init__(self, replies: Sequence[Message]) -> None:
        super().__init__("Another reply was sent on this thread after you started writing.")
        self.replies = list(replies)


@dataclass(frozen=True)
class StagedAttachment:
    """An uploaded file already in the blob store, waiting to go out with a reply."""

    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass
class Draft:
    """What the composer sends: addresses as typed, text, staged files, and its identity."""

    to: str
    cc: str
    bcc: str
    subject: str
    text: str
    reply_key: str  # one per opened composer: a double submit never queues twice
    opened_at: datetime  # when the composer was opened, for the double-reply check
    attachments: list[StagedAttachment] = field(default_factory=list)
    confirm: bool = False  # "send anyway" after a colleague's reply
    replaces: int | None = None  # the outbox item of a failed reply this one is an edit of
    send_at: datetime | None = None  # a scheduled send: not before this time (UTC)


@dataclass
class OutgoingReply:
    """One reply handed to a channel: the recorded message row plus what to build from it."""

    message: Message
    author: User
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    bcc: list[tuple[str, str]]
    subject: str
    text: str
    attachments: list[StagedAttachment]
    parent: Message | None
    idempotency_key: str
    settings: Settings
    blobs: BlobStore
    prepared: PreparedMail | None = None


def _inputs(reply: OutgoingReply) -> tuple:
    return (reply.to, reply.cc, reply.subject, reply.text, tuple(reply.attachments),
            reply.parent.id if reply.parent is not None else None)


@dataclass(frozen=True)
class PreparedMail:
    """A reply's MIME message built (and its bytes stored) ahead of the write transaction."""

    inputs: tuple
    built: Any
    raw_sha256: str

    def fits(self, reply: OutgoingReply) -> bool:
        return self.inputs == _inputs(reply)


class ReplyChannel(Protocol):
    """How replies of one mailbox kind are checked and queued."""

    uses_addresses: bool  # True: the composer shows To/Cc/Bcc and they are checked
    quotes_history: bool  # True: the composer starts with the customer's message quoted

    def validate(self, text: str, attachments: Sequence[StagedAttachment]) -> list[str]: ...

    def enqueue(
        self, session: Session, thread: Thread, reply: OutgoingReply, now: datetime
    ) -> OutboxItem: ...


@dataclass
class Composer:
    """The composer's starting values for one thread."""

    to: str
    cc: str
    bcc: str
    subject: str
    text: str
    parent: Message | None
    opened_at: datetime
    reply_key: str
    available: bool  # a channel exists for this mailbox kind
    uses_addresses: bool


def our_addresses(session: Session) -> set[str]:
    """Addresses of every mailbox and every active team member, lower-cased."""
    boxes = session.scalars(select(Mailbox.address).where(Mailbox.address.is_not(None)))
    users = session.scalars(select(User.email).where(User.active))
    return {a.lower() for a in [*boxes, *users] if a}


# --- the composer ------------------------------------------------------------------------------


def customer_message(session: Session, thread: Thread) -> Message | None:
    """The last ordinary customer message (never an auto-reply, bounce or bulk mail)."""
    return session.scalar(
        select(Message)
        .where(
            Message.thread_id == thread.id,
            Message.direction == Direction.INBOUND,
            Message.kind == MessageKind.NORMAL,
        )
        .order_by(Message.received_at.desc(), Message.id.desc())
        .limit(1)
    )


def composer_defaults(
    session: Session,
    thread: Thread,
    *,
    settings: Settings,
    now: datetime,
    reply_key: str,
    intro: str | None = None,
    signature: str | None = None,
) -> Composer:
    """To/Cc from the last customer message (Reply-To, else From; its Cc minus our own
    addresses), ``Re: <subject> [#n]``, and the body: ``intro`` (a filled-in template) or the
    mailbox signature, then the customer's message quoted under a Japanese header line (for
    channels that quote: the malls show the customer the whole conversation themselves, and a
    quote would only use up their length limits). ``signature`` (the writer's own above the
    mailbox's) replaces the mailbox signature when given."""
    mailbox = thread.mailbox
    channel = REPLY_CHANNELS.get(mailbox.kind)
    parent = customer_message(session, thread)
    ours = our_addresses(session)
    to: list[tuple[str, str]] = []
    cc: list[tuple[str, str]] = []
    if parent is not None:
        source = parent.reply_to or [{"name": parent.from_name, "address": parent.from_address}]
        to = [(a.get("name", ""), a["address"]) for a in source if a.get("address")]
        to = [(n, a) for n, a in to if a.lower() not in ours]
        taken = {a.lower() for _n, a in to}
        cc = [
            (a.get("name", ""), a["address"])
            for a in parent.cc
            if a.get("address") and a["address"].lower() not in ours | taken
        ]
    elif thread.contact is not None and thread.contact.address.lower() not in ours:
        to = [(thread.contact.name, thread.contact.address)]
    token = settings.ticket_token_for(thread.id)
    subject = reply_subject(
        thread.subject or (parent.subject if parent else ""), token, settings.ticket_pattern
    )
    signature = mailbox.signature if signature is None else signature
    if intro is not None:
        text = intro.rstrip()
    elif signature:
        text = "\n\n" + signature.rstrip()
    else:
        text = ""
    if parent is not None and (channel is None or channel.quotes_history):
        header = attribution_line(
            parent.sent_at or parent.received_at,
            parent.from_name or parent.from_address,
            mailbox.timezone,
        )
        text = f"{text}\n\n{quote(parent.text or parent.new_text, header)}"
    text += "\n"
    return Composer(
        to=", ".join(format_address(n, a) for n, a in to),
        cc=", ".join(format_address(n, a) for n, a in cc),
        bcc="",
        subject=subject,
        text=text,
        parent=parent,
        opened_at=now,
        reply_key=reply_key,
        available=channel is not None,
        uses_addresses=bool(channel is not None and channel.uses_addresses),
    )


def sending_problem(mailbox: Mailbox) -> str | None:
    """Why replies from ``mailbox`` cannot go out as it is set up (a msgid), None if they can.
    Shown above the composer before anyone writes."""
    if mailbox.kind not in (MailboxKind.IMAP, MailboxKind.LOCAL):
        return None
    if not mailbox.address or "@" not in mailbox.address:
        return _("This mailbox has no sending address, so replies cannot be sent. Ask an admin to set one up.")
    if not ((mailbox.settings or {}).get("smtp_host") or "").strip():
        return _("This mailbox has no SMTP server set up, so replies cannot be sent yet. Ask an admin to set one up under Admin → Mailboxes.")
    return None


# --- sending -----------------------------------------------------------------------------------


def newer_replies(session: Session, thread: Thread, since: datetime) -> list[Message]:
    """Outbound messages on the thread recorded after ``since`` (queued replies included; one
    that failed or was refused never reached the customer, so it is no double reply)."""
    never_sent = select(OutboxItem.message_row_id).where(
        OutboxItem.thread_id == thread.id,
        OutboxItem.message_row_id.is_not(None),
        OutboxItem.status.in_([OutboxStatus.FAILED, OutboxStatus.REJECTED, OutboxStatus.REPLACED,
                               OutboxStatus.CANCELLED]),
    )
    return list(
        session.scalars(
            select(Message)
            .where(
                Message.thread_id == thread.id,
                Message.direction == Direction.OUTBOUND,
                Message.kind == MessageKind.NORMAL,  # an auto-acknowledgement is no double reply
                Message.created_at > since,
                Message.id.not_in(never_sent),
            )
            .order_by(Message.created_at, Message.id)
        )
    )


def own_text(text: str, signature: str | None) -> str:
    """What the writer added: ``text`` without the quoted lines (and the line introducing
    them) and without the mailbox signature."""
    lines = text.split("\n")
    kept = [
        line for n, line in enumerate(lines)
        if not line.startswith(">")
        and not (n + 1 < len(lines) and lines[n + 1].startswith(">") and line.rstrip().endswith(":"))
    ]
    rest = "\n".join(kept)
    sig = (signature or "").strip()
    return rest.replace(sig, "") if sig else rest


def single_signature(text: str, signature: str | None) -> str:
    """``text`` with the mailbox signature at most once (a template's ``{signature}`` inserted
    above the pre-filled one would otherwise add it twice): later copies are dropped."""
    sig = (signature or "").strip()
    if not sig or text.count(sig) < 2:
        return text
    first = text.index(sig) + len(sig)
    tail = text[first:].replace(sig, "")
    while "\n\n\n" in tail:
        tail = tail.replace("\n\n\n", "\n\n")
    return text[:first] + tail


def _reply_text(draft: Draft, mailbox: Mailbox) -> str:
    """The text that goes out: LF line ends, no trailing blank, the signature at most once."""
    return single_signature(draft.text.replace("\r\n", "\n").rstrip(), mailbox.signature)


# Texts added under a checked reply (e.g. the satisfaction survey link): each gets the session,
# the thread, the app's secret key and the time, and returns "" or the text; filled by ``inbox.wiring``.
REPLY_FOOTERS: list[Callable[[Session, Thread, str, datetime], str]] = []


def _with_footers(session: Session, thread: Thread, text: str, settings: Settings, now: datetime) -> str:
    return text + "".join(hook(session, thread, settings.secret_key, now) for hook in REPLY_FOOTERS)


def _idempotency_key(thread: Thread, reply_key: str) -> str:
    return f"reply:{thread.id}:{reply_key}"


def check_draft(
    session: Session, thread: Thread, draft: Draft
) -> tuple[ReplyChannel, str, list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """What ``send_reply`` checks before it records anything (also run before a reply is held
    for approval): the channel's rules, the addresses, and, unless ``draft.confirm``, the
    double-reply guard. Returns the channel, the text that goes out and the parsed To, Cc and
    Bcc. Raises ReplyProblems or ReplyConflict; reads only.
    """
    mailbox = thread.mailbox
    channel = REPLY_CHANNELS.get(mailbox.kind)
    if channel is None:
        raise ReplyProblems([Problem(_("Replies cannot be sent from this kind of mailbox yet."))])
    text = _reply_text(draft, mailbox)
    problems: list[str] = list(channel.validate(text, draft.attachments))
    if text.strip() and not own_text(text, mailbox.signature).strip():
        problems.append(Problem(_("Write your reply before sending: the message holds only the signature and the quoted mail.")))
    to = cc = bcc = []
    if channel.uses_addresses:
        to, bad_to = parse_addresses(draft.to)
        cc, bad_cc = parse_addresses(draft.cc)
        bcc, bad_bcc = parse_addresses(draft.bcc)
        for bad in [*bad_to, *bad_cc, *bad_bcc]:
            if "@" in bad and not bad.rpartition("@")[0].isascii():
                problems.append(Problem(_(
                    "%(address)s cannot be sent to: characters other than ASCII before the @"
                    " need SMTPUTF8, which this application does not use."
                ), address=bad))  # fmt: skip
            else:
                problems.append(Problem(_("Not a valid mail address: %(address)s"), address=bad))
        if not to and not bad_to:
            problems.append(Problem(_("Give at least one address in To.")))
    if problems:
        raise ReplyProblems(problems)
    if not draft.confirm:
        newer = newer_replies(session, thread, draft.opened_at)
        if newer:
            raise ReplyConflict(newer)
    return channel, text, to, cc, bcc


def send_reply(
    session: Session,
    thread: Thread,
    author: User,
    draft: Draft,
    *,
    now: datetime,
    settings: Settings,
    blobs: BlobStore,
    prepared: PreparedMail | None = None,
    idempotency_key: str | None = None,
) -> Message:
    """Record the reply as an outbound message and queue it; flushes, never commits.

    With ``draft.send_at`` the reply is scheduled: dated and queued for that time (InvalidInput
    when it is past). ``idempotency_key`` replaces the one made from the thread and the reply key
    (new mail: the thread does not exist before the first submit).

    The same ``draft.reply_key`` twice returns the first reply. Raises ReplyProblems (shown
    next to the composer) and, unless ``draft.confirm``, ReplyConflict when another reply was
    recorded on the thread after ``draft.opened_at``. The thread keeps its status and deadline
    until the reply is delivered (``inbox.services.delivery``).
    """
    mailbox = thread.mailbox
    key = idempotency_key or _idempotency_key(thread, draft.reply_key)
    existing = session.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == key))
    if existing is not None and existing.message_row_id is not None:
        return session.get(Message, existing.message_row_id)
    channel, text, to, cc, bcc = check_draft(session, thread, draft)
    if draft.send_at is not None:
        send_later.check(draft.send_at, now=now)
    sends_at = draft.send_at or now
    text = _with_footers(session, thread, text, settings, now)  # as it goes out, not as it is held
    message = Message(
        thread_id=thread.id,
        mailbox_id=mailbox.id,
        direction=Direction.OUTBOUND,
        kind=MessageKind.NORMAL,
        subject=clean_text(draft.subject),
        from_name=(mailbox.display_name or "")[:255],
        from_address=mailbox.address or "",
        to=[{"name": n, "address": a} for n, a in to],
        cc=[{"name": n, "address": a} for n, a in cc],
        sent_at=sends_at,
        received_at=now,
        text=text,
        new_text=text,
        author_id=author.id,
        created_at=now,
    )
    for att in draft.attachments:
        message.attachments.append(
            Attachment(
                filename=att.filename[:512],
                content_type=att.content_type[:255],
                size=att.size,
                sha256=att.sha256,
            )
        )
    session.add(message)
    session.flush()
    reply = OutgoingReply(
        message=message,
        author=author,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=clean_text(draft.subject),
        text=text,
        attachments=list(draft.attachments),
        parent=customer_message(session, thread),
        idempotency_key=key,
        settings=settings,
        blobs=blobs,
        prepared=prepared,
    )
    item = channel.enqueue(session, thread, reply, sends_at)  # not due before ``sends_at``
    if draft.send_at is not None and item.scheduled_at is None:
        item.scheduled_at = item.next_attempt_at = draft.send_at
        session.add(Event(thread_id=thread.id, actor_id=author.id, kind="reply_scheduled",
                          data={"outbox": item.id, "at": draft.send_at.isoformat()}))
    message.source_key = f"out:{item.id}"
    _after_reply(session, thread, author, message, item, now)
    if draft.replaces is not None:
        _replace(session, thread, draft.replaces, item, author)
    return message


def prepare_mail(
    session: Session, thread: Thread, draft: Draft, *, now: datetime, settings: Settings,
    blobs: BlobStore,
) -> PreparedMail | None:
    """Build a mail reply's message ahead of ``send_reply`` (which then only writes rows), so
    a reply with large attachments holds the write lock briefly. Reads only; None when the
    draft is not a valid mail reply (``send_reply`` then reports why)."""
    channel = REPLY_CHANNELS.get(thread.mailbox.kind)
    if not isinstance(channel, MailChannel) or not thread.mailbox.address:
        return None
    text = _reply_text(draft, thread.mailbox)
    (to, bad_to), (cc, bad_cc), (bcc, bad_bcc) = (
        parse_addresses(draft.to), parse_addresses(draft.cc), parse_addresses(draft.bcc))
    if bad_to or bad_cc or bad_bcc or not to or channel.validate(text, draft.attachments):
        return None
    text = _with_footers(session, thread, text, settings, now)
    now = draft.send_at or now  # a scheduled mail is dated when it leaves
    reply = OutgoingReply(
        message=None, author=None, to=to, cc=cc, bcc=bcc, subject=draft.subject.strip(),  # type: ignore[arg-type]
        text=text, attachments=list(draft.attachments), parent=customer_message(session, thread),
        idempotency_key="", settings=settings, blobs=blobs,
    )
    return channel.prepare(thread, reply, now)


REPLACEABLE = (OutboxStatus.FAILED, OutboxStatus.REJECTED, OutboxStatus.QUEUED)


def _replace(session: Session, thread: Thread, old_id: int, new: OutboxItem, author: User) -> None:
    """The failed reply ``old_id`` was edited into ``new``: it is never sent any more. Only a
    reply that certainly did not go out (failed, refused, or waiting after an error) is replaced."""
    old = session.get(OutboxItem, old_id)
    if old is None or old.thread_id != thread.id or old.message_row_id is None or old.id == new.id:
        return
    if not (delivery.is_failing(old) or send_later.is_scheduled(old)) or old.status not in REPLACEABLE:
        return
    done = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == old.id, OutboxItem.status == old.status,
               OutboxItem.attempts == old.attempts)
        .values(status=OutboxStatus.REPLACED, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount == 1:
        session.refresh(old)
        session.add(Event(thread_id=thread.id, actor_id=author.id, kind="send_replaced",
                          data={"outbox": old.id, "by": new.id}))


def edit_draft(session: Session, thread: Thread, item_id: int, *, now: datetime, reply_key: str) -> Draft | None:
    """A composer filled with a failed reply (addresses, subject, text) to edit and send again."""
    item = session.get(OutboxItem, item_id)
    if item is None or item.thread_id != thread.id or item.message_row_id is None:
        return None
    if not (delivery.is_failing(item) or send_later.is_scheduled(item)) or item.status not in REPLACEABLE:
        return None
    message = session.get(Message, item.message_row_id)
    bcc = (item.payload or {}).get("bcc") or []
    return Draft(
        to=", ".join(format_address(a.get("name", ""), a["address"]) for a in message.to),
        cc=", ".join(format_address(a.get("name", ""), a["address"]) for a in message.cc),
        bcc=", ".join(bcc),
        subject=message.subject,
        text=message.text or "",
        reply_key=reply_key,
        opened_at=now,
        replaces=item.id,
        send_at=item.scheduled_at if send_later.is_scheduled(item) else None,
    )


def _after_reply(
    session: Session, thread: Thread, author: User, message: Message, item: OutboxItem, now: datetime
) -> None:
    """Queued is not delivered: the thread keeps its status and deadline until the reply went
    out (``inbox.services.delivery``); only the count, the activity and the log change now."""
    thread.message_count = (thread.message_count or 0) + 1
    if now >= thread.last_activity_at:
        thread.last_activity_at = now
    session.add(
        Event(
            thread_id=thread.id,
            actor_id=author.id,
            kind="reply_queued",
            data={"message": message.id, "outbox": item.id},
        )
    )
    delivery.remember_thread_state(item, thread)
    presence.stop_composing(session, thread.id, author.id)


# --- states and the failed-sends view ----------------------------------------------------------


def reply_items(session: Session, thread: Thread) -> dict[int, OutboxItem]:
    """Outbox items of the thread's replies, by the id of their message row."""
    items = session.scalars(
        select(OutboxItem).where(
            OutboxItem.thread_id == thread.id, OutboxItem.message_row_id.is_not(None)
        )
    )
    return {i.message_row_id: i for i in items if i.message_row_id is not None}


# Outbox kinds that act on a thread without sending a message (e.g. "mall_complete"), listed
# with the replies among failed sends: kind -> what the list calls it (a msgid). Filled by
# ``inbox.wiring``.
THREAD_ACTIONS: dict[str, str] = {}


@dataclass
class FailedReply:
    item: OutboxItem
    thread: Thread
    message: Message | None  # None for a thread action (``action`` names it)
    action: str | None = None


def failed_replies(session: Session, mailbox_ids: Sequence[int]) -> list[FailedReply]:
    """Failed, unknown and rejected replies and thread actions in the given mailboxes, newest first."""
    rows = session.execute(
        select(OutboxItem, Thread, Message)
        .join(Thread, Thread.id == OutboxItem.thread_id)
        .outerjoin(Message, Message.id == OutboxItem.message_row_id)
        .where(
            OutboxItem.status.in_(
                [OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.REJECTED]
            ),
            OutboxItem.mailbox_id.in_(list(mailbox_ids)),
            or_(Message.id.is_not(None), OutboxItem.kind.in_(list(THREAD_ACTIONS))),
        )
        .order_by(OutboxItem.created_at.desc(), OutboxItem.id.desc())
    )
    return [
        FailedReply(item, thread, message, THREAD_ACTIONS.get(item.kind) if message is None else None)
        for item, thread, message in rows
    ]


def get_reply_item(session: Session, item_id: int, mailbox_ids: Sequence[int]) -> OutboxItem:
    """A reply's (or thread action's) outbox item in one of ``mailbox_ids``; NotFound otherwise."""
    item = session.get(OutboxItem, item_id)
    listed = item is not None and (item.message_row_id is not None or item.kind in THREAD_ACTIONS)
    if not listed or item.mailbox_id not in set(mailbox_ids):
        raise NotFound("This send does not exist or is not in your mailboxes.")
    return item


def send_again(session: Session, item: OutboxItem, *, now: datetime, actor_id: int) -> None:
    """Queue a failed, rejected or unknown reply again (the same bytes, the same Message-ID);
    one waiting to be retried after an error is tried at once."""
    if not delivery.is_failing(item):
        raise InvalidInput("Only failed, rejected or unknown sends can be sent again.")
    outbox.resend(session, item, now=now, actor_id=actor_id)


def mark_sent(session: Session, item: OutboxItem, *, now: datetime, actor_id: int) -> None:
    """A person checked that an ``unknown`` reply did go out: record it as sent."""
    if item.status != OutboxStatus.UNKNOWN:
        raise InvalidInput("Only sends whose result is unknown can be marked as sent.")
    item.status, item.sent_at = OutboxStatus.SENT, now
    session.add(
        Event(
            thread_id=item.thread_id,
            actor_id=actor_id,
            kind="send_marked_sent",
            data={"outbox": item.id},
        )
    )
    delivery.delivered(session, item, now)


# --- the mail channel --------------------------------------------------------------------------


class MailChannel:
    """Replies by mail (IMAP and LOCAL mailboxes): MIME built here, delivered by ``senders.mail_reply``."""

    uses_addresses = True
    quotes_history = True
    kind = "reply"

    def prepare(self, thread: Thread, reply: OutgoingReply, now: datetime) -> PreparedMail:
        """Build the MIME message and store its bytes: the slow part with large attachments,
        so the web layer can do it before it takes the write lock (see ``prepare_mail``)."""
        settings = reply.settings
        built = build_reply(
            mailbox=thread.mailbox,
            thread=thread,
            parent=reply.parent,
            to=reply.to,
            cc=reply.cc,
            subject=(with_ticket_token if reply.subject else reply_subject)(
                reply.subject or thread.subject,
                settings.ticket_token_for(thread.id),
                settings.ticket_pattern,
            ),
            text=reply.text,
            attachments=[
                OutgoingAttachment(a.filename, a.content_type, reply.blobs.get(a.sha256))
                for a in reply.attachments
            ],
            now=now,
            secret=settings.secret_key,
        )
        return PreparedMail(_inputs(reply), built, reply.blobs.put(built.raw))

    def validate(self, text: str, attachments: Sequence[StagedAttachment]) -> list[str]:
        problems: list[str] = []
        if not text.strip():
            problems.append(Problem(_("Write a message before sending.")))
        if sum(a.size for a in attachments) > MAX_ATTACHMENT_BYTES:
            problems.append(Problem(_("The attachments are larger than 20 MB in total.")))
        return problems

    def enqueue(
        self, session: Session, thread: Thread, reply: OutgoingReply, now: datetime
    ) -> OutboxItem:
        mailbox = thread.mailbox
        if not mailbox.address or "@" not in mailbox.address:
            raise ReplyProblems([Problem(_("This mailbox has no sending address."))])
        prepared = reply.prepared
        if prepared is None or not prepared.fits(reply):
            prepared = self.prepare(thread, reply, now)
        built = prepared.built
        message_id, parent_id, references, subject = (
            built.message_id, built.in_reply_to, built.references, built.subject
        )
        message = reply.message
        message.message_id = message_id
        message.in_reply_to = parent_id
        message.references = references
        message.subject = subject
        message.raw_sha256 = prepared.raw_sha256
        recipients = [a for _n, a in [*reply.to, *reply.cc, *reply.bcc]]
        item = outbox.enqueue(
            session,
            kind=self.kind,
            idempotency_key=reply.idempotency_key,
            now=now,
            mail_from=mailbox.address,
            recipients=list(dict.fromkeys(recipients)),
            raw=built.raw,
            payload={
                "charset": built.charset,
                "charset_note": built.charset_note,
                "bcc": [a for _n, a in reply.bcc],
            },
            mailbox_id=mailbox.id,
            thread_id=thread.id,
            message_row_id=message.id,
        )
        if built.charset_note:
            session.add(
                Event(
                    thread_id=thread.id,
                    actor_id=reply.author.id,
                    kind="reply_charset_fallback",
                    data={"outbox": item.id, "reason": built.charset_note},
                )
            )
        return item


# Mailbox kind -> how a reply is checked and queued; filled by ``inbox.wiring``.
REPLY_CHANNELS: dict[MailboxKind, ReplyChannel] = {}

"""Typed data model: users, mailboxes, contacts, threads, messages and their bookkeeping.

Models hold data only: no sessions, no commits, no Flask. Behaviour lives in
``inbox.services`` and ``inbox.ingest``.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inbox.db import Base, BigIntId, JsonType, created_at, int_pk


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        length=16,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Role(enum.StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    AGENT = "agent"


class MailboxKind(enum.StrEnum):
    IMAP = "imap"
    LOCAL = "local"  # a Maildir, an mbox file or a folder of .eml files
    RAKUTEN = "rakuten"
    YAHOO = "yahoo"


class Status(enum.StrEnum):
    NEW = "new"  # 未対応
    OPEN = "open"  # 対応中
    WAITING = "waiting"  # 保留 (on hold / waiting on customer)
    RESOLVED = "resolved"  # 対応完了
    # 自動メール: a thread opened by an auto-reply, bounce or bulk mail; not work until a person
    # (or a customer's own mail) makes it so. See inbox.services.automatic.
    AUTOMATIC = "automatic"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"  # internal note, never sent


class MessageKind(enum.StrEnum):
    NORMAL = "normal"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"
    FORWARD = "forward"  # sent by us to a third party (not the customer): no answer, no deadline change


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # gave up after retries; visible, can be retried by hand
    UNKNOWN = "unknown"  # result not known (mall timeout); never retried automatically
    REJECTED = "rejected"  # refused by the receiving side; safe to edit and resend
    REPLACED = "replaced"  # never went out; a person edited it and sent a new reply instead
    CANCELLED = "cancelled"  # a scheduled send a person cancelled before it left


class User(Base):
    __tablename__ = "users"

    id: Mapped[int_pk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.AGENT)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    language: Mapped[str] = mapped_column(String(8), default="ja", server_default="ja")
    timezone: Mapped[str] = mapped_column(
        String(64), default="Asia/Tokyo", server_default="Asia/Tokyo"
    )
    alert_digest: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Staff in training: every reply waits for an approver (承認) before it goes out.
    approval_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The user's own signature, put above the mailbox's in the reply composer.
    signature: Mapped[str] = mapped_column(Text, default="", server_default="")
    # False: this user logs in through single sign-on only (the password form refuses them).
    password_login: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[created_at]
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[MailboxMember]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # What Flask-Login reads off a user object: plain attributes, no Flask import here.
    is_authenticated = True
    is_anonymous = False
    # The raw token of the log-in this object was loaded for (not stored; see LoginSession).
    login_token = None  # str | None, set per request by the web layer

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What the session and remember-me cookies carry: user id and log-in token."""
        return f"{self.id}:{self.login_token}" if self.login_token else ""


class Mailbox(Base):
    __tablename__ = "mailboxes"

    id: Mapped[int_pk]
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[MailboxKind] = mapped_column(_enum(MailboxKind))
    address: Mapped[str | None] = mapped_column(String(254))  # From: of replies
    display_name: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Non-secret connection settings (host, port, folders, after-fetch action, SMTP host, ...).
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # Secrets (passwords, API keys, tokens) as one encrypted JSON document; see inbox.crypto.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    poll_interval_seconds: Mapped[int] = mapped_column(default=60, server_default="60")
    timezone: Mapped[str] = mapped_column(
        String(64), default="Asia/Tokyo", server_default="Asia/Tokyo"
    )
    # Business hours, closed days and deadline rules; see inbox.services.business_hours.
    calendar: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    deadline_rules: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    signature: Mapped[str] = mapped_column(Text, default="", server_default="")
    status_after_reply: Mapped[Status] = mapped_column(
        _enum(Status), default=Status.WAITING, server_default=Status.WAITING.value
    )
    outbound_charset: Mapped[str] = mapped_column(
        String(16), default="utf-8", server_default="utf-8"
    )
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    created_at: Mapped[created_at]
    # Approval before send (see inbox.services.approval): every reply, or only replies on
    # threads of the listed category ids; the approvers' own replies may skip it.
    approval_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    approval_lead_skip: Mapped[bool] = mapped_column(default=False, server_default=false())
    approval_category_ids: Mapped[list[Any]] = mapped_column(
        JsonType, default=list, server_default=text("'[]'")
    )

    members: Mapped[list[MailboxMember]] = relationship(
        back_populates="mailbox", cascade="all, delete-orphan"
    )

    def change_settings(self, **changes: Any) -> None:
        """Set some ``settings`` keys, removing those given None. The JSON value is replaced,
        not changed in place, so that the ORM sees the change and saves it."""
        settings = dict(self.settings or {})
        for key, value in changes.items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        self.settings = settings


class MailboxMember(Base):
    """Who may see and work a mailbox's threads."""

    __tablename__ = "mailbox_members"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    mailbox: Mapped[Mailbox] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")


class MailboxApprover(Base):
    """A user named to approve a mailbox's held replies (without any, its leads approve)."""

    __tablename__ = "mailbox_approvers"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SourceCursor(Base):
    """How far a source has read: an IMAP folder (UIDVALIDITY + last UID) or a mall feed."""

    __tablename__ = "source_cursors"
    __table_args__ = (UniqueConstraint("mailbox_id", "name"),)

    id: Mapped[int_pk]
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))  # folder name, or a feed's cursor name
    uidvalidity: Mapped[int | None] = mapped_column(BigIntId)
    last_uid: Mapped[int] = mapped_column(BigIntId, default=0, server_default="0")
    state: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime | None]


class Contact(Base):
    """A customer, known by address (mail address, or a mall's masked address)."""

    __tablename__ = "contacts"

    id: Mapped[int_pk]
    address: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # Marked by the team as a VIP customer; sorting rules can match it (see inbox.services.rules).
    vip: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[created_at]


class Thread(Base):
    """A ticket: one conversation with a customer. Its id is the ticket number."""

    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_queue_deadline", "mailbox_id", "status", "due_at"),
        Index("ix_threads_assignee_status", "assignee_id", "status", "mailbox_id"),
        Index("ix_threads_queue_activity", "mailbox_id", "last_activity_at", "id"),
        Index("ix_threads_open_due", "status", "due_at"),
        Index(
            "ix_threads_match_subject",
            "mailbox_id",
            "contact_id",
            "normalized_subject",
            "last_activity_at",
        ),
        UniqueConstraint("mailbox_id", "external_ref"),
    )

    id: Mapped[int_pk]
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    normalized_subject: Mapped[str] = mapped_column(String(255), default="", server_default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    status: Mapped[Status] = mapped_column(_enum(Status), default=Status.NEW)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[Priority] = mapped_column(
        _enum(Priority), default=Priority.NORMAL, server_default=Priority.NORMAL.value
    )
    due_at: Mapped[datetime | None]
    due_set_by_hand: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_activity_at: Mapped[datetime]
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[created_at]
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A mall inquiry's own identity (inquiry number, topic id); None for mail.
    external_ref: Mapped[str | None] = mapped_column(String(120))
    external_meta: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # 問い合わせ種別 (inbox.services.categories), kept apart from free tags.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    # A named deadline rule chosen by a sorting rule; None: the most specific matching rule.
    deadline_rule: Mapped[str | None] = mapped_column(String(64))
    # Set by a sorting rule's "require_approval" action: replies here wait for an approver.
    approval_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Merged into another thread (inbox.services.thread_ops): this one only redirects there.
    # No foreign key (SQLite would have to copy the table to add one); a lost target is ignored.
    merged_into_id: Mapped[int | None] = mapped_column(BigIntId)

    mailbox: Mapped[Mailbox] = relationship()
    contact: Mapped[Contact | None] = relationship()
    category: Mapped[Category | None] = relationship()
    assignee: Mapped[User | None] = relationship()
    tags: Mapped[list[ThreadTag]] = relationship(
        cascade="all, delete-orphan", order_by="ThreadTag.tag"
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="thread", order_by="(Message.received_at, Message.id)"
    )
    facts: Mapped[ThreadFact | None] = relationship(back_populates="thread", passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}


class Category(Base):
    """An inquiry category (問い合わせ種別): global (mailbox_id None) or one mailbox's, two levels."""

    __tablename__ = "categories"

    id: Mapped[int_pk]
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())

    parent: Mapped[Category | None] = relationship(remote_side="Category.id")

    @property
    def label(self) -> str:
        """"配送 › 遅延" for a child, the name alone for a top-level category."""
        return f"{self.parent.name} › {self.name}" if self.parent is not None else self.name


class SortingRule(Base):
    """A sorting rule (振り分けルール): conditions and actions run on incoming mail, in order.

    ``mailbox_id`` None: a global rule, run before each mailbox's own. ``conditions`` is a list
    of ``{"field", "value"}``, ``actions`` a list of ``{"type", "value"}``; see inbox.services.rules.
    """

    __tablename__ = "sorting_rules"
    __table_args__ = (Index("ix_sorting_rules_scope", "mailbox_id", "position"),)

    id: Mapped[int_pk]
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    match_all: Mapped[bool] = mapped_column(default=True, server_default=true())
    conditions: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    actions: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    # Round-robin position per mailbox: {"<mailbox id>": <last user id>}.
    state: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[created_at]


class BlockedSender(Base):
    """A sender whose mail is marked as spam on arrival (one mailbox's, or every mailbox's)."""

    __tablename__ = "blocked_senders"
    __table_args__ = (UniqueConstraint("mailbox_id", "address"),)

    id: Mapped[int_pk]
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320), index=True)  # lower-cased
    created_at: Mapped[created_at]


class ThreadTag(Base):
    __tablename__ = "thread_tags"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Message(Base):
    """One mail, mall message, outbound reply or internal note in a thread."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "source_key"),
        Index("ix_messages_mailbox_message_id", "mailbox_id", "message_id"),
        Index("ix_messages_message_id", "message_id"),
        Index("ix_messages_thread_received", "thread_id", "received_at"),
        Index("ix_messages_mailbox_direction", "mailbox_id", "direction", "parse_failed", "id"),
    )

    id: Mapped[int_pk]
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    kind: Mapped[MessageKind] = mapped_column(
        _enum(MessageKind), default=MessageKind.NORMAL, server_default=MessageKind.NORMAL.value
    )
    # Where it came from: "INBOX:<uidvalidity>:<uid>" for IMAP, "sha256:<hex>" for files,
    # the mall's message identity for feeds, "out:<n>" for our own. Unique per mailbox.
    source_key: Mapped[str | None] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(998))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list[str]] = mapped_column(JsonType, default=list)
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    from_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    from_address: Mapped[str] = mapped_column(String(320), default="", server_default="")
    to: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    cc: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    reply_to: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    sent_at: Mapped[datetime | None]  # the Date: header
    received_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    new_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    html: Mapped[str | None] = mapped_column(Text)  # sanitized
    raw_sha256: Mapped[str | None] = mapped_column(String(64))  # raw source: RawMessage.sha256
    parse_warnings: Mapped[list[str]] = mapped_column(JsonType, default=list)
    parse_failed: Mapped[bool] = mapped_column(default=False, server_default=false())
    deleted_by_source: Mapped[bool] = mapped_column(default=False, server_default=false())
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]

    thread: Mapped[Thread] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.id"
    )


class RawMessage(Base):
    """A message's raw source exactly as received, stored once per content hash."""

    __tablename__ = "raw_messages"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    """An attachment's metadata; the bytes live in the blob store under ``sha256``."""

    __tablename__ = "attachments"

    id: Mapped[int_pk]
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(512))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigIntId)
    sha256: Mapped[str] = mapped_column(String(64))
    inline: Mapped[bool] = mapped_column(default=False, server_default=false())
    content_id: Mapped[str | None] = mapped_column(String(255))

    message: Mapped[Message] = relationship(back_populates="attachments")


class Event(Base):
    """Append-only log of who did what to which thread, and when."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_thread_created", "thread_id", "created_at"),)

    id: Mapped[int_pk]
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[created_at]

    actor: Mapped[User | None] = relationship()
    thread: Mapped[Thread | None] = relationship()


class Template(Base):
    """A canned reply (定型文), for one mailbox or shared by all (mailbox_id None)."""

    __tablename__ = "templates"

    id: Mapped[int_pk]
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[created_at]


class OutboxItem(Base):
    """A message waiting to be delivered (reply, alert mail, mall reply), claimed by one worker."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # the few items not sent (yet): what the header badge and the failure lists look for
        Index("ix_outbox_unsent", "status", "thread_id",
              sqlite_where=text("status != 'sent'"), postgresql_where=text("status != 'sent'")),
    )

    id: Mapped[int_pk]
    kind: Mapped[str] = mapped_column(String(32))  # "reply", "alert", "mall_reply", ...
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    message_row_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    mail_from: Mapped[str] = mapped_column(String(320), default="", server_default="")
    recipients: Mapped[list[str]] = mapped_column(JsonType, default=list)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # the exact bytes to send
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None]
    # When the network call of the current attempt began (committed on its own just before it):
    # a claimed item without it was never attempted and goes back to the queue after a crash.
    attempt_started_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    copied_to_sent: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[created_at]
    scheduled_at: Mapped[datetime | None]  # a scheduled send: not due before this time


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"  # 承認待ち: held, not delivered
    APPROVED = "approved"  # queued in the outbox as written or as edited by the approver
    RETURNED = "returned"  # 差し戻し: back to its author with a comment
    REVISED = "revised"  # its author sent an edited version of the returned reply
    WITHDRAWN = "withdrawn"  # its author took it back (pending or returned) without sending


class ApprovalRequest(Base):
    """A reply held for approval (承認待ち): the draft as written, who decided, and how."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        UniqueConstraint("thread_id", "reply_key"),
        Index("ix_approval_requests_mailbox_status", "mailbox_id", "status"),
        Index("ix_approval_requests_author_status", "author_id", "status"),
    )

    id: Mapped[int_pk]
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ApprovalStatus] = mapped_column(
        _enum(ApprovalStatus), default=ApprovalStatus.PENDING
    )
    reason: Mapped[str] = mapped_column(String(16))  # mailbox, user, category or rule
    reply_key: Mapped[str] = mapped_column(String(64))
    # The composer's values: to, cc, bcc, subject, text and staged attachments.
    draft: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    written_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    diff: Mapped[str] = mapped_column(Text, default="", server_default="")  # approver's edit
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    message_row_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))

    thread: Mapped[Thread] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Alert(Base):
    """A deadline alert that was issued: one per (thread, stage, deadline), ever."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("thread_id", "stage", "due_at"),)

    id: Mapped[int_pk]
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[created_at]


class Mention(Base):
    """An @mention of a user in an internal note."""

    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("message_row_id", "user_id"),)

    id: Mapped[int_pk]
    message_row_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seen_at: Mapped[datetime | None]
    created_at: Mapped[created_at]


class ThreadPresence(Base):
    """Who is looking at, or writing a reply on, a thread right now (二重返信防止)."""

    __tablename__ = "thread_presence"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    composing: Mapped[bool] = mapped_column(default=False, server_default=false())
    seen_at: Mapped[datetime]


class MailboxOutage(Base):
    """A mailbox whose polls fail in a row: since when, how often, and when the admins were told.

    The row exists only during an outage: the next successful poll deletes it.
    """

    __tablename__ = "mailbox_outages"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[datetime]
    failed_polls: Mapped[int] = mapped_column(default=0, server_default="0")
    notified_at: Mapped[datetime | None]


class JobClaim(Base):
    """A lease on a piece of scheduled work (polling one mailbox, one alert scan), with expiry."""

    __tablename__ = "job_claims"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(120))
    expires_at: Mapped[datetime | None]


class JobRun(Base):
    """When a piece of scheduled work (alert scan, retention) last ran, how long, what it did."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    duration_seconds: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class LoginThrottle(Base):
    """Failed log-in attempts per key (an address or an IP), for rate limiting."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class LoginSession(Base):
    """One log-in (browser session, possibly remembered); only a hash of its token is stored.

    A log-in counts while it is not revoked and not past ``expires_at``; a password change or
    deactivation revokes all of the user's rows. Remember-me use replaces the token hash (rotation); the
    previous hash stays valid for a few seconds for requests already on their way.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int_pk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    previous_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    rotated_at: Mapped[datetime | None]
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SavedSearch(Base):
    """A search a user keeps: its words and filters under a name, listed in the queue's sidebar."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int_pk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(Text, default="", server_default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[created_at]


class TermCount(Base):
    """Voice of the customer: in how many customer messages of a mailbox a term came, per day.

    Filled by the VoC job (``inbox.services.voc``) from each inbound message's new text; the
    day is the message's arrival day in the mailbox's timezone.
    """

    __tablename__ = "term_counts"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class MessageTerm(Base):
    """A term found in one customer message: what a term on the VoC page links to."""

    __tablename__ = "message_terms"
    __table_args__ = (Index("ix_message_terms_term", "term", "mailbox_id", "day"),)

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    day: Mapped[date]


class TermAnalysed(Base):
    """A customer message whose terms are counted: the primary key makes counting exactly-once."""

    __tablename__ = "terms_analysed"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    analysed_at: Mapped[datetime]


class AnalysisCursor(Base):
    """How far a background analysis has read (the highest message id below which all is done)."""

    __tablename__ = "analysis_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigIntId, default=0, server_default="0")


class CsatAnswer(Base):
    """A customer's satisfaction answer (1-5, optional comment) for one thread; changeable for 7 days."""

    __tablename__ = "csat_answers"
    __table_args__ = (Index("ix_csat_answers_mailbox_answered", "mailbox_id", "answered_at"),)

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    language: Mapped[str] = mapped_column(String(8), default="ja", server_default="ja")
    answered_at: Mapped[datetime]
    changed_at: Mapped[datetime]


class Notification(Base):
    """Something a user is told about (assigned to them, mentioned, ...): in the app, by mail, or both.

    One row per (user, event): ``event_id`` for changes written to a thread's history, ``key``
    for the others (a message, a failed send, an escalation); both are unique per user.
    ``mail_state`` is None (no mail wanted), "pending" (to be mailed, alone or in the digest)
    or "queued" (its outbox item is ``outbox_id``).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        UniqueConstraint("user_id", "event_id"),
        Index("ix_notifications_user_unread", "user_id", "read_at", "id"),
        Index("ix_notifications_mail_state", "mail_state", "user_id"),
    )

    id: Mapped[int_pk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    key: Mapped[str | None] = mapped_column(String(255))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    in_app: Mapped[bool] = mapped_column(default=True, server_default=true())
    read_at: Mapped[datetime | None]
    mail_state: Mapped[str | None] = mapped_column(String(16))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]

    thread: Mapped[Thread | None] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    event: Mapped[Event | None] = relationship()


class NotificationSetting(Base):
    """A user's notification choices: per kind in-app and mail on/off, and single mails or a daily digest."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # {kind: {"app": bool, "mail": bool}}; a kind not listed uses its registered defaults.
    kinds: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    digest: Mapped[bool] = mapped_column(default=False, server_default=false())


class ThreadFollower(Base):
    """A user who follows a thread: told when it changes."""

    __tablename__ = "thread_followers"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[created_at]


class AuditEntry(Base):
    """One line of the audit trail: who did what, when, from which address, what changed.

    Append-only: the app never updates or deletes a row, and the database refuses to (triggers
    made by migration 0015). ``actor_id`` has no foreign key so that an entry outlives its
    user; ``actor_email`` keeps who it was. ``changes`` never holds a secret, only key names.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created", "created_at", "id"),
        Index("ix_audit_log_actor_created", "actor_id", "created_at"),
        Index("ix_audit_log_action_created", "action", "created_at"),
    )

    id: Mapped[int_pk]
    created_at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(BigIntId)
    actor_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255), default="", server_default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")


class AccountToken(Base):
    """A single-use link sent by mail: set a first password (invite) or a new one (reset).

    Only the SHA-256 of the token is stored; ``used_at`` marks it spent.
    """

    __tablename__ = "account_tokens"

    id: Mapped[int_pk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "reset" or "invite"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TotpCredential(Base):
    """A user's TOTP authenticator: the encrypted secret, confirmed once a code matched.

    ``last_step`` is the time step of the last accepted code, so that a code works only once.
    """

    __tablename__ = "totp_credentials"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[str] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None]
    last_step: Mapped[int] = mapped_column(BigIntId, default=0, server_default="0")
    created_at: Mapped[created_at]


class RecoveryCode(Base):
    """A one-time recovery code for two-factor log-in; only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int_pk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class AutoAck(Base):
    """An auto-acknowledgement (自動返信) queued for a new thread: one per thread, ever.

    Also the loop guard's memory: at most one per (mailbox, address) within the mailbox's
    interval. See inbox.services.auto_ack.
    """

    __tablename__ = "auto_acks"
    __table_args__ = (Index("ix_auto_acks_mailbox_address", "mailbox_id", "address", "created_at"),)

    id: Mapped[int_pk]
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), unique=True
    )
    address: Mapped[str] = mapped_column(String(320))  # lower-cased
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime]


class ThreadFact(Base):
    """A thread's KPI facts, kept as its events happen (see ``inbox.services.kpi_facts``).

    Times are UTC; ``*_business_s`` count only the mailbox calendar's open time (its hours,
    closed days and Japanese holidays), ``*_wall_s`` every second. ``received_day/dow/hour``
    are the first customer message's local date, weekday (0 = Monday) and hour in the
    mailbox's timezone, kept so that reports group without converting times.
    """

    __tablename__ = "thread_facts"
    __table_args__ = (
        Index("ix_thread_facts_received", "received_at", "mailbox_id", "received_day",
              "received_dow", "received_hour"),
        Index("ix_thread_facts_first_reply", "first_reply_at", "mailbox_id", "first_response_business_s"),
        Index("ix_thread_facts_resolved", "resolved_at", "mailbox_id", "received_at",
              "resolution_business_s", "resolved_day"),
        Index("ix_thread_facts_first_resolved", "first_resolved_at", "mailbox_id",
              "replies_at_first_resolve", "first_reopen_after_s", "first_reopened_at"),
        Index("ix_thread_facts_unresolved", "received_at", "mailbox_id",
              sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),
        # ix_thread_facts_first_response_hours and ix_thread_facts_resolution_hours, on
        # (whole hours of business time, instant, ...), are expression indexes made by migration
        # 0027 (not declared here: SQLite's reflection cannot compare them), see ReportDurations
    )

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    received_at: Mapped[datetime | None]  # the first customer message
    received_day: Mapped[date | None] = mapped_column(Date)
    received_dow: Mapped[int | None] = mapped_column(Integer)
    received_hour: Mapped[int | None] = mapped_column(Integer)
    first_reply_at: Mapped[datetime | None]  # the first reply a person wrote that was delivered
    first_reply_day: Mapped[date | None] = mapped_column(Date)  # local, like received_day
    first_reply_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    first_reply_due_at: Mapped[datetime | None]  # the deadline in force when it went out
    first_response_business_s: Mapped[int | None] = mapped_column(Integer)
    first_response_wall_s: Mapped[int | None] = mapped_column(Integer)
    replied_within_deadline: Mapped[bool | None]
    replies_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_resolved_at: Mapped[datetime | None]
    first_resolved_day: Mapped[date | None] = mapped_column(Date)  # local, like received_day
    replies_at_first_resolve: Mapped[int | None] = mapped_column(Integer)  # FCR input
    first_reopened_at: Mapped[datetime | None]  # first reopening after the first resolution
    first_reopen_after_s: Mapped[int | None] = mapped_column(Integer)  # wall seconds between them
    resolved_at: Mapped[datetime | None]  # the latest resolution; None while not resolved
    resolved_day: Mapped[date | None] = mapped_column(Date)
    resolution_business_s: Mapped[int | None] = mapped_column(Integer)
    resolution_wall_s: Mapped[int | None] = mapped_column(Integer)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    thread: Mapped[Thread] = relationship(back_populates="facts")


class ReplyFact(Base):
    """One delivered reply a person wrote: who, when, and whether it beat the deadline in force."""

    __tablename__ = "reply_facts"
    __table_args__ = (Index("ix_reply_facts_delivered", "delivered_at", "mailbox_id", "author_id", "within_deadline"),)

    id: Mapped[int_pk]
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), unique=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    delivered_at: Mapped[datetime]
    delivered_day: Mapped[date | None] = mapped_column(Date)  # in the mailbox's timezone
    due_at: Mapped[datetime | None]
    within_deadline: Mapped[bool | None]


# Daily report roll-ups. The database keeps them: triggers on ``thread_facts`` and
# ``reply_facts`` (migration 0027) add each row's contribution and take back the old one on every
# insert, update and delete, however the facts changed (hooks, rebuild, merge, cascades). Days are
# the mailbox's local days, so the reports read them only when the period is in the mailbox's
# timezone. No foreign keys: a count may be taken back while its mailbox is being deleted.


class ReportArrivals(Base):
    """Threads whose first customer message arrived on a local day and hour, per mailbox."""

    __tablename__ = "report_arrivals"

    mailbox_id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    threads: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReportReplies(Base):
    """Delivered replies a person wrote, per mailbox, local day and author (0: none or deleted)."""

    __tablename__ = "report_replies"

    mailbox_id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    author_id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    replies: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    within_deadline: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    with_deadline: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReportDurations(Base):
    """How many threads took each whole number of hours of business time, per measure, mailbox
    and local day: ``FIRST_RESPONSE`` by the day of the first reply, ``RESOLUTION`` by the day of
    the latest resolution. The reports find the hour holding a percentile here, then its exact
    value among the facts of that hour and period only (``ix_thread_facts_*_hours``)."""

    __tablename__ = "report_durations"

    FIRST_RESPONSE: ClassVar[int] = 1
    RESOLUTION: ClassVar[int] = 2

    measure: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hours: Mapped[int] = mapped_column(Integer, primary_key=True)
    threads: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReportResolutions(Base):
    """Per mailbox and local day: threads now resolved that day (``resolved``, by
    ``resolved_day``) and first resolutions that day with their reopen and FCR counts."""

    __tablename__ = "report_resolutions"

    mailbox_id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    resolved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_resolved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reopened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fcr: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fcr_base: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiToken(Base):
    """A token for the REST API; only the SHA-256 of the secret is stored, with its visible prefix.

    A personal token acts as its user. A service token (``service``) acts as its own account
    (``user_id``), an inactive user that is never a person: it cannot log in and is not offered
    as an assignee; its role and mailboxes are what the admin chose.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int_pk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8))  # "read" or "write"
    service: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Requests in the current rate-limit window (one minute), shared by every worker process.
    rate_window: Mapped[datetime | None]
    rate_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ApiIdempotency(Base):
    """The response an API POST gave for (token, Idempotency-Key): a repeat gets it again."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int_pk]
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[created_at]


class WebhookSubscription(Base):
    """Where to POST which events: one mailbox's (``mailbox_id``) or every mailbox's (None)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int_pk]
    name: Mapped[str] = mapped_column(String(120))
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    secret_encrypted: Mapped[str] = mapped_column(Text)  # the HMAC key, see inbox.crypto
    events: Mapped[list[str]] = mapped_column(JsonType, default=list)
    format: Mapped[str] = mapped_column(String(16), default="json", server_default="json")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]


class WebhookDelivery(Base):
    """One event sent (or to be sent) to one subscription through the outbox, with the last responses."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),)

    id: Mapped[int_pk]
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))  # the same for a redelivery
    body: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    # The latest attempts, newest first: {"at", "status", "body", "error"}.
    responses: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    created_at: Mapped[created_at]


class ThreadOperation(Base):
    """A merge of threads into one, or a split of one in two, with what it moved so that it can
    be undone (see inbox.services.thread_ops). ``thread_id``: the merge's target, the split thread."""

    __tablename__ = "thread_operations"

    id: Mapped[int_pk]
    kind: Mapped[str] = mapped_column(String(16))  # "merge" or "split"
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime]
    undone_at: Mapped[datetime | None]


class ReplyDraft(Base):
    """A reply being written, saved as it is typed: one per (thread, user); never sent by itself."""

    __tablename__ = "reply_drafts"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    to: Mapped[str] = mapped_column(Text, default="", server_default="")
    cc: Mapped[str] = mapped_column(Text, default="", server_default="")
    bcc: Mapped[str] = mapped_column(Text, default="", server_default="")
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime]


class MallRateSlot(Base):
    """When the next request to one mall account may leave, shared by every scheduler process.

    ``key`` is the connector's rate key ("yahoo:<seller>", "rakuten:<shop>"); ``next_at`` is UNIX
    seconds (wall clock, the one clock processes share). See ``inbox.services.mall_rate``.
    """

    __tablename__ = "mall_rate_slots"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)


class MallRecheck(Base):
    """When an open mall thread was last re-fetched, so the recheck rotates through all of them."""

    __tablename__ = "mall_rechecks"

    thread_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    checked_at: Mapped[datetime] = mapped_column(index=True)


class CustomerLink(Base):
    """One customer known by several identities: ``contact_id`` (a mail address, a Rakuten masked
    address, a Yahoo! id) belongs to the customer whose profile is ``primary_id``'s. A contact
    without a link is its own customer. Links always point at a primary (never a chain)."""

    __tablename__ = "customer_links"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    primary_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]


class CustomerProfile(Base):
    """What the team keeps about a customer beyond their name and VIP mark (on the primary
    ``Contact``): company, phone and notes. One row per primary contact, made on first edit."""

    __tablename__ = "customer_profiles"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    company: Mapped[str] = mapped_column(String(255), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(64), default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime | None]


class ThreadOrderNumber(Base):
    """An order number a thread mentions (a mall inquiry's order, or 注文番号 in a mail's subject
    or text), normalised by ``inbox.services.order_numbers``; filled at ingest."""

    __tablename__ = "thread_order_numbers"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    source: Mapped[str] = mapped_column(String(16), default="mail", server_default="mail")
    created_at: Mapped[created_at]


class CsatFollowup(Base):
    """A satisfaction follow-up mail decided for one resolution of a thread: queued (``outbox_id``)
    or skipped (``skipped``: why). One row per (thread, resolution time), so each resolution gets
    at most one follow-up; see inbox.services.csat_followup."""

    __tablename__ = "csat_followups"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    resolved_at: Mapped[datetime] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    skipped: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8), default="ja", server_default="ja")
    created_at: Mapped[datetime]

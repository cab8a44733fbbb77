"""The REST API's request and response shapes, declared once: they validate input, shape output
and are the OpenAPI document's schemas (``inbox.web.api.spec``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from inbox.models import Direction, MailboxKind, MessageKind, Priority, Status
from inbox.web.inputs import MAX_ID

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
Tag = Annotated[str, Field(min_length=1, max_length=64)]


class Strict(BaseModel):
    """Request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# --- errors -------------------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="Which input was wrong.")
    problems: list[str] | None = Field(default=None, description="Why a reply cannot be sent.")


# --- reads --------------------------------------------------------------------------------------


class Person(BaseModel):
    id: int
    name: str


class Customer(BaseModel):
    id: int
    address: str
    name: str


class MailboxOut(BaseModel):
    id: int
    name: str
    kind: str
    address: str | None


class MailboxList(BaseModel):
    mailboxes: list[MailboxOut]


class CategoryRef(BaseModel):
    id: int
    label: str = Field(description='"配送 › 遅延" for a child category, the name alone for a parent.')


class CategoryOut(CategoryRef):
    name: str
    parent_id: int | None
    mailbox_id: int | None = Field(description="null: a global category, for every mailbox.")


class CategoryList(BaseModel):
    categories: list[CategoryOut] = Field(description="Parents each followed by their children.")


class ThreadOut(BaseModel):
    id: int = Field(description="The ticket number.")
    mailbox_id: int
    mailbox_name: str
    subject: str
    status: Status
    priority: Priority
    assignee: Person | None
    customer: Customer | None
    tags: list[str]
    category: CategoryRef | None
    due_at: datetime | None
    due_set_by_hand: bool
    last_activity_at: datetime
    created_at: datetime
    message_count: int
    version: int = Field(description="Give it back in PATCH to refuse changes made meanwhile.")


class ThreadPage(BaseModel):
    threads: list[ThreadOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class Address(BaseModel):
    name: str = ""
    address: str


class AttachmentOut(BaseModel):
    id: int
    message_id: int
    filename: str
    content_type: str
    size: int
    inline: bool


class MessageOut(BaseModel):
    id: int
    thread_id: int
    direction: Direction
    kind: MessageKind
    subject: str
    from_name: str
    from_address: str
    to: list[Address]
    cc: list[Address]
    sent_at: datetime | None
    received_at: datetime
    text: str
    new_text: str
    has_html: bool
    author: Person | None
    send_status: str | None = Field(description="For our replies: queued, sending, sent, failed, ...")
    attachments: list[AttachmentOut]


class MessageList(BaseModel):
    messages: list[MessageOut]


class SearchHit(BaseModel):
    thread: ThreadOut
    snippet: str


class SearchOut(BaseModel):
    query: str
    ticket: ThreadOut | None = Field(description="The thread whose number was typed, if any.")
    hits: list[SearchHit]
    more: bool
    timed_out: bool


class CustomerOut(Customer):
    threads: list[ThreadOut]


class Me(BaseModel):
    id: int
    name: str
    role: str
    token_name: str
    scope: Literal["read", "write"]
    service: bool
    mailbox_ids: list[int]


class Spread(BaseModel):
    count: int = Field(description="Threads measured.")
    median_h: float | None = Field(description="Median, in business hours.")
    p90_h: float | None = Field(description="90th percentile, in business hours.")


class Share(BaseModel):
    part: int
    whole: int
    percent: float | None


class Figures(BaseModel):
    received: int
    first_response: Spread
    resolution: Spread
    within_deadline: Share
    reopen: Share
    fcr: Share = Field(description="First-contact resolution.")
    replies: int
    backlog_end: int = Field(description="Threads open at the end of the period.")


class AgentReplies(BaseModel):
    user_id: int | None
    name: str
    replies: int
    replies_before: int


class BacklogDay(BaseModel):
    day: date
    open: int


class ReportOut(BaseModel):
    start: date
    end: date
    timezone: str
    mailbox_ids: list[int] = Field(description="The mailboxes the figures cover.")
    now: Figures = Field(description="The period's figures.")
    before: Figures = Field(description="The previous period of the same length.")
    agents: list[AgentReplies]
    backlog: list[BacklogDay]
    heatmap: list[list[int]] = Field(description="Arrivals by weekday (0 = Monday) and hour.")


class ReplyOut(BaseModel):
    message: MessageOut
    outbox_id: int
    status: str


# --- queries ------------------------------------------------------------------------------------


class ThreadQuery(Strict):
    view: Literal[
        "default", "new", "open", "waiting", "resolved", "mine", "unassigned", "overdue",
        "due_today", "all",
    ] = "default"  # fmt: skip
    mailbox: Id | None = None
    status: list[Status] = Field(default_factory=list, max_length=4)
    assignee: Annotated[str, Field(pattern=r"^(me|none|[1-9][0-9]{0,18})$")] | None = None
    tag: Tag | None = None
    deadline: Literal["overdue", "today", "none"] | None = None
    sort: Literal["deadline", "activity"] | None = None
    cursor: Annotated[str, Field(max_length=500)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class ReportQuery(Strict):
    start: date | None = Field(default=None, description="First day; default: 30 days before `end`.")
    end: date | None = Field(default=None, description="Last day (inclusive); default: today.")
    timezone: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="IANA zone of the days; default: the token user's."
    )
    mailbox: Id | None = None
    channel: MailboxKind | None = None
    agent: Id | None = None
    category: Id | None = None
    tag: Tag | None = None


class SearchQuery(Strict):
    q: Annotated[str, Field(max_length=200)]
    limit: Annotated[int, Field(ge=1, le=100)] = 50


# --- writes -------------------------------------------------------------------------------------


class NoteIn(Strict):
    body: Annotated[str, Field(min_length=1, max_length=20_000)]


class ReplyIn(Strict):
    text: Annotated[str, Field(min_length=1, max_length=200_000)]
    to: Annotated[str, Field(max_length=5000)] | None = Field(
        default=None, description="Addresses as typed in the composer; default: the customer.")
    cc: Annotated[str, Field(max_length=5000)] | None = None
    bcc: Annotated[str, Field(max_length=5000)] = ""
    subject: Annotated[str, Field(max_length=998)] | None = Field(
        default=None, description="Default: Re: and the thread's subject with its ticket number.")
    opened_at: AwareDatetime | None = Field(
        default=None,
        description="When you read the thread: a reply recorded later by someone else refuses "
        "this one with 409 unless `confirm` is true. Default: no such check.")
    confirm: bool = False


class ThreadPatch(Strict):
    version: Version | None = Field(
        default=None, description="The version you read; 409 if the thread changed since.")
    assignee_id: Id | None = Field(default=None, description="null unassigns.")
    status: Status | None = None
    priority: Priority | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20, description="Replaces the tags.")
    category_id: Id | None = Field(
        default=None, description="One of the mailbox's categories (listMailboxCategories); null clears it."
    )
    due_at: AwareDatetime | None = Field(
        default=None, description="A deadline set by hand, with its zone; null clears it.")

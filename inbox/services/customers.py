"""Customers as a team member may see them: only through threads of their mailboxes.

A customer is a primary ``Contact`` plus the contacts linked to it (``CustomerLink``: the same
person's mail address, Rakuten masked address, Yahoo! id); the id of a customer is its primary
contact's id, and a linked contact's id leads to the same customer. Their profile (display name
and VIP mark on the primary contact, company, phone and notes in ``CustomerProfile``) is shown
to whoever sees at least one of their threads; their threads are only ever those of the
viewer's mailboxes (``inbox.services.access.restrict_threads``). Linking and merging live in
``inbox.services.customer_links``, order numbers in ``inbox.services.customer_orders``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload, object_session, selectinload

from inbox.models import Contact, CustomerLink, CustomerProfile, Thread, ThreadOrderNumber, User
from inbox.services import audit
from inbox.services.access import restrict_threads
from inbox.services.errors import InvalidInput, NotFound

MAX_THREADS = 100
PAGE_SIZE = 25
MAX_PAGE = 10_000
MAX_QUERY = 200
LIMITS = {"name": 255, "company": 255, "phone": 64, "notes": 20_000}


@dataclass
class Customer:
    """One customer as a page shows them."""

    contact: Contact  # the primary contact: id, display name, VIP
    identities: list[Contact]  # every contact of the customer, primary first
    profile: CustomerProfile | None
    order_numbers: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.contact.id

    @property
    def label(self) -> str:
        return self.contact.name or self.contact.address


def primary_id(session: Session, contact_id: int) -> int:
    """The customer a contact belongs to (its own id when it is not linked)."""
    linked = session.scalar(
        select(CustomerLink.primary_id).where(CustomerLink.contact_id == contact_id)
    )
    return linked if linked is not None else contact_id


def contact_ids(session: Session, primary: int) -> list[int]:
    """Every contact of the customer ``primary``, the primary first."""
    others = session.scalars(
        select(CustomerLink.contact_id)
        .where(CustomerLink.primary_id == primary)
        .order_by(CustomerLink.contact_id)
    )
    return [primary, *others]


def _members(primary: int) -> Select:
    """SELECT of the contact ids of customer ``primary`` (for IN clauses)."""
    linked = select(CustomerLink.contact_id).where(CustomerLink.primary_id == primary)
    return select(Contact.id).where(or_(Contact.id == primary, Contact.id.in_(linked)))


def visible_threads(session: Session, user: User, primary: int) -> Select:
    """SELECT over Thread: the customer's threads in the user's mailboxes."""
    return restrict_threads(
        select(Thread).where(Thread.contact_id.in_(_members(primary))), session, user
    )


def get(session: Session, user: User, customer_id: int) -> Customer:
    """The customer ``customer_id`` (a primary or a linked contact's id) as the user may see them.

    Raises NotFound when the user has no thread with them: a customer of another mailbox is
    not shown, nor told apart from one that does not exist.
    """
    contact = session.get(Contact, customer_id)
    if contact is None:
        raise NotFound("No such customer in your mailboxes.")
    primary = primary_id(session, contact.id)
    stmt = visible_threads(session, user, primary).with_only_columns(Thread.id).limit(1)
    if session.scalar(stmt) is None:
        raise NotFound("No such customer in your mailboxes.")
    ids = contact_ids(session, primary)
    by_id = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    identities = [by_id[i] for i in ids if i in by_id]
    numbers = session.scalars(
        select(ThreadOrderNumber.number)
        .where(ThreadOrderNumber.thread_id.in_(visible_threads(session, user, primary).with_only_columns(Thread.id)))
        .group_by(ThreadOrderNumber.number).order_by(func.min(ThreadOrderNumber.created_at).desc(), ThreadOrderNumber.number)
        .limit(200)
    )  # fmt: skip
    return Customer(
        by_id[primary], identities, session.get(CustomerProfile, primary), list(numbers)
    )


def threads(
    session: Session, user: User, customer: Customer, *, page: int = 1
) -> tuple[list[Thread], bool]:
    """One page of the customer's threads in the user's mailboxes, newest first, and whether
    there is a next page."""
    page = max(1, min(page, MAX_PAGE))
    rows = list(session.scalars(
        visible_threads(session, user, customer.id).where(Thread.merged_into_id.is_(None))
        .options(joinedload(Thread.mailbox), joinedload(Thread.assignee), selectinload(Thread.tags))
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).unique())  # fmt: skip
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def customer(session: Session, user: User, contact_id: int) -> tuple[Contact, list[Thread]]:
    """The customer's primary contact and their newest threads in the user's mailboxes (the
    REST API's shape). Raises NotFound as ``get`` does."""
    found = get(session, user, contact_id)
    rows = session.scalars(
        visible_threads(session, user, found.id).where(Thread.merged_into_id.is_(None))
        .options(joinedload(Thread.mailbox), joinedload(Thread.assignee), selectinload(Thread.tags))
        .order_by(Thread.last_activity_at.desc(), Thread.id.desc()).limit(MAX_THREADS)
    ).unique()  # fmt: skip
    return found.contact, list(rows)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(
    session: Session, user: User, query: str = "", *, page: int = 1
) -> tuple[list[Customer], bool]:
    """Customers with a thread in the user's mailboxes, matching ``query`` in a name, address,
    company or order number (any of their identities); newest activity first, paged."""
    from inbox.services import order_numbers

    query = " ".join((query or "").replace("\x00", "").split())[:MAX_QUERY]
    page = max(1, min(page, MAX_PAGE))
    primary = func.coalesce(CustomerLink.primary_id, Thread.contact_id)
    stmt = restrict_threads(
        select(primary.label("pid"), func.max(Thread.last_activity_at).label("last"))
        .select_from(Thread).outerjoin(CustomerLink, CustomerLink.contact_id == Thread.contact_id)
        .where(Thread.contact_id.is_not(None)),
        session, user,
    ).group_by(primary)  # fmt: skip
    if query:
        pattern = _like(query.lower())
        number = order_numbers.normalise(query)
        by_contact = select(Contact.id).where(or_(
            func.lower(Contact.address).like(pattern, escape="\\"),
            func.lower(Contact.name).like(pattern, escape="\\"),
        ))  # fmt: skip
        by_profile = select(CustomerProfile.contact_id).where(
            func.lower(CustomerProfile.company).like(pattern, escape="\\")
        )
        matched = or_(
            Thread.contact_id.in_(by_contact),
            primary.in_(by_contact),
            primary.in_(by_profile),
            exists().where(
                ThreadOrderNumber.number == number, ThreadOrderNumber.thread_id == Thread.id
            ),
        )
        # A customer matches when any of their threads or identities does.
        pids = restrict_threads(
            select(primary).select_from(Thread)
            .outerjoin(CustomerLink, CustomerLink.contact_id == Thread.contact_id).where(matched),
            session, user,
        )  # fmt: skip
        stmt = stmt.having(primary.in_(pids))
    rows = session.execute(
        stmt.order_by(func.max(Thread.last_activity_at).desc(), primary.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()  # fmt: skip
    ids = [r.pid for r in rows[:PAGE_SIZE]]
    contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    profiles = {
        p.contact_id: p
        for p in session.scalars(select(CustomerProfile).where(CustomerProfile.contact_id.in_(ids)))
    }
    found = [Customer(contacts[i], [contacts[i]], profiles.get(i)) for i in ids if i in contacts]
    return found, len(rows) > PAGE_SIZE


def _clean(value: str | None, key: str) -> str:
    text = (value or "").replace("\x00", "").replace("\r\n", "\n").strip()
    if key != "notes":
        text = " ".join(text.split())
    if len(text) > LIMITS[key]:
        raise InvalidInput("Too long: at most %(n)s characters.", n=LIMITS[key])
    return text


def update(
    session: Session, user: User, customer_id: int, *, name: str, company: str, phone: str,
    notes: str, vip: bool | None = None, now: datetime,
) -> Customer:  # fmt: skip
    """Edit the profile's display name, company, phone and notes (and the VIP mark when ``vip``
    is not None: leads and admins only). Audited with what changed. Raises NotFound as ``get``,
    InvalidInput for a value too long, PermissionDenied for VIP by an agent."""
    found = get(session, user, customer_id)
    values = {"name": _clean(name, "name"), "company": _clean(company, "company"),
              "phone": _clean(phone, "phone"), "notes": _clean(notes, "notes")}  # fmt: skip
    profile = found.profile
    if profile is None:
        profile = CustomerProfile(contact_id=found.id, company="", phone="", notes="")
        session.add(profile)
        found.profile = profile
    before = {"name": found.contact.name, "company": profile.company, "phone": profile.phone,
              "notes": profile.notes}  # fmt: skip
    # The values name the customer and the audit trail is kept after an erasure: it records
    # which fields changed, never their text.
    changes: dict[str, object] = {k: "changed" for k, v in values.items() if before[k] != v}
    found.contact.name = values["name"]
    profile.company, profile.phone, profile.notes = (
        values["company"],
        values["phone"],
        values["notes"],
    )
    profile.updated_at = now
    if vip is not None and vip != found.contact.vip:
        set_vip(session, user, found, vip, now=now)
        changes["vip"] = [not vip, vip]
    if changes:
        audit.record(session, actor_id=user.id, action="customer.update", target=f"customer {found.id}",
                     changes=changes, now=now)  # fmt: skip
    session.flush()
    return found


def set_vip(session: Session, user: User, found: Customer, vip: bool, *, now: datetime) -> None:
    """Mark the customer VIP or not: every identity of theirs carries the mark, so the sorting
    rules' and deadline rules' ``customer_vip`` condition reads it on any thread of theirs.
    Leads and admins only (PermissionDenied)."""
    from inbox.models import Role
    from inbox.services.access import require_role

    require_role(user, Role.ADMIN, Role.LEAD)
    mark_vip(session, found.id, vip)


def mark_vip(session: Session, primary: int, vip: bool) -> None:
    """Set the VIP mark on every identity of customer ``primary``."""
    for contact in session.scalars(select(Contact).where(Contact.id.in_(_members(primary)))):
        contact.vip = vip


def is_vip(thread: Thread) -> bool:
    """Whether the thread's customer profile is marked VIP (through any linked identity)."""
    contact = thread.contact
    session = object_session(thread)
    if contact is None or session is None or contact.id is None:
        return bool(contact is not None and contact.vip)
    primary = primary_id(session, contact.id)
    owner = contact if primary == contact.id else session.get(Contact, primary)
    return bool(owner is not None and owner.vip)

"""One customer, several identities: link an address to a customer, merge two customers, undo a
link, suggest who might be the same person, and forget contacts (retention, erasure).

Merging keeps everything: threads stay on their contacts and follow the link, so their order
numbers follow too; the profiles' fields are combined (notes appended, empty fields filled),
and the VIP mark is kept if either had it. Every change is audited. Knows nothing of HTTP.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from inbox.models import Contact, CustomerLink, CustomerProfile, Thread, ThreadOrderNumber, User
from inbox.services import audit, customers
from inbox.services.customers import Customer
from inbox.services.errors import InvalidInput, NotFound

MAX_SUGGESTIONS = 10


def merge(session: Session, user: User, keep_id: int, other_id: int, *, now: datetime) -> Customer:
    """Make ``other_id``'s customer part of ``keep_id``'s: every identity of the other now leads
    to the kept profile. Both must be customers the user sees (NotFound otherwise); merging a
    customer with itself is InvalidInput."""
    keep = customers.get(session, user, keep_id)
    other = customers.get(session, user, other_id)
    if keep.id == other.id:
        raise InvalidInput("These are already the same customer.")
    _absorb(session, keep, other.id, actor_id=user.id)
    audit.record(
        session, actor_id=user.id, action="customer.merge", target=f"customer {keep.id}",
        changes={"merged": other.id, "identities": len(other.identities)}, now=now,
    )  # fmt: skip
    session.flush()
    session.expire_all()
    return customers.get(session, user, keep.id)


def _absorb(session: Session, keep: Customer, other: int, *, actor_id: int | None) -> None:
    session.execute(
        update(CustomerLink).where(CustomerLink.primary_id == other).values(primary_id=keep.id)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    session.add(CustomerLink(contact_id=other, primary_id=keep.id, linked_by_id=actor_id))
    theirs = session.get(CustomerProfile, other)
    other_contact = session.get(Contact, other)
    if theirs is not None:
        ours = keep.profile
        if ours is None:
            ours = CustomerProfile(contact_id=keep.id, company="", phone="", notes="")
            session.add(ours)
        ours.company = ours.company or theirs.company
        ours.phone = ours.phone or theirs.phone
        ours.notes = "\n\n".join(n for n in (ours.notes, theirs.notes) if n)
        ours.updated_at = max(filter(None, (ours.updated_at, theirs.updated_at)), default=None)
        session.delete(theirs)
    if other_contact is not None and not keep.contact.name:
        keep.contact.name = other_contact.name
    session.flush()
    customers.mark_vip(
        session, keep.id, keep.contact.vip or bool(other_contact and other_contact.vip)
    )


def link_address(
    session: Session, user: User, customer_id: int, address: str, *, now: datetime
) -> Customer:
    """Add an identity (a mail address, a Rakuten masked address, a Yahoo! ``yahoo:…`` id) to
    the customer, so that its mail lands on this profile. An address of a customer the user
    sees merges that customer in. Any other address, unknown or belonging to a customer of
    mailboxes the user cannot see, is linked the same way and answers the same: that one
    identity joins this customer and nothing of the other customer (profile, name, other
    identities) comes along, so the answer never tells whether the address exists elsewhere."""
    found = customers.get(session, user, customer_id)
    address = (address or "").replace("\x00", "").strip().lower()
    if not address or len(address) > 320 or any(c.isspace() for c in address):
        raise InvalidInput("Give one address or mall id (at most 320 characters, no spaces).")
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is not None:
        if customers.primary_id(session, contact.id) == found.id:
            raise InvalidInput("These are already the same customer.")
        try:
            customers.get(session, user, contact.id)
        except NotFound:
            _detach(session, contact.id)  # someone the user cannot see: as if it were new
        else:
            return merge(session, user, found.id, contact.id, now=now)
    else:
        contact = Contact(address=address, name="")
        session.add(contact)
        session.flush()
    contact.vip = found.contact.vip
    session.add(CustomerLink(contact_id=contact.id, primary_id=found.id, linked_by_id=user.id))
    audit.record(session, actor_id=user.id, action="customer.link", target=f"customer {found.id}",
                 changes={"contact": contact.id}, now=now)  # fmt: skip
    session.flush()
    session.expire_all()
    return customers.get(session, user, found.id)


def _detach(session: Session, contact_id: int) -> None:
    """Take one contact out of its customer, leaving that customer whole: a linked identity
    loses its link; a primary hands its other identities and its profile to the lowest of
    them (a primary alone keeps its profile, unused while linked, back after an unlink)."""
    session.execute(delete(CustomerLink).where(CustomerLink.contact_id == contact_id))
    heirs = list(session.scalars(
        select(CustomerLink.contact_id).where(CustomerLink.primary_id == contact_id).order_by(CustomerLink.contact_id)
    ))  # fmt: skip
    if heirs:
        heir = heirs[0]
        session.execute(delete(CustomerLink).where(CustomerLink.contact_id == heir))
        session.execute(update(CustomerLink).where(CustomerLink.primary_id == contact_id).values(primary_id=heir)
                        .execution_options(synchronize_session=False))  # fmt: skip
        profile = session.get(CustomerProfile, contact_id)
        if profile is not None and session.get(CustomerProfile, heir) is None:
            session.add(CustomerProfile(contact_id=heir, company=profile.company, phone=profile.phone,
                                        notes=profile.notes, updated_at=profile.updated_at))  # fmt: skip
            session.delete(profile)
    session.flush()


def unlink(
    session: Session, user: User, customer_id: int, contact_id: int, *, now: datetime
) -> Customer:
    """Undo a link: ``contact_id`` becomes a customer of its own again (its threads go with it;
    the profile stays). The primary identity cannot be unlinked (InvalidInput)."""
    found = customers.get(session, user, customer_id)
    if contact_id == found.id:
        raise InvalidInput("The main identity of a customer cannot be unlinked.")
    link = session.get(CustomerLink, contact_id)
    if link is None or link.primary_id != found.id:
        raise NotFound("No such identity of this customer.")
    session.delete(link)
    audit.record(session, actor_id=user.id, action="customer.unlink", target=f"customer {found.id}",
                 changes={"contact": contact_id}, now=now)  # fmt: skip
    session.flush()
    return customers.get(session, user, found.id)


def suggestions(session: Session, user: User, found: Customer) -> list[tuple[Customer, str]]:
    """Other customers the user sees who may be the same person: those with a thread naming
    one of this customer's order numbers, then those with the same display name. Each with
    why (``"order"`` or ``"name"``)."""
    own = {c.id for c in found.identities}
    primary = func.coalesce(CustomerLink.primary_id, Thread.contact_id)
    base = customers.restrict_threads(
        select(primary).select_from(Thread)
        .outerjoin(CustomerLink, CustomerLink.contact_id == Thread.contact_id)
        .where(Thread.contact_id.is_not(None), Thread.contact_id.not_in(own)),
        session, user,
    )  # fmt: skip
    picked: dict[int, str] = {}
    if found.order_numbers:
        shared = select(ThreadOrderNumber.thread_id).where(
            ThreadOrderNumber.number.in_(found.order_numbers)
        )
        for pid in session.scalars(
            base.where(Thread.id.in_(shared)).distinct().limit(MAX_SUGGESTIONS)
        ):
            picked.setdefault(pid, "order")
    name = (found.contact.name or "").strip()
    if len(name) >= 2 and len(picked) < MAX_SUGGESTIONS:
        same = select(Contact.id).where(func.lower(Contact.name) == name.lower())
        for pid in session.scalars(base.where(primary.in_(same)).distinct().limit(MAX_SUGGESTIONS)):
            picked.setdefault(pid, "name")
    result = []
    for pid, why in list(picked.items())[:MAX_SUGGESTIONS]:
        if pid in own:
            continue
        try:
            result.append((customers.get(session, user, pid), why))
        except NotFound:
            continue
    return result


def forget(session: Session, contact_ids: list[int]) -> None:
    """Before contacts are deleted: drop their links and profiles. A primary that goes hands its
    customer (links and profile) to its lowest remaining identity, so the others stay together."""
    if not contact_ids:
        return
    session.execute(delete(CustomerLink).where(CustomerLink.contact_id.in_(contact_ids)))
    for primary in contact_ids:
        heirs = list(session.scalars(
            select(CustomerLink.contact_id).where(CustomerLink.primary_id == primary).order_by(CustomerLink.contact_id)
        ))  # fmt: skip
        profile = session.get(CustomerProfile, primary)
        if heirs:
            heir = heirs[0]
            session.execute(delete(CustomerLink).where(CustomerLink.contact_id == heir))
            session.execute(update(CustomerLink).where(CustomerLink.primary_id == primary).values(primary_id=heir)
                            .execution_options(synchronize_session=False))  # fmt: skip
            if profile is not None:
                session.add(CustomerProfile(contact_id=heir, company=profile.company, phone=profile.phone,
                                            notes=profile.notes, updated_at=profile.updated_at))  # fmt: skip
        if profile is not None:
            session.delete(profile)
    session.flush()

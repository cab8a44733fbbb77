"""Customers (contacts) as a team member may see them: only through threads of their mailboxes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from inbox.models import Contact, Thread, User
from inbox.services.access import restrict_threads
from inbox.services.errors import NotFound

MAX_THREADS = 100


def customer(session: Session, user: User, contact_id: int) -> tuple[Contact, list[Thread]]:
    """The contact and their newest threads in the user's mailboxes. Raises NotFound when the
    user has no thread with them (a customer of another mailbox is not shown)."""
    contact = session.get(Contact, contact_id)
    threads: list[Thread] = []
    if contact is not None:
        stmt = restrict_threads(select(Thread).where(Thread.contact_id == contact.id), session, user)
        threads = list(session.scalars(
            stmt.options(joinedload(Thread.mailbox), joinedload(Thread.assignee),
                         selectinload(Thread.tags))
            .order_by(Thread.last_activity_at.desc(), Thread.id.desc()).limit(MAX_THREADS)
        ).unique())  # fmt: skip
    if contact is None or not threads:
        raise NotFound("No such customer in your mailboxes.")
    return contact, threads

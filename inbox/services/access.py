"""Who may see what: mailbox membership and role checks shared by every view and command."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from inbox.models import Mailbox, MailboxMember, Role, Thread, User
from inbox.services.errors import NotFound, PermissionDenied


def visible_mailbox_ids(session: Session, user: User) -> list[int]:
    """Mailboxes the user may work: all for admins, their memberships for everyone else."""
    if user.role == Role.ADMIN:
        return list(session.scalars(select(Mailbox.id).order_by(Mailbox.id)))
    return list(
        session.scalars(
            select(MailboxMember.mailbox_id)
            .where(MailboxMember.user_id == user.id)
            .order_by(MailboxMember.mailbox_id)
        )
    )


def visible_mailboxes(session: Session, user: User) -> list[Mailbox]:
    ids = visible_mailbox_ids(session, user)
    return list(session.scalars(select(Mailbox).where(Mailbox.id.in_(ids)).order_by(Mailbox.name)))


def restrict_threads(stmt: Select, session: Session, user: User) -> Select:
    """Limit a SELECT over Thread to the user's mailboxes."""
    if user.role == Role.ADMIN:
        return stmt
    member = select(MailboxMember.mailbox_id).where(MailboxMember.user_id == user.id)
    return stmt.where(Thread.mailbox_id.in_(member))


def can_see_mailbox(session: Session, user: User, mailbox_id: int) -> bool:
    if user.role == Role.ADMIN:
        return True
    return session.get(MailboxMember, {"mailbox_id": mailbox_id, "user_id": user.id}) is not None


def get_thread(session: Session, user: User, thread_id: int, *, for_update: bool = False) -> Thread:
    """The thread, if it exists and the user may see it; otherwise NotFound (no difference shown)."""
    thread = session.get(Thread, thread_id, with_for_update=for_update or None)
    if thread is None or not can_see_mailbox(session, user, thread.mailbox_id):
        raise NotFound("Thread #%(id)s does not exist or is not in your mailboxes.", id=thread_id)
    return thread


def require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        raise PermissionDenied("Your role does not allow this.")


def editable_scopes(session: Session, user: User) -> list[int | None]:
    """Where the user may edit team settings (sorting rules, categories): None (global) and
    every mailbox for admins, their own mailboxes for leads, nothing for agents."""
    if user.role == Role.ADMIN:
        return [None, *visible_mailbox_ids(session, user)]
    if user.role == Role.LEAD:
        return list(visible_mailbox_ids(session, user))
    return []

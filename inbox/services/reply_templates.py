"""Canned replies (定型文): who may use and edit them, and filling in their placeholders.

Templates belong to one mailbox or are shared by all (``mailbox_id`` None). Everyone may use
the templates of the mailboxes they work; admins edit all, leads edit their mailboxes'
templates (not shared ones), agents edit none. Knows nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inbox.models import Message, Role, Template, Thread, User
from inbox.services import customer_names
from inbox.services.access import visible_mailbox_ids
from inbox.services.errors import InvalidInput, NotFound, PermissionDenied


@dataclass(frozen=True)
class Fill:
    """The values the placeholders take for one thread and one agent."""

    customer_name: str
    ticket: str
    agent_name: str
    signature: str
    # mall threads (empty elsewhere): from the thread's mall fields
    order_number: str = ""
    item_name: str = ""
    inquiry_number: str = ""


PLACEHOLDERS = (
    "customer_name", "ticket", "agent_name", "signature", "order_number", "item_name", "inquiry_number",
)


def usable_for_thread(session: Session, thread: Thread) -> list[Template]:
    """Templates of the thread's mailbox plus shared ones, by name."""
    return list(
        session.scalars(
            select(Template)
            .where(or_(Template.mailbox_id == thread.mailbox_id, Template.mailbox_id.is_(None)))
            .order_by(Template.name, Template.id)
        )
    )


def visible_templates(session: Session, user: User) -> list[Template]:
    """Shared templates and those of the user's mailboxes, shared first, then by name."""
    ids = visible_mailbox_ids(session, user)
    return list(
        session.scalars(
            select(Template)
            .where(or_(Template.mailbox_id.in_(ids), Template.mailbox_id.is_(None)))
            .order_by(Template.mailbox_id.is_not(None), Template.name, Template.id)
        )
    )


def can_edit(session: Session, user: User, mailbox_id: int | None) -> bool:
    """Admins: any template. Leads: templates of mailboxes they are members of. Agents: none."""
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.LEAD or mailbox_id is None:
        return False
    return mailbox_id in visible_mailbox_ids(session, user)


def editable_mailbox_choices(session: Session, user: User) -> list[int | None]:
    """Where the user may put a template: None (shared) for admins, plus their mailboxes."""
    if user.role == Role.ADMIN:
        return [None, *visible_mailbox_ids(session, user)]
    if user.role == Role.LEAD:
        return list(visible_mailbox_ids(session, user))
    return []


def get_template(session: Session, user: User, template_id: int) -> Template:
    """A template the user may see (to use it); NotFound otherwise."""
    template = session.get(Template, template_id)
    if template is None or (
        template.mailbox_id is not None
        and template.mailbox_id not in visible_mailbox_ids(session, user)
    ):
        raise NotFound("This template does not exist or is not in your mailboxes.")
    return template


def _check(session: Session, user: User, mailbox_id: int | None, name: str, body: str) -> None:
    if not can_edit(session, user, mailbox_id):
        raise PermissionDenied("You may not edit templates of this mailbox.")
    if not name.strip() or len(name.strip()) > 120:
        raise InvalidInput("A template needs a name of at most 120 characters.")
    if not body.strip():
        raise InvalidInput("A template needs some text.")


def create_template(
    session: Session, user: User, *, mailbox_id: int | None, name: str, body: str
) -> Template:
    """Add a template; raises PermissionDenied or InvalidInput. Flushes, does not commit."""
    _check(session, user, mailbox_id, name, body)
    template = Template(
        mailbox_id=mailbox_id, name=name.strip(), body=body.replace("\r\n", "\n"),
        created_by_id=user.id,
    )
    session.add(template)
    session.flush()
    return template


def update_template(
    session: Session, user: User, template: Template, *, mailbox_id: int | None, name: str,
    body: str, now: datetime,
) -> Template:
    """Change a template (the user must be allowed on its old and its new mailbox)."""
    if not can_edit(session, user, template.mailbox_id):
        raise PermissionDenied("You may not edit templates of this mailbox.")
    _check(session, user, mailbox_id, name, body)
    template.mailbox_id, template.name = mailbox_id, name.strip()
    template.body = body.replace("\r\n", "\n")
    template.updated_at = now
    return template


def delete_template(session: Session, user: User, template: Template) -> None:
    if not can_edit(session, user, template.mailbox_id):
        raise PermissionDenied("You may not delete templates of this mailbox.")
    session.delete(template)


def fill_for(thread: Thread, agent: User, ticket_token: str, customer: Message | None) -> Fill:
    """Placeholder values: the customer's name as their last mail gave it, else the contact's,
    else their address; お客様 for a mall customer without a name (never the mall's internal id).
    A mall thread also fills its order number, item name and inquiry number."""
    name = customer.from_name if customer is not None else ""
    if not name and thread.contact is not None:
        name = thread.contact.name
    address = (thread.contact.address if thread.contact else "") or ""
    meta = thread.external_meta or {}
    mall = bool(thread.external_ref and meta.get("mall"))
    return Fill(
        customer_name=customer_names.for_replies(name, address),
        ticket=ticket_token,
        agent_name=agent.name,
        signature=combined_signature(agent, thread),
        order_number=str(meta.get("order_number") or "") if mall else "",
        item_name=str(meta.get("item_name") or meta.get("item_number") or "") if mall else "",
        inquiry_number=str(thread.external_ref or "") if mall else "",
    )


def combined_signature(agent: User, thread: Thread) -> str:
    """The writer's own signature (if any) above the mailbox's (if any)."""
    parts = [(agent.signature or "").strip("\n"), (thread.mailbox.signature or "").strip("\n")]
    return "\n".join(p for p in parts if p.strip())


def render(body: str, fill: Fill, *, add_signature: bool = False) -> str:
    """Replace the placeholders; other braces are left alone. With ``add_signature``, a body
    without ``{signature}`` gets the signature appended, so a reply has it exactly once."""
    text = body
    for key in PLACEHOLDERS:
        text = text.replace("{" + key + "}", getattr(fill, key))
    if add_signature and "{signature}" not in body and fill.signature:
        text = text.rstrip() + "\n\n" + fill.signature
    return text

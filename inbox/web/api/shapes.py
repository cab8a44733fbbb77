"""Rows to response models: how a thread, a message and an attachment look in the API."""

from __future__ import annotations

from inbox.models import Attachment, Message, OutboxItem, Thread, User
from inbox.web.api import schemas as s


def person(user: User | None) -> s.Person | None:
    return s.Person(id=user.id, name=user.name) if user is not None else None


def thread_out(thread: Thread) -> s.ThreadOut:
    contact = thread.contact
    return s.ThreadOut(
        id=thread.id,
        mailbox_id=thread.mailbox_id,
        mailbox_name=thread.mailbox.name,
        subject=thread.subject,
        status=thread.status,
        priority=thread.priority,
        assignee=person(thread.assignee),
        customer=s.Customer(id=contact.id, address=contact.address, name=contact.name) if contact else None,
        tags=[t.tag for t in thread.tags],
        category=s.CategoryRef(id=thread.category.id, label=thread.category.label) if thread.category else None,
        due_at=thread.due_at,
        due_set_by_hand=thread.due_set_by_hand,
        last_activity_at=thread.last_activity_at,
        created_at=thread.created_at,
        message_count=thread.message_count,
        version=thread.version,
    )


def attachment_out(attachment: Attachment) -> s.AttachmentOut:
    return s.AttachmentOut(
        id=attachment.id, message_id=attachment.message_id, filename=attachment.filename,
        content_type=attachment.content_type, size=attachment.size, inline=attachment.inline,
    )  # fmt: skip


def _addresses(values: list) -> list[s.Address]:
    return [
        s.Address(name=str(a.get("name") or ""), address=str(a["address"]))
        for a in values or []
        if isinstance(a, dict) and a.get("address")
    ]


def message_out(message: Message, item: OutboxItem | None = None) -> s.MessageOut:
    return s.MessageOut(
        id=message.id,
        thread_id=message.thread_id,
        direction=message.direction,
        kind=message.kind,
        subject=message.subject,
        from_name=message.from_name,
        from_address=message.from_address,
        to=_addresses(message.to),
        cc=_addresses(message.cc),
        sent_at=message.sent_at,
        received_at=message.received_at,
        text=message.text,
        new_text=message.new_text,
        has_html=bool(message.html),
        author=person(message.author),
        send_status=item.status.value if item is not None else None,
        attachments=[attachment_out(a) for a in message.attachments],
    )

"""API: who the token is, mailboxes and their categories, single messages and attachments, search, customers, and the
OpenAPI document with its browsable page."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from inbox.models import Attachment, Mailbox, Message
from inbox.services import categories, customers, replies, search, threads_view
from inbox.services.access import (
    can_see_mailbox,
    get_thread,
    visible_mailbox_ids,
    visible_mailboxes,
)
from inbox.services.errors import NotFound
from inbox.web import db, runtime
from inbox.web.api import schemas as s
from inbox.web.api import spec
from inbox.web.api.core import me, operation, token
from inbox.web.api.shapes import attachment_out, message_out, thread_out

bp = Blueprint("reads", __name__)


@operation(bp, "get", "/me", name="getMe", tag="account", scope="read",
           summary="Who this token acts as", response=s.Me)  # fmt: skip
def who() -> s.Me:
    user, tok = me(), token()
    return s.Me(id=user.id, name=user.name, role=user.role.value, token_name=tok.name,
                scope=tok.scope, service=tok.service,
                mailbox_ids=visible_mailbox_ids(db(), user))  # fmt: skip


@operation(bp, "get", "/mailboxes", name="listMailboxes", tag="account", scope="read",
           summary="The mailboxes this token may see", response=s.MailboxList)  # fmt: skip
def mailboxes() -> s.MailboxList:
    return s.MailboxList(mailboxes=[
        s.MailboxOut(id=m.id, name=m.name, kind=m.kind.value, address=m.address)
        for m in visible_mailboxes(db(), me())
    ])  # fmt: skip


@operation(bp, "get", "/mailboxes/<int:mailbox_id>/categories", name="listMailboxCategories",
           tag="account", scope="read",
           summary="The active categories a thread of this mailbox may take (global and its own)",
           response=s.CategoryList)  # fmt: skip
def mailbox_categories(mailbox_id: int) -> s.CategoryList:
    session = db()
    if session.get(Mailbox, mailbox_id) is None or not can_see_mailbox(session, me(), mailbox_id):
        raise NotFound("This mailbox does not exist or is not yours.")
    return s.CategoryList(categories=[
        s.CategoryOut(id=c.id, label=c.label, name=c.name, parent_id=c.parent_id,
                      mailbox_id=c.mailbox_id)
        for c in categories.for_mailbox(session, mailbox_id)
    ])  # fmt: skip


def _message(message_id: int) -> Message:
    session = db()
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound("No such message.")
    get_thread(session, me(), message.thread_id)  # NotFound unless visible
    return message


@operation(bp, "get", "/messages/<int:message_id>", name="getMessage", tag="messages", scope="read",
           summary="Read one message or note", response=s.MessageOut)  # fmt: skip
def message(message_id: int) -> s.MessageOut:
    found = _message(message_id)
    items = replies.reply_items(db(), found.thread)
    return message_out(found, items.get(found.id))


def _attachment(attachment_id: int) -> Attachment:
    found = db().get(Attachment, attachment_id)
    if found is None:
        raise NotFound("No such attachment.")
    _message(found.message_id)
    return found


@operation(bp, "get", "/attachments/<int:attachment_id>", name="getAttachment", tag="messages",
           scope="read", summary="An attachment's name, type and size",
           response=s.AttachmentOut)  # fmt: skip
def attachment(attachment_id: int) -> s.AttachmentOut:
    return attachment_out(_attachment(attachment_id))


@operation(bp, "get", "/attachments/<int:attachment_id>/content", name="getAttachmentContent",
           tag="messages", scope="read", summary="An attachment's bytes", binary=True)  # fmt: skip
def attachment_content(attachment_id: int) -> Response:
    found = _attachment(attachment_id)
    download = threads_view.attachment_download(
        db(), me(), found.message.thread_id, found.id, read_blob=runtime().blobs.get)
    response = Response(download.data, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = download.disposition
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Inbox-Content-Type"] = download.content_type
    return response


@operation(bp, "get", "/search", name="search", tag="search", scope="read",
           summary="Search threads by ticket number, address, subject and text",
           query=s.SearchQuery, response=s.SearchOut)  # fmt: skip
def find(query: s.SearchQuery) -> s.SearchOut:
    result = search.search(db(), me(), query.q, limit=query.limit)
    return s.SearchOut(
        query=result.query,
        ticket=thread_out(result.ticket) if result.ticket else None,
        hits=[s.SearchHit(thread=thread_out(h.thread), snippet=h.snippet) for h in result.hits],
        more=result.more,
        timed_out=result.timed_out,
    )


@operation(bp, "get", "/customers/<int:customer_id>", name="getCustomer", tag="customers",
           scope="read", summary="A customer and their threads in your mailboxes",
           response=s.CustomerOut)  # fmt: skip
def customer(customer_id: int) -> s.CustomerOut:
    contact, threads = customers.customer(db(), me(), customer_id)
    return s.CustomerOut(id=contact.id, address=contact.address, name=contact.name,
                         threads=[thread_out(t) for t in threads])  # fmt: skip


_DOCUMENT: dict | None = None


def document() -> dict:
    global _DOCUMENT
    if _DOCUMENT is None:
        _DOCUMENT = spec.document()
    return _DOCUMENT


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())


openapi.public = True  # type: ignore[attr-defined]


@bp.get("/docs")
def docs() -> str:
    doc = document()
    operations = [
        (path, method.upper(), op) for path, methods in doc["paths"].items()
        for method, op in methods.items()
    ]  # fmt: skip
    return render_template("api/docs.html", operations=operations,
                           schemas=doc["components"]["schemas"])  # fmt: skip


docs.public = True  # type: ignore[attr-defined]

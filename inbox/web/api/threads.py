"""API: threads — the queue's list with its filters and cursor paging, one thread, its messages,
notes, replies through the outbox, and changes (assignee, status, priority, tags, category,
deadline)."""

from __future__ import annotations

from datetime import UTC

from flask import Blueprint, g
from flask_babel import gettext as _

from inbox.db import utcnow
from inbox.services import assignment, deadlines, notes, queue, replies
from inbox.services.access import can_see_mailbox, get_thread
from inbox.services.errors import ConcurrentChange, NotFound
from inbox.web import db, runtime
from inbox.web.api import schemas as s
from inbox.web.api.core import ApiProblem, me, operation
from inbox.web.api.shapes import message_out, thread_out
from inbox.web.errors import translated

bp = Blueprint("threads", __name__)


@operation(bp, "get", "/threads", name="listThreads", tag="threads", scope="read",
           summary="List threads as the queue shows them", query=s.ThreadQuery,
           response=s.ThreadPage)  # fmt: skip
def list_threads(query: s.ThreadQuery) -> s.ThreadPage:
    session, user = db(), me()
    if query.mailbox is not None and not can_see_mailbox(session, user, query.mailbox):
        raise NotFound("This mailbox does not exist or is not yours.")
    flt = queue.QueueFilter(
        view=query.view, mailbox_id=query.mailbox, statuses=tuple(query.status),
        assignee=query.assignee, tag=query.tag, deadline=query.deadline, sort=query.sort,
    )  # fmt: skip
    page = queue.list_threads(session, user, flt, now=utcnow(), after=query.cursor, limit=query.limit)
    return s.ThreadPage(threads=[thread_out(t) for t in page.threads], next_cursor=page.next_cursor)


@operation(bp, "get", "/threads/<int:thread_id>", name="getThread", tag="threads", scope="read",
           summary="Read one thread", response=s.ThreadOut)  # fmt: skip
def get_one(thread_id: int) -> s.ThreadOut:
    return thread_out(get_thread(db(), me(), thread_id))


@operation(bp, "get", "/threads/<int:thread_id>/messages", name="listMessages", tag="threads",
           scope="read", summary="The thread's messages and notes, oldest first",
           response=s.MessageList)  # fmt: skip
def messages(thread_id: int) -> s.MessageList:
    session = db()
    thread = get_thread(session, me(), thread_id)
    items = replies.reply_items(session, thread)
    return s.MessageList(messages=[message_out(m, items.get(m.id)) for m in thread.messages])


@operation(bp, "patch", "/threads/<int:thread_id>", name="updateThread", tag="threads", scope="write",
           summary="Change the assignee, status, priority, tags, category or deadline", body=s.ThreadPatch,
           response=s.ThreadOut)  # fmt: skip
def update(thread_id: int, body: s.ThreadPatch) -> s.ThreadOut:
    session, user, now = db(), me(), utcnow()
    thread = get_thread(session, user, thread_id)
    if body.version is not None and body.version != thread.version:
        raise ConcurrentChange(
            "Someone else changed this thread while you were looking at it. Nothing was saved.")
    given = body.model_fields_set
    if "assignee_id" in given:
        if body.assignee_id is None:
            thread = assignment.unassign(session, thread_id, by=user, expected_version=thread.version, now=now)
        else:
            thread = assignment.assign(session, thread_id, body.assignee_id, by=user,
                                       expected_version=thread.version, now=now)  # fmt: skip
    if body.status is not None:
        thread = assignment.set_status(session, thread_id, body.status, by=user,
                                       expected_version=thread.version, now=now)  # fmt: skip
    if body.priority is not None:
        thread = assignment.set_priority(session, thread_id, body.priority, by=user,
                                         expected_version=thread.version, now=now)  # fmt: skip
    if body.tags is not None:
        thread = assignment.set_tags(session, thread_id, body.tags, by=user,
                                     expected_version=thread.version, now=now)  # fmt: skip
    if "category_id" in given:
        thread = assignment.set_category(session, thread_id, body.category_id, by=user,
                                         expected_version=thread.version, now=now)  # fmt: skip
    if "due_at" in given:
        if body.due_at is None:
            deadlines.clear_by_hand(session, thread, actor_id=user.id, now=now)
        else:
            due = body.due_at.astimezone(UTC)
            due = deadlines.due_from_input(
                deadlines.calendar_for(thread.mailbox), now=now, day=due.date(), at=due.time(), zone=UTC)
            deadlines.set_by_hand(session, thread, due, actor_id=user.id, now=now)
        session.flush()
    return thread_out(thread)


@operation(bp, "post", "/threads/<int:thread_id>/notes", name="addNote", tag="threads", scope="write",
           summary="Add an internal note (@name mentions a colleague)", body=s.NoteIn,
           response=s.MessageOut, status=201, idempotency="optional")  # fmt: skip
def add_note(thread_id: int, body: s.NoteIn) -> s.MessageOut:
    note = notes.add_note(db(), thread_id, body.body, by=me(), now=utcnow())
    return message_out(note)


@operation(bp, "post", "/threads/<int:thread_id>/replies", name="sendReply", tag="threads",
           scope="write", summary="Reply to the customer (queued in the outbox, sent once)",
           body=s.ReplyIn, response=s.ReplyOut, status=202, idempotency="required")  # fmt: skip
def send_reply(thread_id: int, body: s.ReplyIn) -> s.ReplyOut:
    session, user, rt, now = db(), me(), runtime(), utcnow()
    thread = get_thread(session, user, thread_id, for_update=True)
    key = g.idempotency_key
    composer = replies.composer_defaults(session, thread, settings=rt.settings, now=now, reply_key=key)
    draft = replies.Draft(
        to=composer.to if body.to is None else body.to,
        cc=composer.cc if body.cc is None else body.cc,
        bcc=body.bcc,
        subject=composer.subject if body.subject is None else body.subject,
        text=body.text,
        reply_key=key,
        opened_at=body.opened_at or now,
        confirm=body.confirm,
    )
    try:
        message = replies.send_reply(session, thread, user, draft, now=now, settings=rt.settings,
                                     blobs=rt.blobs)  # fmt: skip
    except replies.ReplyProblems as exc:
        raise ApiProblem(422, _("Cannot send"), translated(exc) if not exc.problems else "",
                         problems=[_(p, **getattr(p, "params", {})) for p in exc.problems]) from exc  # fmt: skip
    except replies.ReplyConflict as exc:
        raise ApiProblem(409, _("Changed meanwhile"), translated(exc),
                         replies=[m.id for m in exc.replies]) from exc  # fmt: skip
    item = replies.reply_items(session, thread)[message.id]
    return s.ReplyOut(message=message_out(message, item), outbox_id=item.id, status=item.status.value)

"""Writing beyond a reply: forwarding a message or thread, new mail to a customer, and cancelling
a scheduled send. Scheduling itself is part of every composer (``send_at_from_form``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from inbox.db import utcnow
from inbox.models import Direction, Mailbox, Message
from inbox.services import deadlines, forwarding, mall_topics, new_mail, replies, send_later
from inbox.services import reply_templates as templates_service
from inbox.services.access import get_thread
from inbox.services.errors import InvalidInput, InvalidInputs, NotFound
from inbox.web import db, localtime, runtime, user_zone
from inbox.web.errors import translated

bp = Blueprint("compose", __name__)


def send_at_from_form(mailbox: Mailbox) -> datetime | None:
    """The scheduled time chosen in a composer (None: send now). Raises InvalidInput."""
    form = request.form
    return send_later.resolve(
        form.get("send_when", "now")[:16],
        form.get("send_at", "")[:40],
        now=utcnow(),
        cal=deadlines.calendar_for(mailbox),
        zone=str(user_zone()),
    )


def local_value(at: datetime | None) -> str:
    """A UTC time as a datetime-local field shows it, in the viewer's zone."""
    return at.astimezone(user_zone()).strftime("%Y-%m-%dT%H:%M") if at else ""


@bp.app_context_processor
def _helpers() -> dict:
    return {
        "send_later_value": local_value,
        "deadline_before": send_later.deadline_before,
    }


# --- forward -----------------------------------------------------------------------------------


@bp.route("/threads/<int:thread_id>/forward", methods=["GET", "POST"])
@login_required
def forward(thread_id: int):
    session, user, rt = db(), current_user._get_current_object(), runtime()
    thread = get_thread(session, user, thread_id)
    if thread.merged_into_id is not None:  # forward from the thread it was merged into
        return redirect(url_for("compose.forward", thread_id=thread.merged_into_id))
    source = request.form if request.method == "POST" else request.args
    message_id = source.get("message", type=int)
    shown: Message | None = None
    if message_id is not None:
        shown = session.get(Message, message_id)
        if shown is None or shown.thread_id != thread.id or shown.direction == Direction.NOTE:
            raise NotFound("This message does not exist on this thread.")
    form = forwarding.Forward(
        to=source.get("to", "")[:2000],
        note=source.get("note", ""),
        mode=source.get("mode", "attach")[:16],
        message_id=message_id,
        key=(source.get("key") or uuid.uuid4().hex)[:64],
    )
    error = None
    if request.method == "POST":
        try:
            forwarding.forward(
                session, thread, user, form, now=utcnow(), settings=rt.settings, blobs=rt.blobs
            )
        except InvalidInput as exc:
            session.rollback()
            error = translated(exc)
        else:
            session.commit()
            flash(gettext("The forward is queued and will be sent in a moment."), "success")
            return redirect(url_for("thread.show", thread_id=thread.id))
    page = render_template(
        "compose/forward.html", thread=thread, form=form, shown=shown, error=error
    )
    return page, (422 if error else 200)


# --- new mail ----------------------------------------------------------------------------------


def _new_draft(key: str) -> replies.Draft:
    form = request.form
    return replies.Draft(
        to=form.get("to", "")[:2000],
        cc=form.get("cc", "")[:2000],
        bcc="",
        subject=form.get("subject", "")[:2000],
        text=form.get("body", ""),
        reply_key=key,
        opened_at=utcnow(),
    )


@bp.route("/compose/new", methods=["GET", "POST"])
@login_required
def new():
    session, user, rt = db(), current_user._get_current_object(), runtime()
    boxes = new_mail.sendable_mailboxes(session, user)
    source = request.form if request.method == "POST" else request.args
    chosen = source.get("mailbox", type=int)
    if chosen is None and boxes:
        chosen = boxes[0].id
    key = (source.get("key") or uuid.uuid4().hex)[:64]
    draft = (
        _new_draft(key)
        if request.method == "POST"
        else replies.Draft(
            to=source.get("to", "")[:2000],
            cc="",
            bcc="",
            subject="",
            text="",
            reply_key=key,
            opened_at=utcnow(),
        )
    )
    problems: list[str] = []
    mailbox = new_mail.mailbox_for(session, user, chosen) if boxes else None
    if mailbox is not None and request.method == "GET" and not draft.text and mailbox.signature:
        draft.text = "\n\n" + mailbox.signature
    templates = templates_service.usable_for_thread(session, _Box(mailbox)) if mailbox else []
    if request.method == "POST" and mailbox is not None:
        if request.form.get("action") == "template":
            chosen_t = templates_service.get_template(
                session, user, request.form.get("template", type=int) or 0
            )
            fill = templates_service.Fill(
                customer_name="", ticket="", agent_name=user.name, signature=mailbox.signature or ""
            )
            draft.text = templates_service.render(chosen_t.body, fill, add_signature=True)
        else:
            try:
                draft.send_at = send_at_from_form(mailbox)
                message = _start_once(
                    session,
                    lambda: new_mail.start(
                        session, mailbox, user, draft, now=utcnow(), settings=rt.settings, blobs=rt.blobs
                    ),
                    lambda: new_mail.existing(session, mailbox, draft.reply_key),
                )
            except replies.ReplyProblems as exc:
                session.rollback()
                problems = [gettext(p, **getattr(p, "params", {})) for p in exc.problems]
            except InvalidInput as exc:
                session.rollback()
                problems = [translated(exc)]
            else:
                thread_id = message.thread_id
                flash(sent_note(draft.send_at), "success")
                return redirect(url_for("thread.show", thread_id=thread_id))
    page = render_template(
        "compose/new.html",
        topic_channels=mall_topics.topic_channels(session, user),
        has_rakuten=mall_topics.has_rakuten(session, user),
        boxes=boxes,
        mailbox=mailbox,
        draft=draft,
        templates=templates,
        problems=problems,
        key=key,
    )
    return page, (422 if problems else 200)


# --- new Yahoo! topic ---------------------------------------------------------------------------


@bp.route("/compose/topic", methods=["GET", "POST"])
@login_required
def topic():
    session, user = db(), current_user._get_current_object()
    channels = mall_topics.topic_channels(session, user)
    source = request.form if request.method == "POST" else request.args
    chosen = source.get("mailbox", type=int)
    if chosen is None and source.get("mailbox"):  # out of range or not a number: never a default
        raise NotFound("You cannot start a Yahoo! topic from this channel.")
    if chosen is None and channels:
        chosen = channels[0].id
    channel = mall_topics.channel_for(session, user, chosen) if channels else None
    draft = mall_topics.TopicDraft(
        order_id=source.get("order", "")[:200],
        category_id=source.get("category", "")[:200],
        title=source.get("title", "")[:2000],
        text=source.get("body", "")[:20000],
        key=(source.get("key") or uuid.uuid4().hex)[:64],
    )
    problems: list[str] = []
    if channel is not None and request.method == "GET" and not draft.text and channel.signature:
        draft.text = "\n\n" + channel.signature
    templates = templates_service.usable_for_thread(session, _Box(channel)) if channel else []
    if request.method == "POST" and channel is not None:
        if request.form.get("action") == "template":
            chosen_t = templates_service.get_template(session, user, request.form.get("template", type=int) or 0)
            fill = templates_service.Fill(
                customer_name="", ticket="", agent_name=user.name, signature=channel.signature or ""
            )
            draft.text = templates_service.render(chosen_t.body, fill, add_signature=True)
        else:
            try:
                message = _start_once(
                    session,
                    lambda: mall_topics.start(session, channel, user, draft, now=utcnow()),
                    lambda: mall_topics.existing(session, channel, draft.key),
                )
            except InvalidInputs as exc:
                session.rollback()
                problems = [translated(p) for p in exc.problems]
            else:
                thread_id = message.thread_id
                flash(gettext("The Yahoo! topic is queued and will be posted in a moment."), "success")
                return redirect(url_for("thread.show", thread_id=thread_id))
    page = render_template(
        "compose/topic.html", channels=channels, channel=channel, draft=draft, templates=templates,
        problems=problems, categories=mall_topics.YF.STORE_TOPIC_CATEGORIES,
        has_rakuten=mall_topics.has_rakuten(session, user),
    )
    return page, (422 if problems else 200)


class _Box:
    """Stands in for a thread when listing a mailbox's templates."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox_id = mailbox.id


def sent_note(send_at: datetime | None) -> str:
    if send_at is None:
        return gettext("Your mail is queued and will be sent in a moment.")
    return gettext("Your mail is scheduled for %(time)s.", time=localtime(send_at))


# --- scheduled sends ---------------------------------------------------------------------------


@bp.route("/threads/<int:thread_id>/scheduled/<int:item_id>/cancel", methods=["POST"])
@login_required
def cancel(thread_id: int, item_id: int):
    session, user = db(), current_user._get_current_object()
    thread = get_thread(session, user, thread_id)
    send_later.cancel(session, thread, item_id, now=utcnow(), actor_id=user.id)
    session.commit()
    flash(gettext("The scheduled send is cancelled; nothing was sent."), "success")
    return redirect(url_for("thread.show", thread_id=thread.id, _anchor="reply-status"))


def _start_once(session, start: Callable[[], Message], first: Callable[[], Message | None]) -> Message:
    """Start a thread from a form and commit; when a simultaneous submit of the same form took
    its idempotency key first (unique in the outbox), the message that one started, not an error."""
    try:
        message = start()
        session.commit()
    except IntegrityError:
        session.rollback()
        winner = first()
        if winner is None:
            raise
        return winner
    return message

"""The reply composer on a thread: compose, send (with the double-reply check), and presence heartbeats."""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import OperationalError

from inbox.db import utcnow
from inbox.models import ApprovalRequest, Thread
from inbox.services import approval, drafts, presence, replies
from inbox.services import reply_templates as templates_service
from inbox.services.access import get_thread
from inbox.services.errors import InvalidInput
from inbox.web import compose as compose_area
from inbox.web import db, localtime, runtime
from inbox.web.inputs import accepts_json, json_object

bp = Blueprint("reply", __name__, url_prefix="/threads")


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(runtime().settings.secret_key, salt="reply-attachment")


def _stage_uploads() -> list[replies.StagedAttachment]:
    """Files of this request into the blob store, plus those staged by an earlier request."""
    staged = []
    for token in request.form.getlist("staged"):
        try:
            staged.append(replies.StagedAttachment(**_signer().loads(token)))
        except (BadSignature, TypeError) as exc:
            raise InvalidInput("An attachment of this form is not valid any more.") from exc
    for upload in request.files.getlist("attachments"):
        if not upload or not upload.filename:
            continue
        data = upload.read()
        name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1] or "attachment"
        ctype = upload.mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
        sha = runtime().blobs.put(data)
        staged.append(replies.StagedAttachment(name, ctype, len(data), sha))
    return staged


def _draft() -> replies.Draft:
    form = request.form
    try:
        opened_at = datetime.fromisoformat(form.get("opened_at", ""))
    except ValueError as exc:
        raise InvalidInput("The reply form is incomplete. Reload the page and try again.") from exc
    if opened_at.tzinfo is None or not form.get("reply_key"):
        raise InvalidInput("The reply form is incomplete. Reload the page and try again.")
    return replies.Draft(
        to=form.get("to", ""),
        cc=form.get("cc", ""),
        bcc=form.get("bcc", ""),
        subject=form.get("subject", ""),
        text=form.get("body", ""),
        reply_key=form["reply_key"][:64],
        opened_at=opened_at,
        attachments=_stage_uploads(),
        confirm=form.get("confirm") == "1",
        replaces=form.get("replaces", type=int),
    )


def composer_context(
    thread: Thread, *, template_id: int | None = None, draft: replies.Draft | None = None,
    problems: list[str] | None = None,
) -> dict[str, Any]:
    """Everything the composer partial needs (used by the thread panel and the compose page)."""
    session, user, settings = db(), current_user._get_current_object(), runtime().settings
    customer = replies.customer_message(session, thread)
    fill = templates_service.fill_for(
        thread, user, settings.ticket_token_for(thread.id), customer
    )
    usable = templates_service.usable_for_thread(session, thread)
    returned = None
    if draft is None and template_id is None:  # a reply an approver sent back comes back here
        back = approval.returned_draft(session, thread, user, reply_key=uuid.uuid4().hex, now=utcnow())
        if back is not None:
            returned, draft = back
    intro = None
    if template_id is not None:
        chosen = templates_service.get_template(session, user, template_id)
        intro = templates_service.render(chosen.body, fill, add_signature=True)
    composer = replies.composer_defaults(
        session, thread, settings=settings, now=utcnow(), reply_key=uuid.uuid4().hex, intro=intro,
        signature=fill.signature,
    )
    if draft is not None:
        composer.to, composer.cc, composer.bcc = draft.to, draft.cc, draft.bcc
        composer.subject, composer.text = draft.subject, draft.text
        composer.opened_at, composer.reply_key = draft.opened_at, draft.reply_key
    saved = drafts.get(session, thread.id, user.id) if draft is None and template_id is None else None
    if saved is not None:  # the draft autosaved here or on another machine
        composer.to, composer.cc, composer.bcc = saved.to, saved.cc, saved.bcc
        composer.subject, composer.text = saved.subject, saved.body
    return {
        "composer": composer,
        "templates": [(t, templates_service.render(t.body, fill)) for t in usable],
        "template_id": template_id,
        "problems": [gettext(p, **getattr(p, "params", {})) for p in problems or []],
        "staged": [
            (_signer().dumps(asdict(a)), a) for a in (draft.attachments if draft else [])
        ],
        "replaces": draft.replaces if draft else None,
        "send_at": draft.send_at if draft else None,
        "send_when": request.form.get("send_when", "now") if request.method == "POST" else
        ("at" if draft is not None and draft.send_at else "now"),
        "returned": returned,
        "cannot_send": replies.sending_problem(thread.mailbox),
        "others": presence.others_here(session, thread.id, user_id=user.id, now=utcnow()),
        "draft_writers": [name for _uid, name in drafts.writers(session, thread.id, except_user=user.id)],
        "draft_restored": saved is not None,
        "states": replies.reply_items(session, thread),
        "outbound": [m for m in thread.messages if m.direction.value == "outbound"],
    }


def approval_returned(request_id: int | None) -> ApprovalRequest | None:
    """The returned reply a re-sent composer revises (to keep its notice on a refused send)."""
    if request_id is None:
        return None
    held = db().get(ApprovalRequest, request_id)
    return held if held is not None and held.author_id == current_user.id else None


@bp.app_context_processor
def _panel_helpers() -> dict[str, Any]:
    def reply_states(thread: Thread) -> dict[int, Any]:
        """Outbox item per outbound message id, for showing "sending…", "sent" or "failed"."""
        return replies.reply_items(db(), thread)

    return {
        "reply_panel": composer_context,
        "reply_states": reply_states,
        "attachment_limit_mb": replies.MAX_ATTACHMENT_BYTES // (1024 * 1024),
    }


@bp.route("/<int:thread_id>/reply")
@login_required
def compose(thread_id: int):
    session, user = db(), current_user._get_current_object()
    thread = get_thread(session, user, thread_id)
    if thread.merged_into_id is not None:  # write in the thread it was merged into
        return redirect(url_for("thread.show", thread_id=thread.merged_into_id, _anchor="reply"))
    try:  # best effort: presence must never stop anyone from writing
        presence.heartbeat(session, thread.id, user.id, composing=True, now=utcnow())
        session.commit()
    except OperationalError:
        session.rollback()
    draft = None
    edit = request.args.get("edit", type=int)
    if edit is not None:
        draft = replies.edit_draft(session, thread, edit, now=utcnow(), reply_key=uuid.uuid4().hex)
        if draft is None:
            flash(gettext("That reply cannot be edited any more: it was sent or is being sent."), "error")
    ctx = composer_context(thread, template_id=request.args.get("template", type=int), draft=draft)
    return render_template("reply/compose.html", thread=thread, c=ctx)


@bp.route("/<int:thread_id>/reply", methods=["POST"])
@login_required
def send(thread_id: int):
    session, user, rt = db(), current_user._get_current_object(), runtime()
    # Files go to the blob store before the write transaction: loading the user began one
    # (SQLite takes the write lock up front), so end it first and keep the locked part short.
    session.commit()
    draft, now = _draft(), utcnow()
    session.connection(execution_options={"sqlite_begin": "DEFERRED"})  # reads only
    thread = get_thread(session, user, thread_id)
    if thread.merged_into_id is not None:  # a page open before a merge: never reply on the stub
        raise InvalidInput("Thread #%(old)s was merged into #%(new)s.", old=thread.id, new=thread.merged_into_id)
    try:
        draft.send_at = compose_area.send_at_from_form(thread.mailbox)
        if draft.send_at is not None and approval.required(session, thread, user) is not None:
            raise InvalidInput("A reply that needs approval cannot be scheduled; send it for approval now.")
    except InvalidInput as exc:
        session.rollback()
        problem = replies.Problem(exc.message, **{k: str(v) for k, v in exc.params.items()})
        ctx = composer_context(thread, draft=draft, problems=[problem])
        return render_template("reply/compose.html", thread=thread, c=ctx), 422
    prepared = None
    if approval.required(session, thread, user) is None:  # a held reply is built at approval
        prepared = replies.prepare_mail(
            session, thread, draft, now=now, settings=rt.settings, blobs=rt.blobs,
        )
    session.commit()
    thread = get_thread(session, user, thread_id, for_update=True)
    revises = request.form.get("revises", type=int)
    try:
        sent = approval.submit(
            session, thread, user, draft, now=now, settings=rt.settings, blobs=rt.blobs,
            prepared=prepared, revises=revises,
        )
    except replies.ReplyProblems as exc:
        session.rollback()
        ctx = composer_context(thread, draft=draft, problems=exc.problems)
        ctx["returned"] = approval_returned(revises)
        return render_template("reply/compose.html", thread=thread, c=ctx), 422
    except replies.ReplyConflict as exc:
        session.rollback()
        staged = [(_signer().dumps(asdict(a)), a) for a in draft.attachments]
        page = render_template(
            "reply/confirm.html", thread=thread, draft=draft, replies=exc.replies, staged=staged
        )
        return page, 409
    drafts.discard(session, thread.id, user.id)  # sent (or handed to an approver): no draft left
    session.commit()
    if isinstance(sent, ApprovalRequest):
        names = ", ".join(u.name for u in approval.approvers(session, thread.mailbox))
        flash(gettext("Your reply awaits approval by %(names)s; it is not sent until then.", names=names), "success")
        return redirect(url_for("thread.show", thread_id=thread.id, _anchor="reply"))
    if draft.send_at is not None:
        flash(gettext("Your reply is scheduled for %(time)s.", time=localtime(draft.send_at)), "success")
        return redirect(url_for("thread.show", thread_id=thread.id, _anchor="reply-status"))
    flash(gettext("Your reply is queued and will be sent in a moment."), "success")
    return redirect(url_for("thread.show", thread_id=thread.id, _anchor="reply-status"))


@bp.route("/<int:thread_id>/presence", methods=["GET", "POST"])
@login_required
@accepts_json
def heartbeat(thread_id: int):
    session, user = db(), current_user._get_current_object()
    thread = get_thread(session, user, thread_id)
    if request.method == "POST":
        composing = bool(json_object().get("composing"))
        presence.heartbeat(session, thread.id, user.id, composing=composing, now=utcnow())
        session.commit()
    others = presence.others_here(session, thread.id, user_id=user.id, now=utcnow())
    return jsonify(
        others=[{"name": p.name, "composing": p.composing} for p in others],
        composing=[p.name for p in others if p.composing],
        drafts=[name for _uid, name in drafts.writers(session, thread.id, except_user=user.id)],
    )


@bp.route("/<int:thread_id>/draft", methods=["POST"])
@login_required
@accepts_json
def save_draft(thread_id: int):
    """Autosave of the composer (inbox/static/reply.js): keeps the user's draft; never sends."""
    session, user = db(), current_user._get_current_object()
    thread = get_thread(session, user, thread_id)
    kept = drafts.save(session, thread.id, user.id, drafts.parse(json_object()), now=utcnow())
    session.commit()
    return jsonify(saved=kept)

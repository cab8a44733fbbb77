"""One thread: its messages and notes in time order, the HTML frame and attachments, and what
agents do on it (assign, status, priority, tags, notes). Replying lives in ``inbox.web.reply``.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer

from inbox.db import utcnow
from inbox.models import Priority, Status, User
from inbox.services import assignment, categories, notes, rule_editor, thread_ops, threads_view
from inbox.services import live as live_service
from inbox.services.access import get_thread
from inbox.services.errors import ConcurrentChange, InvalidInput, NotFound
from inbox.web import db, live, runtime

bp = Blueprint("thread", __name__, url_prefix="/threads")

FRAME_CSP = (
    "default-src 'none'; img-src {img}; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
INLINE_TOKEN_SECONDS = 3600


def _me() -> User:
    return current_user._get_current_object()


def _inline_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="thread-inline-image")


def _inline_image_url(thread_id: int, attachment_id: int) -> str:
    """The attachment URL for a cid: image in the mail frame.

    The frame is sandboxed (an opaque origin), so the browser sends no SameSite session cookie
    with its image requests; a short-lived token naming the viewer and the attachment stands
    in for it, and the access check still runs for that viewer.
    """
    token = _inline_signer().dumps([_me().id, attachment_id])
    return url_for(
        "thread.attachment", thread_id=thread_id, attachment_id=attachment_id, inline=1, t=token
    )


def _inline_viewer(attachment_id: int) -> User | None:
    token = request.args.get("t")
    if request.args.get("inline") != "1" or not token:
        return None
    try:
        user_id, signed_id = _inline_signer().loads(token, max_age=INLINE_TOKEN_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return None
    user = db().get(User, user_id) if signed_id == attachment_id else None
    return user if user is not None and user.active else None


def _version() -> int:
    value = request.form.get("version", type=int)
    if value is None:
        raise InvalidInput(gettext("The form is missing the thread's version; reload the page."))
    return value


def _choice(enum_cls, name: str):
    try:
        return enum_cls(request.form.get(name, ""))
    except ValueError as exc:
        raise InvalidInput(gettext("That value is not valid for this action.")) from exc


def _done(thread_id: int, message: str):
    db().commit()
    flash(message, "success")
    return redirect(url_for("thread.show", thread_id=thread_id))


@bp.errorhandler(ConcurrentChange)
def _conflict(exc: ConcurrentChange):
    session = db()
    session.rollback()
    thread = get_thread(session, _me(), request.view_args["thread_id"])
    return render_template("thread/conflict.html", thread=thread), 409


@bp.route("/<int:thread_id>")
@login_required
def show(thread_id: int):
    merged = get_thread(db(), _me(), thread_id)
    if merged.merged_into_id is not None:  # merged away: its messages live on in the target
        target = thread_ops.follow(db(), merged)
        flash(gettext("Thread #%(old)s was merged into #%(new)s.", old=thread_id, new=target.id), "success")
        return redirect(url_for("thread.show", thread_id=target.id))
    version = live_service.thread_version(db(), _me(), thread_id, now=utcnow(), key=str(get_locale()))
    if (not_modified := live.unchanged(version)) is not None:
        return not_modified
    page = threads_view.thread_page(db(), _me(), thread_id)
    return live.tagged(
        render_template(
            "thread/show.html", thread=page.thread, page=page,
            category_choices=categories.choices(db(), page.thread.mailbox_id), live_version=version,
        ),
        version,
    )


@bp.route("/<int:thread_id>/messages/<int:message_id>/html")
@login_required
def message_html(thread_id: int, message_id: int):
    remote = request.args.get("remote") == "1"
    html = threads_view.mail_html(
        db(), _me(), thread_id, message_id, remote_images=remote,
        attachment_url=lambda a: _inline_image_url(thread_id, a.id),
    )  # fmt: skip
    response = Response(html, mimetype="text/html")
    own = request.host_url + url_for("thread.attachment", thread_id=thread_id, attachment_id=0)[1:-1]
    img = f"data: {own} https: http:" if remote else f"data: {own}"
    response.headers["Content-Security-Policy"] = FRAME_CSP.format(img=img)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:thread_id>/attachments/<int:attachment_id>")
def attachment(thread_id: int, attachment_id: int):
    by_token = not current_user.is_authenticated
    user = _inline_viewer(attachment_id) if by_token else _me()
    if user is None:
        return current_app.login_manager.unauthorized()
    download = threads_view.attachment_download(
        db(), user, thread_id, attachment_id,
        read_blob=runtime().blobs.get, inline=request.args.get("inline") == "1",
    )  # fmt: skip
    if by_token and not download.disposition.startswith("inline"):
        raise NotFound(gettext("No such attachment in this thread."))
    response = Response(download.data, content_type=download.content_type)
    response.headers["Content-Disposition"] = download.disposition
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<int:thread_id>/assign")
@login_required
def assign(thread_id: int):
    target = request.form.get("assignee", "me")
    assignee_id = _me().id if target == "me" else request.form.get("assignee", type=int)
    if assignee_id is None:
        raise InvalidInput(gettext("Choose whom to assign the thread to."))
    assignment.assign(
        db(), thread_id, assignee_id, by=_me(), expected_version=_version(), now=utcnow()
    )
    return _done(thread_id, gettext("Assigned."))


@bp.post("/<int:thread_id>/unassign")
@login_required
def unassign(thread_id: int):
    assignment.unassign(db(), thread_id, by=_me(), expected_version=_version(), now=utcnow())
    return _done(thread_id, gettext("Unassigned."))


@bp.post("/<int:thread_id>/status")
@login_required
def status(thread_id: int):
    assignment.set_status(
        db(), thread_id, _choice(Status, "status"), by=_me(), expected_version=_version(), now=utcnow()
    )
    return _done(thread_id, gettext("Status changed."))


@bp.post("/<int:thread_id>/priority")
@login_required
def priority(thread_id: int):
    assignment.set_priority(
        db(), thread_id, _choice(Priority, "priority"), by=_me(), expected_version=_version(), now=utcnow()
    )
    return _done(thread_id, gettext("Priority changed."))


@bp.post("/<int:thread_id>/category")
@login_required
def category(thread_id: int):
    raw = request.form.get("category", "")
    if raw and not raw.isdigit():
        raise InvalidInput(gettext("That category does not exist for this mailbox."))
    assignment.set_category(
        db(), thread_id, int(raw) if raw else None, by=_me(), expected_version=_version(), now=utcnow()
    )
    return _done(thread_id, gettext("Category saved."))


@bp.post("/<int:thread_id>/vip")
@login_required
def vip(thread_id: int):
    rule_editor.set_vip(db(), _me(), thread_id, request.form.get("vip") == "1", now=utcnow())
    return _done(thread_id, gettext("Customer saved."))


@bp.post("/<int:thread_id>/tags")
@login_required
def tags(thread_id: int):
    values = request.form.get("tags", "").replace("、", ",").split(",")
    assignment.set_tags(db(), thread_id, values, by=_me(), expected_version=_version(), now=utcnow())
    return _done(thread_id, gettext("Tags saved."))


@bp.post("/<int:thread_id>/notes")
@login_required
def add_note(thread_id: int):
    note = notes.add_note(db(), thread_id, request.form.get("body", ""), by=_me(), now=utcnow())
    db().commit()
    flash(gettext("Note added."), "success")
    return redirect(url_for("thread.show", thread_id=thread_id, _anchor=f"m{note.id}"))

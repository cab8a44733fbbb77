"""Merging and splitting threads (from the thread page, or merging a queue selection) and undoing
either from the thread's history. The work is done by ``inbox.services.thread_ops``."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.models import User
from inbox.services import thread_ops
from inbox.services.errors import InboxError, InvalidInput, NotFound
from inbox.web import db
from inbox.web.errors import translated
from inbox.web.inputs import id_list, parse_id

bp = Blueprint("thread_ops", __name__, url_prefix="/threads")

_SEPARATORS = re.compile(r"[\s,、，#＃]+")


def _me() -> User:
    return current_user._get_current_object()


def _thread_numbers(text: str) -> list[int]:
    """Thread numbers typed as "12, #15 16"; InvalidInput names the first that is not one."""
    numbers = []
    for part in _SEPARATORS.split(text.strip())[:200]:
        if not part:
            continue
        number = parse_id(part)
        if number is None:
            raise InvalidInput("“%(value)s” is not a thread number.", value=part[:40])
        numbers.append(number)
    return numbers


def _refused(error: InboxError, thread_id: int):
    """Say why in the page the person came from; nothing of the failed request is kept."""
    db().rollback()
    flash(translated(error), "error")
    return redirect(url_for("thread.show", thread_id=thread_id))


@bp.post("/<int:thread_id>/merge")
@login_required
def merge(thread_id: int):
    try:
        sources = _thread_numbers(request.form.get("threads", ""))
        thread_ops.merge(db(), _me(), thread_id, sources, now=utcnow())
    except NotFound as exc:
        if exc.params.get("id") == thread_id:
            raise
        return _refused(exc, thread_id)
    except InboxError as exc:
        return _refused(exc, thread_id)
    db().commit()
    flash(gettext("Merged %(n)s thread(s) into this one.", n=len(sources)), "success")
    return redirect(url_for("thread.show", thread_id=thread_id))


@bp.post("/merge")
@login_required
def bulk_merge():
    """Merge the threads chosen in the queue into the oldest of them (the lowest number)."""
    ids = sorted(set(id_list(request.form.getlist("thread"))))
    if len(ids) < 2:
        raise InvalidInput(gettext("Choose at least two threads to merge."))
    thread_ops.merge(db(), _me(), ids[0], ids[1:], now=utcnow())
    db().commit()
    flash(gettext("Merged %(n)s thread(s) into this one.", n=len(ids) - 1), "success")
    return redirect(url_for("thread.show", thread_id=ids[0]))


@bp.post("/<int:thread_id>/split")
@login_required
def split(thread_id: int):
    message_id = request.form.get("message", type=int)
    try:
        if message_id is None:
            raise InvalidInput("Choose the message to split from.")
        op = thread_ops.split(db(), _me(), thread_id, message_id, now=utcnow())
    except NotFound as exc:
        if exc.params.get("id") == thread_id and "message" not in exc.params:
            raise
        return _refused(exc, thread_id)
    except InboxError as exc:
        return _refused(exc, thread_id)
    db().commit()
    new_id = op.data["new"]
    flash(gettext("Split into the new thread #%(id)s.", id=new_id), "success")
    return redirect(url_for("thread.show", thread_id=new_id))


@bp.post("/<int:thread_id>/undo/<int:op_id>")
@login_required
def undo(thread_id: int, op_id: int):
    try:
        thread = thread_ops.undo(db(), _me(), op_id, now=utcnow())
    except InboxError as exc:
        return _refused(exc, thread_id)
    db().commit()
    flash(gettext("Undone."), "success")
    return redirect(url_for("thread.show", thread_id=thread.id))


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    def undoable_ops(entries) -> set[int]:
        """Operation ids of history entries that can still be undone."""
        return thread_ops.undoable(db(), [e.data.get("op") for e in entries])

    return {"undoable_ops": undoable_ops}

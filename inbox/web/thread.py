"""One thread: its messages and notes in time order."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from inbox.services.access import get_thread
from inbox.web import db

bp = Blueprint("thread", __name__, url_prefix="/threads")


@bp.route("/<int:thread_id>")
@login_required
def show(thread_id: int):
    thread = get_thread(db(), current_user._get_current_object(), thread_id)
    return render_template("thread/show.html", thread=thread)

"""The mentions page: internal notes that @mention the current user, unseen ones highlighted."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.services import notes
from inbox.web import db

bp = Blueprint("mentions", __name__, url_prefix="/mentions")


@bp.app_context_processor
def _unseen_mentions() -> dict:
    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        return notes.unseen_count(db(), current_user._get_current_object())

    return {"unseen_mention_count": count}


@bp.route("")
@login_required
def index():
    session = db()
    items = notes.list_mentions(session, current_user._get_current_object())
    # End the page's read-only transaction first: marking seen then runs in a transaction of
    # its own that takes the write lock up front (SQLite), so a mail stored meanwhile by the
    # scheduler cannot make this page fail with "database is locked".
    session.commit()
    notes.mark_seen(session, items, now=utcnow())
    session.commit()
    return render_template("mentions/index.html", items=items)

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
    items = notes.open_mentions(db(), current_user._get_current_object(), now=utcnow())
    db().commit()
    return render_template("mentions/index.html", items=items)

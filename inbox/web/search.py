"""The search page: threads by ticket number, address, subject or body text, within the user's mailboxes."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from inbox.services import search as search_service
from inbox.web import db

bp = Blueprint("search", __name__, url_prefix="/search")


@bp.route("")
@login_required
def index():
    query = request.args.get("q", "")
    result = search_service.search(db(), current_user._get_current_object(), query)
    return render_template("search/index.html", result=result)

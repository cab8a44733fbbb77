"""The lead overview page: status, agent and mailbox figures for leads and admins."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.services.overview import lead_overview
from inbox.web import db

bp = Blueprint("overview", __name__, url_prefix="/overview")


@bp.route("")
@login_required
def index():
    overview = lead_overview(db(), current_user._get_current_object(), now=utcnow())
    return render_template("overview/index.html", overview=overview)

"""The "Check every endpoint" button of a mall channel (blueprint ``mall_check``): ``inbox mall check`` on a page.

Read-only calls against the real mall (``inbox.services.mall_probe``); nothing is changed but a
renewed access token.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from inbox.db import utcnow
from inbox.services import mailboxes as mailbox_service
from inbox.services import mall_probe
from inbox.web import db, runtime
from inbox.web.admin import admin_required

bp = Blueprint("mall_check", __name__, url_prefix="/admin/mall-check")


@bp.route("/<int:mailbox_id>", methods=["POST"])
@admin_required
def run(mailbox_id: int):
    mailbox = mailbox_service.get_mailbox(db(), id=mailbox_id)
    db().commit()  # no transaction held while a renewed token is stored
    probes = mall_probe.probe_channel(runtime(), mailbox, now=utcnow())
    return render_template("malls/check.html", mailbox=mailbox, probes=probes)

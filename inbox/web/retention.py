"""A mailbox's retention policy (delete or anonymise resolved threads after N months, off by
default), what it would remove now, and the last run's counts. Admins only: it deletes data.
The rules and the work are ``inbox.services.retention``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm

from inbox.db import utcnow
from inbox.models import JobRun, Mailbox
from inbox.services import retention
from inbox.services.errors import InvalidInput
from inbox.web import db
from inbox.web.admin import admin_required
from inbox.web.errors import translated

bp = Blueprint("retention", __name__, url_prefix="/retention")


@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@admin_required
def mailbox(mailbox_id: int):
    session, form, status = db(), FlaskForm(), 200
    box = session.get(Mailbox, mailbox_id)
    if box is None:
        abort(404)
    if form.validate_on_submit():
        try:
            retention.save_form(session, box, request.form.get("months", ""),
                                request.form.get("action", ""), actor_id=current_user.id, now=utcnow())
        except InvalidInput as exc:
            session.rollback()
            flash(translated(exc), "error")
            status = 400
        else:
            session.commit()
            flash(gettext("Retention saved."), "info")
            return redirect(url_for("retention.mailbox", mailbox_id=box.id))
    elif request.method == "POST":
        status = 400
        flash(gettext("The form has expired; reload the page and try again."), "error")
    now = utcnow()
    due = [e for e in retention.eligible(session, now=now) if e.mailbox == box.name]
    last = session.get(JobRun, retention.LEASE)
    last_counts = (last.result or {}).get(box.name) if last else None
    return render_template(
        "retention/mailbox.html", mailbox=box, form=form, policy=retention.policy(box),
        due=due, last=last, last_counts=last_counts,
    ), status

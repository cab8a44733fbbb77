"""Escalation settings per mailbox: after how many business hours overdue an assigned thread
also alerts the mailbox's leads. Leads of the mailbox and admins only."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from inbox.db import utcnow
from inbox.services import deadlines, escalation
from inbox.services.errors import InvalidInput
from inbox.web import db
from inbox.web.errors import translated

bp = Blueprint("escalation", __name__, url_prefix="/escalation")


@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@login_required
def mailbox(mailbox_id: int):
    session, me, form = db(), current_user._get_current_object(), FlaskForm()
    box = deadlines.editable_mailbox(session, me, mailbox_id)
    value, status = escalation.form_value(box), 200
    if form.validate_on_submit():
        value = request.form.get("hours", "")
        try:
            escalation.save_hours(session, me, box.id, value, now=utcnow())
        except InvalidInput as exc:
            session.rollback()
            flash(translated(exc), "error")
            status = 400
        else:
            session.commit()
            flash(gettext("Escalation saved."), "info")
            return redirect(url_for("escalation.mailbox", mailbox_id=box.id))
    elif request.method == "POST":
        status = 400
        flash(gettext("The form has expired; reload the page and try again."), "error")
    return render_template("escalation/mailbox.html", mailbox=box, form=form, value=value), status

"""A mailbox's satisfaction survey settings (admins): on or off, the link under the resolving
reply or in a follow-up mail some hours after the resolution, the public address and the texts.
Every change is written to the audit log like the other mailbox settings. The rules are
``inbox.services.csat``; the follow-up mails are ``inbox.services.csat_followup``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm

from inbox.models import Mailbox
from inbox.services import csat
from inbox.services.audit import diff as audit_diff
from inbox.services.errors import InvalidInput
from inbox.web import db
from inbox.web.admin import admin_required
from inbox.web.audit import note
from inbox.web.errors import translated

bp = Blueprint("survey_settings", __name__, url_prefix="/survey-settings")


def _state(box: Mailbox) -> dict:
    return {f"settings.csat.{k}": v for k, v in ((box.settings or {}).get("csat") or {}).items()}


@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@admin_required
def mailbox(mailbox_id: int):
    session, form, status = db(), FlaskForm(), 200
    box = session.get(Mailbox, mailbox_id)
    if box is None:
        abort(404)
    values = dict(request.form) if request.method == "POST" else None
    if form.validate_on_submit():
        before = _state(box)
        try:
            csat.configure(
                box,
                enabled=bool(request.form.get("enabled")),
                send=request.form.get("send", ""),
                base_url=request.form.get("base_url", ""),
                delay_hours=request.form.get("delay_hours", ""),
                texts={k: request.form.get(k, "") for k in csat.TEXT_KEYS},
            )
        except InvalidInput as exc:
            session.rollback()
            flash(translated(exc), "error")
            status = 400
        else:
            if changes := audit_diff(before, _state(box)):
                note("mailbox.update", f"mailbox:{box.id}", changes)
            session.commit()
            flash(gettext("Survey settings saved."), "info")
            return redirect(url_for("survey_settings.mailbox", mailbox_id=box.id))
    elif request.method == "POST":
        status = 400
        flash(gettext("The form has expired; reload the page and try again."), "error")
    chosen = csat.settings_of(box)
    if values is None:
        values = {
            "enabled": chosen.enabled,
            "send": chosen.send,
            "base_url": chosen.base_url,
            "delay_hours": chosen.delay_hours,
            **dict(chosen.texts),
        }
    return render_template(
        "survey_settings/mailbox.html",
        mailbox=box,
        form=form,
        values=values,
        mall=box.kind in csat.MALL_KINDS,
        max_delay=csat.MAX_DELAY_HOURS,
    ), status

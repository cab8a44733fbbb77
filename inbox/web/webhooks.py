"""Admin pages for webhooks: subscriptions, their signing secret, the delivery log with the last
responses, a test event and redelivery. The rules live in ``inbox.services.webhooks``."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from inbox.db import utcnow
from inbox.models import Mailbox, WebhookDelivery
from inbox.services import webhooks
from inbox.services.audit import diff as audit_diff
from inbox.services.errors import InvalidInput, NotFound
from inbox.web import db, runtime
from inbox.web.admin import admin_required
from inbox.web.audit import note
from inbox.web.errors import translated
from inbox.web.forms import CompleteForm

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")

EVENT_LABELS = {
    "thread.created": _l("New thread"),
    "customer.replied": _l("Customer replied"),
    "thread.assigned": _l("Assigned"),
    "thread.status_changed": _l("Status changed"),
    "deadline.stage_reached": _l("Deadline stage reached"),
    "reply.failed": _l("Reply not delivered"),
    "ping": _l("Test event"),
}
FORMAT_LABELS = {"json": _l("JSON (signed event)"), "slack": _l("Slack-compatible message"),
                 "chatwork": _l("Chatwork-compatible message")}  # fmt: skip


class WebhookForm(CompleteForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    url = StringField(_l("Address (URL)"), validators=[DataRequired(), Length(max=2000)])
    mailbox = SelectField(_l("Mailbox"), coerce=int)
    events = SelectMultipleField(_l("Events"), choices=[SelectChoice(k, v) for k, v in EVENT_LABELS.items() if k != "ping"],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())  # fmt: skip
    format = SelectField(_l("Message format"), choices=[SelectChoice(k, v) for k, v in FORMAT_LABELS.items()])
    active = BooleanField(_l("Active"), default=True)


def _form(obj=None) -> WebhookForm:
    form = WebhookForm(obj=obj)
    boxes = db().scalars(select(Mailbox).order_by(Mailbox.name))
    form.mailbox.choices = [SelectChoice(0, _("All mailboxes"))] + [SelectChoice(m.id, m.name) for m in boxes]
    if obj is not None and not form.is_submitted():
        form.mailbox.data = obj.mailbox_id or 0
    return form


def _values(form: WebhookForm) -> dict:
    return {"name": form.name.data, "url": form.url.data, "events": form.events.data or [],
            "fmt": form.format.data, "mailbox_id": form.mailbox.data or None}  # fmt: skip


def _audited(sub) -> dict:
    """What the audit log keeps of a subscription: its URL only as scheme and host (a Slack or
    Chatwork URL is itself a credential), plus a fingerprint so that a change shows."""
    parts = urlsplit(sub.url)
    return {"name": sub.name, "url": f"{parts.scheme}://{parts.hostname or ''}/…",
            "url_sha256": hashlib.sha256(sub.url.encode()).hexdigest()[:12],
            "events": sorted(sub.events or []), "format": sub.format,
            "mailbox_id": sub.mailbox_id, "active": sub.active}  # fmt: skip


def _allow_private() -> bool:
    return runtime().settings.webhooks_allow_private


@bp.get("/")
@admin_required
def index():
    names = dict(db().execute(select(Mailbox.id, Mailbox.name)).all())
    return render_template("webhooks/index.html", subs=webhooks.subscriptions(db()),
                           labels=EVENT_LABELS, names=names)  # fmt: skip


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    form, session = _form(), db()
    if form.validate_on_submit():
        try:
            sub = webhooks.create(session, runtime().secrets, by=current_user, now=utcnow(),
                                  allow_private=_allow_private(), **_values(form))  # fmt: skip
        except InvalidInput as exc:
            form.url.errors = [translated(exc)]
        else:
            note("webhook.create", f"webhook:{sub.id}", _audited(sub))
            session.commit()
            flash(_("Webhook saved."), "info")
            return redirect(url_for("webhooks.show", sub_id=sub.id))
    return render_template("webhooks/form.html", form=form, sub=None), 400 if form.errors else 200


@bp.route("/<int:sub_id>", methods=["GET", "POST"])
@admin_required
def show(sub_id: int):
    session = db()
    sub = webhooks.get(session, sub_id, by=current_user)
    form, status = _form(sub), 200
    if form.validate_on_submit():
        before = _audited(sub)
        try:
            webhooks.update(session, sub, by=current_user, allow_private=_allow_private(),
                            active=bool(form.active.data), **_values(form))  # fmt: skip
        except InvalidInput as exc:
            session.rollback()
            form.url.errors = [translated(exc)]
        else:
            if changes := audit_diff(before, _audited(sub)):
                note("webhook.update", f"webhook:{sub.id}", changes)
            session.commit()
            flash(_("Webhook saved."), "info")
            return redirect(url_for("webhooks.show", sub_id=sub.id))
    if form.errors:
        status = 400
    return render_template(
        "webhooks/form.html", form=form, sub=sub, secret=webhooks.secret_of(sub, runtime().secrets),
        deliveries=webhooks.deliveries(session, sub), labels=EVENT_LABELS, action=FlaskForm(),
    ), status  # fmt: skip


@bp.post("/<int:sub_id>/ping")
@admin_required
def ping(sub_id: int):
    session = db()
    if FlaskForm().validate_on_submit():
        webhooks.ping(session, webhooks.get(session, sub_id, by=current_user), by=current_user, now=utcnow())
        session.commit()
        flash(_("A test event is queued."), "info")
    return redirect(url_for("webhooks.show", sub_id=sub_id))


@bp.post("/<int:sub_id>/deliveries/<int:delivery_id>/redeliver")
@admin_required
def redeliver(sub_id: int, delivery_id: int):
    session = db()
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != sub_id:
        raise NotFound(_("No such delivery."))
    if FlaskForm().validate_on_submit():
        webhooks.redeliver(session, delivery.id, by=current_user, now=utcnow())
        session.commit()
        flash(_("The event is queued again."), "info")
    return redirect(url_for("webhooks.show", sub_id=sub_id))


@bp.post("/<int:sub_id>/delete")
@admin_required
def delete(sub_id: int):
    session = db()
    sub = webhooks.get(session, sub_id, by=current_user)
    if FlaskForm().validate_on_submit():
        note("webhook.delete", f"webhook:{sub.id}", _audited(sub))
        session.delete(sub)
        session.commit()
        flash(_("Webhook deleted."), "info")
    return redirect(url_for("webhooks.index"))

"""Canned replies (定型文) pages: list for everyone, create, edit and delete for admins and leads."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from inbox.db import utcnow
from inbox.models import Mailbox
from inbox.services import reply_templates as service
from inbox.services.audit import diff as audit_diff
from inbox.services.errors import InvalidInput, PermissionDenied
from inbox.web import db
from inbox.web.audit import note

bp = Blueprint("reply_templates", __name__, url_prefix="/reply-templates")


class TemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    mailbox = SelectField(_l("Mailbox"), choices=[])
    body = TextAreaField(_l("Text"), validators=[DataRequired()])


def _form(template=None) -> TemplateForm:
    session, user = db(), current_user._get_current_object()
    allowed = service.editable_mailbox_choices(session, user)
    if not allowed:
        raise PermissionDenied(gettext("Only admins and leads may edit templates."))
    names = dict(session.execute(select(Mailbox.id, Mailbox.name)).all())
    form = TemplateForm(obj=template)
    form.mailbox.choices = [
        ("" if m is None else str(m), gettext("Shared by all mailboxes") if m is None else names[m])
        for m in allowed
    ]
    if template is not None and not form.is_submitted():
        form.mailbox.data = "" if template.mailbox_id is None else str(template.mailbox_id)
    return form


def _mailbox_id(form: TemplateForm) -> int | None:
    return int(form.mailbox.data) if form.mailbox.data else None


@bp.route("/")
@login_required
def index():
    session, user = db(), current_user._get_current_object()
    rows = [
        (t, service.can_edit(session, user, t.mailbox_id))
        for t in service.visible_templates(session, user)
    ]
    names = dict(session.execute(select(Mailbox.id, Mailbox.name)).all())
    may_create = bool(service.editable_mailbox_choices(session, user))
    return render_template("reply_templates/index.html", rows=rows, names=names, may_create=may_create)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    form = _form()
    if form.validate_on_submit():
        template = service.create_template(
            db(), current_user._get_current_object(), mailbox_id=_mailbox_id(form),
            name=form.name.data, body=form.body.data,
        )
        db().flush()
        note("template.create", f"template:{template.id}",
             {"name": template.name, "mailbox_id": template.mailbox_id, "body": template.body})
        db().commit()
        flash(gettext("Template saved."), "success")
        return redirect(url_for("reply_templates.index"))
    return render_template("reply_templates/form.html", form=form, template=None)


@bp.route("/<int:template_id>/edit", methods=["GET", "POST"])
@login_required
def edit(template_id: int):
    session, user = db(), current_user._get_current_object()
    template = service.get_template(session, user, template_id)
    if not service.can_edit(session, user, template.mailbox_id):
        raise PermissionDenied(gettext("You may use this template but not change it."))
    form = _form(template)
    if form.validate_on_submit():
        before = {"name": template.name, "mailbox_id": template.mailbox_id, "body": template.body}
        service.update_template(
            session, user, template, mailbox_id=_mailbox_id(form), name=form.name.data,
            body=form.body.data, now=utcnow(),
        )
        after = {"name": template.name, "mailbox_id": template.mailbox_id, "body": template.body}
        if changes := audit_diff(before, after):
            note("template.update", f"template:{template.id}", changes)
        session.commit()
        flash(gettext("Template saved."), "success")
        return redirect(url_for("reply_templates.index"))
    return render_template("reply_templates/form.html", form=form, template=template)


@bp.route("/<int:template_id>/delete", methods=["POST"])
@login_required
def delete(template_id: int):
    session, user = db(), current_user._get_current_object()
    form = FlaskForm()
    if not form.validate_on_submit():
        raise InvalidInput(gettext("The form expired. Reload the page and try again."))
    template = service.get_template(session, user, template_id)
    gone = {"name": template.name, "mailbox_id": template.mailbox_id, "body": template.body}
    service.delete_template(session, user, template)
    note("template.delete", f"template:{template_id}", gone)
    session.commit()
    flash(gettext("Template deleted."), "success")
    return redirect(url_for("reply_templates.index"))

"""API tokens: each user's own (My settings → API tokens) and the admins' service tokens.

A new token is shown once, on the page that answers its creation; only its hash is kept.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from inbox.db import utcnow
from inbox.models import Mailbox
from inbox.services import api_tokens
from inbox.services.errors import InvalidInput
from inbox.web import db
from inbox.web.admin import admin_required
from inbox.web.audit import note
from inbox.web.errors import translated
from inbox.web.forms import ROLE_CHOICES

bp = Blueprint("tokens", __name__)

SCOPE_CHOICES = [SelectChoice("read", _l("Read only")), SelectChoice("write", _l("Read and write"))]


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    scope = SelectField(_l("Access"), choices=SCOPE_CHOICES)


class ServiceTokenForm(TokenForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    mailboxes = SelectMultipleField(_l("Mailboxes"), coerce=int)


def _mine(form: TokenForm, secret: str | None = None, status: int = 200):
    tokens = api_tokens.personal_tokens(db(), current_user)
    page = render_template("tokens/mine.html", form=form, tokens=tokens, secret=secret,
                           revoke_form=FlaskForm())  # fmt: skip
    return page, status


@bp.get("/settings/tokens")
@login_required
def mine():
    return _mine(TokenForm())


@bp.post("/settings/tokens")
@login_required
def create():
    form, session = TokenForm(), db()
    if not form.validate_on_submit():
        return _mine(form, status=400)
    try:
        made = api_tokens.create_personal(session, current_user, form.name.data, form.scope.data,
                                          now=utcnow())  # fmt: skip
    except InvalidInput as exc:
        form.name.errors = [translated(exc)]
        return _mine(form, status=400)
    note("api_token.create", f"api_token:{made.token.id}",
         {"name": made.token.name, "scope": made.token.scope, "service": False})  # fmt: skip
    session.commit()
    return _mine(TokenForm(formdata=None), secret=made.secret, status=201)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    return _revoke(token_id, lambda: _mine(TokenForm()))


def _revoke(token_id: int, page):
    form, session = FlaskForm(), db()
    if not form.validate_on_submit():
        raise InvalidInput(_("The form was too old; reload the page and try again."))
    token = api_tokens.revoke(session, token_id, by=current_user, now=utcnow())
    note("api_token.revoke", f"api_token:{token.id}", {"name": token.name, "service": token.service})
    session.commit()
    return page()


def _service_form(formdata=True) -> ServiceTokenForm:
    form = ServiceTokenForm() if formdata else ServiceTokenForm(formdata=None)
    form.mailboxes.choices = [
        SelectChoice(m.id, m.name) for m in db().scalars(select(Mailbox).order_by(Mailbox.name))
    ]
    return form


def _service(form: ServiceTokenForm, secret: str | None = None, status: int = 200):
    page = render_template("tokens/service.html", form=form, tokens=api_tokens.service_tokens(db()),
                           secret=secret, revoke_form=FlaskForm())  # fmt: skip
    return page, status


@bp.get("/admin/api-tokens")
@admin_required
def service():
    return _service(_service_form())


@bp.post("/admin/api-tokens")
@admin_required
def create_service():
    form, session = _service_form(), db()
    if not form.validate_on_submit():
        return _service(form, status=400)
    try:
        made = api_tokens.create_service(
            session, name=form.name.data, scope=form.scope.data, role=form.role.data,
            mailbox_ids=form.mailboxes.data or [], by=current_user, now=utcnow())  # fmt: skip
    except InvalidInput as exc:
        form.name.errors = [translated(exc)]
        return _service(form, status=400)
    note("api_token.create", f"api_token:{made.token.id}", {
        "name": made.token.name, "scope": made.token.scope, "service": True,
        "role": form.role.data, "mailboxes": sorted(form.mailboxes.data or []),
    })  # fmt: skip
    session.commit()
    return _service(_service_form(formdata=False), secret=made.secret, status=201)


@bp.post("/admin/api-tokens/<int:token_id>/revoke")
@admin_required
def revoke_service(token_id: int):
    return _revoke(token_id, lambda: _service(_service_form(formdata=False)))

"""Administration: users (invite, disable, roles, mailbox access) and the mailbox list."""

from __future__ import annotations

import secrets
from functools import wraps
from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from inbox.models import Mailbox, Role, User
from inbox.services import accounts
from inbox.services.access import require_role
from inbox.services.errors import InvalidInput, NotFound
from inbox.web import db
from inbox.web.forms import UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        require_role(current_user, Role.ADMIN)
        return view(*args, **kwargs)

    return wrapped


def _mailbox_choices() -> list[SelectChoice]:
    return [SelectChoice(m.id, m.name) for m in db().scalars(select(Mailbox).order_by(Mailbox.name))]


@bp.route("/users")
@admin_required
def users():
    rows = db().scalars(select(User).order_by(User.active.desc(), User.name))
    return render_template("admin/users.html", users=list(rows))


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    form = UserForm()
    form.mailboxes.choices = _mailbox_choices()
    if form.validate_on_submit():
        if form.timezone.data not in available_timezones():
            form.timezone.errors.append(_("Unknown time zone."))
            return render_template("admin/user_form.html", form=form, user=None), 400
        password = form.password.data or secrets.token_urlsafe(12)
        session = db()
        try:
            user = accounts.create_user(
                session,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=password,
                language=form.language.data,
                timezone=form.timezone.data,
                mailbox_ids=form.mailboxes.data or [],
            )
        except InvalidInput as exc:
            form.email.errors.append(str(exc))
            return render_template("admin/user_form.html", form=form, user=None), 400
        user.active = bool(form.active.data)
        session.commit()
        if form.password.data:
            flash(_("User %(email)s created.", email=user.email), "info")
        else:
            flash(
                _(
                    "User %(email)s created. Initial password (shown once): %(pw)s",
                    email=user.email,
                    pw=password,
                ),
                "info",
            )
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None), 400 if form.errors else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    session = db()
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    form = UserForm(obj=user)
    form.mailboxes.choices = _mailbox_choices()
    if not form.is_submitted():
        form.mailboxes.data = [m.mailbox_id for m in user.memberships]
    if form.validate_on_submit():
        if form.timezone.data not in available_timezones():
            form.timezone.errors.append(_("Unknown time zone."))
            return render_template("admin/user_form.html", form=form, user=user), 400
        if user.id == current_user.id and (not form.active.data or form.role.data != "admin"):
            flash(_("You cannot remove your own admin role or disable yourself."), "error")
            return render_template("admin/user_form.html", form=form, user=user), 400
        user.name = form.name.data
        user.role = Role(form.role.data)
        user.language = form.language.data
        user.timezone = form.timezone.data
        user.active = bool(form.active.data)
        if form.password.data:
            accounts.set_password(user, form.password.data)
        accounts.set_mailbox_access(session, user, form.mailboxes.data or [])
        session.commit()
        flash(_("User %(email)s saved.", email=user.email), "info")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user), 400 if form.errors else 200


@bp.route("/mailboxes")
@admin_required
def mailboxes():
    rows = db().scalars(select(Mailbox).order_by(Mailbox.name))
    return render_template("admin/mailboxes.html", mailboxes=list(rows))

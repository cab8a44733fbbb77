"""The user's own account security: change password, set up or turn off two-factor log-in, and the
single-use links (reset, first password of an invited user) that work without being logged in.

Also the guard that sends a user whose role requires two-factor log-in to set it up first.
"""

from __future__ import annotations

import segno
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from inbox.db import utcnow
from inbox.services import accounts, passwords, two_factor
from inbox.services.errors import InvalidCredentials, InvalidInput, NotFound
from inbox.web import db, runtime
from inbox.web.audit import note
from inbox.web.errors import translated
from inbox.web.forms import CodeForm, EmptyForm, PasswordChangeForm, SetPasswordForm

bp = Blueprint("account", __name__, url_prefix="/account")

# Pages a user who must set up two-factor log-in may still reach.
OPEN_ENDPOINTS = {"account.two_factor", "account.two_factor_start", "account.two_factor_confirm",
                  "auth.logout", "auth.login", "auth.login_code", "account.reset", "static",
                  "health.healthz", "health.readyz", "health.metrics"}  # fmt: skip


def require_two_factor_setup():
    """before_request: a logged-in user whose role needs two-factor log-in and has none sets it up."""
    if not current_user.is_authenticated or request.endpoint in OPEN_ENDPOINTS:
        return None
    if session.get("login_method") == "sso":
        return None  # the identity provider asked for its own second factor (see docs/sso.md)
    if not two_factor.required(current_user, runtime().settings.two_factor_roles):
        return None
    if two_factor.enabled(db(), current_user.id):
        return None
    flash(_("Your role requires two-factor log-in. Set it up to go on."), "error")
    return redirect(url_for("account.two_factor"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = db().merge(current_user._get_current_object())
        if form.new.data != form.confirm.data:
            form.confirm.errors.append(_("The two new passwords differ."))
        else:
            try:
                passwords.change_own(
                    db(), user, current=form.current.data, new=form.new.data,
                    keep_token=current_user.login_token, now=utcnow(),
                )  # fmt: skip
            except InvalidCredentials as exc:
                db().rollback()
                form.current.errors.append(translated(exc))
            except InvalidInput as exc:
                db().rollback()
                form.new.errors.append(translated(exc))
            else:
                note("password.change", f"user:{user.id}", {"other_sessions_ended": True})
                db().commit()
                flash(_("Password changed. You were logged out everywhere else."), "info")
                return redirect(url_for("auth.settings"))
    return render_template("account/password.html", form=form), 400 if form.errors else 200


def _qr_svg(uri: str) -> Markup:
    """The provisioning URI as an inline SVG (no script, no external image: fits the CSP)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#111", light="#fff")
    return Markup(svg)


@bp.route("/two-factor", endpoint="two_factor")
@login_required
def two_factor_page():
    return _two_factor_view()


def _two_factor_view(form: CodeForm | None = None, codes: list[str] | None = None, status: int = 200):
    session = db()
    secret = two_factor.pending_secret(session, current_user, runtime().secrets)
    return render_template(
        "account/two_factor.html",
        enabled=two_factor.enabled(session, current_user.id),
        required=two_factor.required(current_user, runtime().settings.two_factor_roles),
        secret=secret,
        qr=_qr_svg(two_factor.provisioning_uri(current_user, secret)) if secret else None,
        form=form or CodeForm(),
        codes=codes,
        left=two_factor.recovery_codes_left(session, current_user.id),
        empty=EmptyForm(),
    ), status


@bp.route("/two-factor/start", methods=["POST"])
@login_required
def two_factor_start():
    if EmptyForm().validate_on_submit():
        two_factor.start_enrolment(db(), current_user, runtime().secrets, now=utcnow())
        db().commit()
    return redirect(url_for("account.two_factor"))


@bp.route("/two-factor/confirm", methods=["POST"])
@login_required
def two_factor_confirm():
    form = CodeForm()
    if not form.validate_on_submit():
        return _two_factor_view(form, status=400)
    try:
        codes = two_factor.confirm_enrolment(
            db(), current_user, runtime().secrets, form.code.data or "", now=utcnow()
        )
    except InvalidInput as exc:
        db().rollback()
        form.code.errors.append(translated(exc))
        return _two_factor_view(form, status=400)
    note("2fa.enable", f"user:{current_user.id}")
    db().commit()
    flash(_("Two-factor log-in is on."), "info")
    return _two_factor_view(codes=codes)


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@login_required
def two_factor_new_codes():
    if not EmptyForm().validate_on_submit() or not two_factor.enabled(db(), current_user.id):
        return redirect(url_for("account.two_factor"))
    codes = two_factor.new_recovery_codes(db(), current_user)
    note("2fa.recovery_regenerated", f"user:{current_user.id}")
    db().commit()
    return _two_factor_view(codes=codes)


@bp.route("/two-factor/disable", methods=["POST"])
@login_required
def two_factor_disable():
    user = db().merge(current_user._get_current_object())
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("account.two_factor"))
    if not accounts.verify_password(user, request.form.get("current", "")):
        flash(_("The current password is wrong."), "error")
        return redirect(url_for("account.two_factor"))
    if two_factor.required(user, runtime().settings.two_factor_roles):
        flash(_("Your role requires two-factor log-in; it cannot be turned off."), "error")
        return redirect(url_for("account.two_factor"))
    two_factor.disable(db(), user.id)
    note("2fa.disable", f"user:{user.id}")
    db().commit()
    flash(_("Two-factor log-in is off."), "info")
    return redirect(url_for("account.two_factor"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Set a password through a mailed link (no log-in needed; the link is the proof)."""
    try:
        row, user = passwords.find_link(db(), token, now=utcnow())
    except NotFound as exc:
        return render_template("account/link_invalid.html", message=translated(exc)), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        if form.new.data != form.confirm.data:
            form.confirm.errors.append(_("The two new passwords differ."))
        else:
            try:
                user, purpose = passwords.redeem_link(db(), token, form.new.data, now=utcnow())
            except NotFound as exc:
                db().rollback()
                return render_template("account/link_invalid.html", message=translated(exc)), 404
            except InvalidInput as exc:
                db().rollback()
                form.new.errors.append(translated(exc))
            else:
                note("password.reset_used", f"user:{user.id}", {"purpose": purpose},
                     actor_id=user.id)
                db().commit()
                flash(_("Your password is set. Log in with it."), "info")
                return redirect(url_for("auth.login"))
    page = render_template("account/reset.html", form=form, user=user, purpose=row.purpose)
    return page, 400 if form.errors else 200

"""Log-in (password, then a TOTP or recovery code when the user has two-factor log-in on), log-out
and the user's own settings (name, language, time zone, signature)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import User
from inbox.services import accounts, two_factor
from inbox.services.audit import diff as audit_diff
from inbox.services.errors import InvalidCredentials, LoginThrottled, PasswordLoginDisabled
from inbox.web import db, runtime, sessions
from inbox.web.audit import note
from inbox.web.forms import CodeForm, EmptyForm, LoginForm, SettingsForm

PENDING = "pending_2fa"
LOGIN_METHOD = "login_method"  # "password" or "sso": a log-in through a provider is not asked for 2FA
PENDING_SECONDS = 300  # the code must follow the password within five minutes

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if (
        target
        and not urlsplit(target).netloc
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return url_for("queue.index")


def _policy() -> accounts.ThrottlePolicy:
    settings = runtime().settings
    return accounts.ThrottlePolicy(
        max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
        lockout=timedelta(minutes=settings.login_lockout_minutes),
    )


def _user_id_for(email: str) -> int | None:
    return db().scalar(select(User.id).where(User.email == email.strip().lower()))


def _finish(user: User, *, remember: bool, method: str, next_url: str | None):
    note("login.success", f"user:{user.id}", {"method": method}, actor_id=user.id)
    db().commit()
    lifetime = timedelta(days=runtime().settings.remember_days)
    sessions.start(user, remember=remember, lifetime=lifetime)
    session[LOGIN_METHOD] = "sso" if method.startswith("sso:") else "password"
    return redirect(_safe_next(next_url))


def render_login(form: LoginForm | None = None, status: int = 200):
    """The log-in page: the password form (unless switched off) and a button per SSO provider."""
    sso = runtime().settings.sso
    return render_template(
        "auth/login.html", form=form or LoginForm(), providers=sso.providers,
        password_login=sso.password_login, next_url=request.args.get("next"),
    ), status  # fmt: skip


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("queue.index"))
    form = LoginForm()
    status = 200
    valid = form.validate_on_submit()
    if valid and not runtime().settings.sso.password_login:
        note("login.failure", (form.email.data or "")[:254], {"reason": "password_login_off"},
             actor_id=_user_id_for(form.email.data or ""))
        db().commit()
        flash(_("Log-in with a password is switched off. Sign in with your organisation's account."), "error")
        status = 403
    elif valid:
        email = form.email.data or ""
        try:
            user = accounts.authenticate(
                db(), email, form.password.data or "",
                remote_addr=request.remote_addr or "unknown", now=utcnow(), policy=_policy(),
            )  # fmt: skip
        except LoginThrottled:
            note("login.locked", email[:254], actor_id=_user_id_for(email))
            db().commit()
            flash(_("Too many failed log-ins. Wait a few minutes and try again."), "error")
            status = 429
        except InvalidCredentials:
            note("login.failure", email[:254], actor_id=_user_id_for(email))
            db().commit()
            flash(_("Wrong mail address or password."), "error")
            status = 401
        except PasswordLoginDisabled:
            note("login.failure", email[:254], {"reason": "password_login_off"},
                 actor_id=_user_id_for(email))
            db().commit()
            flash(_("This account logs in through single sign-on only. Use the button below."), "error")
            status = 403
        else:
            remember, next_url = bool(form.remember.data), request.args.get("next")
            if not two_factor.enabled(db(), user.id):
                return _finish(user, remember=remember, method="password", next_url=next_url)
            db().commit()
            session[PENDING] = {
                "uid": user.id, "remember": remember, "next": _safe_next(next_url),
                "at": int(utcnow().timestamp()),
            }  # fmt: skip
            return redirect(url_for("auth.login_code"))
    return render_login(form, status)


def _pending_user() -> tuple[User, dict] | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("uid"), int):
        return None
    if int(utcnow().timestamp()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    user = db().get(User, pending["uid"])
    if user is None or not user.active:
        return None
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step: a code from the authenticator app, or one of the recovery codes."""
    if current_user.is_authenticated:
        return redirect(url_for("queue.index"))
    found = _pending_user()
    if found is None:
        flash(_("Log in again: the log-in took too long or was not started."), "error")
        return redirect(url_for("auth.login"))
    user, pending = found
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            method = two_factor.verify(
                db(), user, runtime().secrets, form.code.data or "", now=utcnow(), policy=_policy()
            )
        except LoginThrottled:
            note("login.locked", f"user:{user.id}", {"step": "2fa"}, actor_id=user.id)
            db().commit()
            flash(_("Too many wrong codes. Wait a few minutes and try again."), "error")
            status = 429
        except InvalidCredentials:
            note("login.2fa_failure", f"user:{user.id}", actor_id=user.id)
            db().commit()
            flash(_("The code is wrong or was already used."), "error")
            status = 401
        else:
            session.pop(PENDING, None)
            if method == "recovery":
                left = two_factor.recovery_codes_left(db(), user.id)
                note("2fa.recovery_used", f"user:{user.id}", {"left": left}, actor_id=user.id)
                flash(_("You used a recovery code; %(n)s are left.", n=left), "info")
            return _finish(user, remember=bool(pending.get("remember")), method=method,
                           next_url=pending.get("next"))
    return render_template("auth/login_code.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    EmptyForm().validate_on_submit()
    if current_user.is_authenticated:
        note("logout", f"user:{current_user.id}")
    sessions.end(current_user)
    return redirect(url_for("auth.login"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = SettingsForm(obj=current_user)
    if form.validate_on_submit():
        if form.timezone.data not in available_timezones():
            form.timezone.errors.append(_("Unknown time zone."))
        else:
            user = db().merge(current_user._get_current_object())
            before = {"name": user.name, "language": user.language, "timezone": user.timezone,
                      "signature": user.signature}
            user.language, user.timezone = form.language.data, form.timezone.data
            if (form.name.data or "").strip():
                user.name = form.name.data.strip()
            if "signature" in request.form:
                user.signature = (form.signature.data or "").replace("\r\n", "\n").strip("\n")
            after = {"name": user.name, "language": user.language, "timezone": user.timezone,
                     "signature": user.signature}
            if changes := audit_diff(before, after):
                note("account.update", f"user:{user.id}", changes)
            db().commit()
            flash(_("Settings saved."), "info")
            return redirect(url_for("auth.settings"))
    two_factor_on = two_factor.enabled(db(), current_user.id)
    return render_template("auth/settings.html", form=form, two_factor_on=two_factor_on)

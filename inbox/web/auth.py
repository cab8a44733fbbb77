"""Log-in, log-out and the user's own settings."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.services import accounts
from inbox.services.errors import InvalidCredentials, LoginThrottled
from inbox.web import db, runtime, sessions
from inbox.web.forms import EmptyForm, LoginForm, SettingsForm

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


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("queue.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        settings = runtime().settings
        policy = accounts.ThrottlePolicy(
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes),
            lockout=timedelta(minutes=settings.login_lockout_minutes),
        )
        session = db()
        try:
            user = accounts.authenticate(
                session,
                form.email.data or "",
                form.password.data or "",
                remote_addr=request.remote_addr or "unknown",
                now=utcnow(),
                policy=policy,
            )
        except LoginThrottled:
            session.commit()
            flash(_("Too many failed log-ins. Wait a few minutes and try again."), "error")
            status = 429
        except InvalidCredentials:
            session.commit()
            flash(_("Wrong mail address or password."), "error")
            status = 401
        else:
            session.commit()
            lifetime = timedelta(days=settings.remember_days)
            sessions.start(user, remember=bool(form.remember.data), lifetime=lifetime)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    EmptyForm().validate_on_submit()
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
            session = db()
            user = session.merge(current_user._get_current_object())
            user.language, user.timezone = form.language.data, form.timezone.data
            session.commit()
            flash(_("Settings saved."), "info")
            return redirect(url_for("auth.settings"))
    return render_template("auth/settings.html", form=form)

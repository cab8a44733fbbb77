"""The web layer: thin blueprints over the services, plus request-scoped plumbing (session, login, CSRF, i18n)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, request
from flask_babel import Babel
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from inbox.runtime import Runtime

TRANSLATIONS = str(Path(__file__).resolve().parent.parent / "translations")

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)


def runtime() -> Runtime:
    return current_app.extensions["inbox"]


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["inbox"]


def db() -> Session:
    """The request's database session, opened on first use and closed after the response."""
    if "db" not in g:
        g.db = runtime().Session()
        if request.method in ("GET", "HEAD"):
            g.db.connection(execution_options={"sqlite_begin": "DEFERRED"})
    return g.db


def _close_db(_exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()


def _select_locale() -> str:
    api_user = g.get("api_user")
    if api_user is not None and api_user.language in ("ja", "en"):
        return api_user.language
    if current_user.is_authenticated and current_user.language in ("ja", "en"):
        return current_user.language
    chosen = request.cookies.get("lang")
    if chosen in ("ja", "en"):
        return chosen
    return runtime().settings.default_language


def _select_timezone() -> str:
    if current_user.is_authenticated:
        return current_user.timezone
    return runtime().settings.default_timezone


def user_zone() -> ZoneInfo:
    return ZoneInfo(_select_timezone())


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Show a stored UTC time in the viewer's timezone."""
    if value is None:
        return ""
    return value.astimezone(user_zone()).strftime(fmt)


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response


def init_app(app: Flask) -> None:
    from inbox.web import admin, auth, deadlines, errors, inputs, queue, sessions, thread

    app.request_class = inputs.SafeRequest
    app.url_map.converters["int"] = inputs.Int64Converter
    app.before_request(inputs.refuse_unexpected_json)
    app.teardown_appcontext(_close_db)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    app.after_request(_security_headers)
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals["get_locale"] = _select_locale

    login_manager.user_loader(sessions.load_user)
    sessions.init_app(app, secure_cookies=runtime_of(app).settings.secure_cookies)

    # Every area's blueprint, in registration order (imported here: the areas import this package).
    from inbox.web import (
        account,
        approvals,
        audit,
        categories,
        compose,
        customers,
        escalation,
        health,
        mall_check,
        mall_threads,
        mentions,
        notifications,
        outbox,
        overview,
        quarantine,
        reply,
        reply_templates,
        reports,
        retention,
        rules,
        search,
        sso,
        survey,
        survey_settings,
        thread_ops,
        thumbnails,
        tokens,
        voc,
        webhooks,
        yahoo_consent,
    )

    areas = (
        auth, queue, thread, admin, deadlines, reply, reply_templates, outbox, search, overview, mentions,
        quarantine, reports, rules, categories, voc, survey, survey_settings, approvals, notifications,
        escalation, account, audit, tokens, webhooks, sso, retention, thread_ops, yahoo_consent, mall_check,
        compose, mall_threads, thumbnails, customers,
    )  # fmt: skip
    app.jinja_env.globals["csat_answer"] = survey.answer_for
    mall_threads.init_app(app)
    for module in areas:
        app.register_blueprint(module.bp)
    app.before_request(account.require_two_factor_setup)
    errors.init_app(app)
    health.init_app(app)
    from inbox.web import api

    api.init_app(app)

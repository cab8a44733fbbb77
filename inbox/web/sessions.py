"""Log-in state per request: load the user from the server-side log-in, rotate remember-me, end it.

The cookies carry ``"<user id>:<token>"`` (User.get_id); inbox.services.login_sessions
decides whether that log-in still counts. Also sets the headers that keep pages of a
logged-in user out of caches.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, g, request, session
from flask_login import user_loaded_from_cookie

from inbox.db import utcnow
from inbox.models import User
from inbox.services import login_sessions

PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
HSTS = "max-age=31536000; includeSubDomains"


def load_user(cookie_id: str) -> User | None:
    """Flask-Login's user loader: the user of a live log-in, else None (logged out)."""
    from inbox.web import db

    parsed = login_sessions.parse_cookie_id(cookie_id)
    if parsed is None:
        return None
    found = login_sessions.resume(db(), parsed[0], parsed[1], now=utcnow())
    if found is None:
        return None
    found.user.login_token = found.token
    return found.user


def start(user: User, *, remember: bool, lifetime: timedelta) -> None:
    """Open a server-side log-in for ``user`` (committed) and hand it to Flask-Login."""
    from flask_login import login_user

    from inbox.web import db

    token = login_sessions.open_session(
        db(), user, remember=remember, now=utcnow(), lifetime=lifetime
    )
    db().commit()
    user.login_token = token
    login_user(user, remember=remember, duration=lifetime)


def end(user: User) -> None:
    """End the log-in this request came with (log-out); other log-ins of the user stay."""
    from flask_login import logout_user

    from inbox.web import db

    if user.is_authenticated and user.login_token:
        login_sessions.end_session(db(), user.id, user.login_token, now=utcnow())
        db().commit()
    logout_user()


def _rotate_remember_token(_app: Flask, user: User, **_kw: object) -> None:
    """A remember-me cookie was used: give it a new token and write the cookie again.

    Runs in the request's session: its read transaction ends first, so that the rotation is a
    short write transaction of its own; a page view then reads on as before.
    """
    from inbox.web import db

    if not user.login_token:
        return
    s = db()
    s.commit()
    found = login_sessions.resume(s, user.id, user.login_token, now=utcnow(), rotate=True)
    left = login_sessions.seconds_left(s, found.token, now=utcnow()) if found else 0
    s.commit()
    if request.method in ("GET", "HEAD"):
        s.connection(execution_options={"sqlite_begin": "DEFERRED"})
    if found is None or not found.rotated:
        return
    user.login_token = found.token
    session["_user_id"] = user.get_id()
    session["_remember"] = "set"
    session["_remember_seconds"] = max(left, 1)


def _no_store(response: Response) -> Response:
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def init_app(app: Flask, *, secure_cookies: bool) -> None:
    user_loaded_from_cookie.connect(_rotate_remember_token, app)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return _no_store(response)

"""inbox: shared-inbox email ticketing for support teams. This module holds the application factory.

Importing the package costs nothing: Flask, SQLAlchemy and the settings are imported inside
`create_app`, so command-line tools that only read mail (`inbox parse`) start fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application.

    ``config`` takes the same sections as config.toml (``{"database": {"url": ...}}``) and
    wins over the file and the environment. Two extra keys serve tests and tools:
    ``"bind"`` (an Engine or Connection to use instead of the URL) and ``"check_schema"``
    (default True: refuse to start on a database that is not migrated).
    Raises ConfigError or DatabaseNotMigrated; nothing is started before both pass.
    """
    from flask import Flask

    from inbox.config import load_settings
    from inbox.resources import templates_dir
    from inbox.runtime import build_runtime

    config = dict(config or {})
    bind = config.pop("bind", None)
    check_schema = config.pop("check_schema", True)
    testing = config.pop("testing", False)
    settings = load_settings(config)
    runtime = build_runtime(settings, bind=bind)
    if check_schema and runtime.engine is not None:
        from inbox.schema import ensure_current

        try:
            ensure_current(runtime.engine)
        except Exception:
            runtime.engine.dispose()
            raise

    app = Flask(
        __name__,
        template_folder=str(templates_dir()),
        static_folder="static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(days=settings.remember_days),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=30 * 1024 * 1024,
    )
    app.extensions["inbox"] = runtime

    from inbox import web

    web.init_app(app)
    return app

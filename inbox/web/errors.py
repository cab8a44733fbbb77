"""Error pages: domain errors and HTTP errors mapped to responses in one place."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from inbox.services.errors import ConcurrentChange, InvalidInput, NotFound, PermissionDenied


def _page(status: int, title: str, message: str):
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _too_large(app: Flask):
    from flask_babel import gettext as _

    mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    return _page(
        413,
        _("Too large"),
        _("What you sent is larger than %(mb)s MB. Attach smaller files, or send them in several replies.", mb=mb),
    )


def init_app(app: Flask) -> None:
    from flask_babel import gettext as _

    app.register_error_handler(NotFound, lambda e: _page(404, _("Not found"), str(e)))
    app.register_error_handler(404, lambda e: _page(404, _("Not found"), _("No such page.")))
    app.register_error_handler(PermissionDenied, lambda e: _page(403, _("Not allowed"), str(e)))
    app.register_error_handler(403, lambda e: _page(403, _("Not allowed"), _("Not allowed.")))
    app.register_error_handler(InvalidInput, lambda e: _page(400, _("Invalid request"), str(e)))
    app.register_error_handler(
        ConcurrentChange, lambda e: _page(409, _("Changed meanwhile"), str(e))
    )
    app.register_error_handler(413, lambda e: _too_large(app))
    app.register_error_handler(
        CSRFError,
        lambda e: _page(
            400,
            _("Form expired"),
            _("The form was too old or came from elsewhere. Reload the page and try again."),
        ),
    )

"""Error pages: domain errors and HTTP errors mapped to responses in one place."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from inbox.services.errors import ConcurrentChange, InvalidInput, NotFound, PermissionDenied


def _page(status: int, title: str, message: str):
    return render_template("errors/error.html", status=status, title=title, message=message), status


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
    app.register_error_handler(
        CSRFError,
        lambda e: _page(
            400,
            _("Form expired"),
            _("The form was too old or came from elsewhere. Reload the page and try again."),
        ),
    )

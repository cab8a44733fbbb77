"""Error pages: domain errors and HTTP errors mapped to responses in one place.

Every domain error is shown translated (``translated``), and the request's database session is
rolled back before the page is drawn, so nothing half-done by the failed request is committed
by a later flush.
"""

from __future__ import annotations

from flask import Flask, g, render_template
from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from inbox.ingest.notices import english
from inbox.services.errors import (
    ConcurrentChange,
    InboxError,
    InvalidInput,
    InvalidInputs,
    NotFound,
    PermissionDenied,
    Term,
)


def translated(error: InboxError) -> str:
    """The error's message in the reader's language, with its values filled in.

    Values that are message ids themselves (``Term``) are translated too; several problems
    (``InvalidInputs``) are joined, each translated.
    """
    if isinstance(error, InvalidInputs):
        return " ".join(translated(p) for p in error.problems)
    message = getattr(error, "message", "") or str(error)
    params = getattr(error, "params", {}) or {}
    params = {k: gettext(v) if isinstance(v, Term) else v for k, v in params.items()}
    return gettext(message, **params) if params else gettext(message)


def stored_words(text: str | None) -> str:
    """A message stored in English (an outbox or mailbox error), translated when it is one of
    ours (marked for the catalogue where it is written); a server's own words stay as they are."""
    return gettext(text) if text else ""


def stored_warning(entry: object) -> str:
    """A parse warning as a message keeps it (``inbox.ingest.notices.stored``), translated:
    a message id with its values (values that are notices themselves translated too); a plain
    string, also one stored before warnings kept their values, as ``stored_words``."""
    if not isinstance(entry, dict):
        return stored_words(None if entry is None else str(entry))
    code = str(entry.get("code", ""))
    values = entry.get("values")
    if not isinstance(values, dict) or not values:
        return gettext(code) if code else ""
    try:
        return gettext(code, **{str(k): _warning_value(v) for k, v in values.items()})
    except (KeyError, TypeError, ValueError):  # a damaged entry: its English text
        return english(entry)


def _warning_value(value: object) -> str:
    """A value of a stored warning: a nested notice translated, anything else (data) as is."""
    return stored_warning(value) if isinstance(value, dict) else str(value)


def _rollback() -> None:
    session = g.get("db")
    if session is not None:
        session.rollback()


def _page(status: int, title: str, message: str):
    from inbox.web.api.problems import is_api_request, problem

    if is_api_request():  # the API answers in problem details, never in HTML
        return problem(status, title, message)
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _domain(status: int, title: LazyString):
    def handle(error: InboxError):
        _rollback()
        return _page(status, str(title), translated(error))

    return handle


def _too_large(app: Flask):
    from flask_babel import gettext as _

    mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    return _page(
        413,
        _("Too large"),
        _("What you sent is larger than %(mb)s MB. Attach smaller files, or send them in several replies.", mb=mb),
    )


def _api_or_default(error: HTTPException):
    """Other HTTP errors: problem details under /api/, Werkzeug's own page elsewhere."""
    from inbox.web.api.problems import is_api_request, problem

    if is_api_request():
        return problem(error.code or 500, error.name, error.description or "")
    return error


def init_app(app: Flask) -> None:
    from flask_babel import gettext as _

    app.add_template_filter(stored_words, "stored_words")
    app.add_template_filter(stored_warning, "stored_warning")
    app.register_error_handler(NotFound, _domain(404, _l("Not found")))
    app.register_error_handler(PermissionDenied, _domain(403, _l("Not allowed")))
    app.register_error_handler(InvalidInput, _domain(400, _l("Invalid request")))
    app.register_error_handler(ConcurrentChange, _domain(409, _l("Changed meanwhile")))
    app.register_error_handler(404, lambda e: _page(404, _("Not found"), _("No such page.")))
    app.register_error_handler(403, lambda e: _page(403, _("Not allowed"), _("Not allowed.")))
    app.register_error_handler(413, lambda e: _too_large(app))
    app.register_error_handler(HTTPException, _api_or_default)
    app.register_error_handler(
        CSRFError,
        lambda e: _page(
            400,
            _("Form expired"),
            _("The form was too old or came from elsewhere. Reload the page and try again."),
        ),
    )

"""The API's plumbing: bearer-token log-in, scopes, rate limit, input parsing, idempotency keys,
errors as problem details, and ``operation``, which registers a route and its OpenAPI record.

Only ``Authorization: Bearer`` tokens authenticate: a browser's session cookie is never
accepted here, which is why the blueprint can be exempt from CSRF.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, get_origin

from flask import Blueprint, Response, current_app, g, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError

from inbox.db import utcnow
from inbox.models import ApiToken, User
from inbox.services import api_tokens
from inbox.services.errors import (
    ConcurrentChange,
    InboxError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from inbox.web import db, runtime
from inbox.web.api.problems import problem
from inbox.web.api.spec import OPERATIONS, Operation

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)


class ApiProblem(Exception):
    """Raised by API views for an error with its own status and fields."""

    def __init__(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def me() -> User:
    return g.api_user


def token() -> ApiToken:
    return g.api_token


# --- log-in, scope, rate limit ------------------------------------------------------------------


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, _("Not logged in"), detail)


@bp.before_request
def _authenticate() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "public", False):
        return
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise _unauthorized(_("Send an API token as Authorization: Bearer <token>."))
    rt, now = runtime(), utcnow()
    with rt.Session() as session:  # its own short write: the request's session may only read
        found = api_tokens.authenticate(session, raw.strip(), now=now)
        if found is not None:
            limit = rt.settings.api_rate_per_minute
            state = api_tokens.count_request(session, found, now=now, limit=limit)
        session.commit()
    if found is None:
        raise _unauthorized(_("This API token is not valid, or it was revoked."))
    g.api_rate = state
    request_session = db()  # GET and HEAD read in a DEFERRED transaction (see inbox.web.db)
    g.api_token = request_session.get(ApiToken, found.id)
    g.api_user = request_session.get(User, found.user_id)
    if not state.allowed:
        raise ApiProblem(429, _("Too many requests"),
                         _("This token made too many requests; try again in a minute."))  # fmt: skip
    if getattr(view, "scope", "read") == "write" and found.scope != "write":
        raise ApiProblem(403, _("Not allowed"), _("This token may only read."))


@bp.after_request
def _rate_headers(response: Response) -> Response:
    state = g.get("api_rate")
    if state is not None:
        response.headers["RateLimit-Limit"] = str(state.limit)
        response.headers["RateLimit-Remaining"] = str(state.remaining)
        response.headers["RateLimit-Reset"] = str(state.reset_seconds)
        if not state.allowed:
            response.headers["Retry-After"] = str(state.reset_seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- errors -------------------------------------------------------------------------------------


def _rollback() -> None:
    session = g.get("db")
    if session is not None:
        session.rollback()


DOMAIN_STATUS: list[tuple[type[InboxError], int, str]] = [
    (NotFound, 404, "Not found"),
    (PermissionDenied, 403, "Not allowed"),
    (ConcurrentChange, 409, "Changed meanwhile"),
    (InvalidInput, 400, "Invalid request"),
    (InboxError, 400, "Invalid request"),
]


@bp.errorhandler(ApiProblem)
def _api_problem(error: ApiProblem) -> Response:
    _rollback()
    response = problem(error.status, error.title, error.detail, **error.extra)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="inbox"'
    return response


@bp.errorhandler(InboxError)
def _domain(error: InboxError) -> Response:
    from inbox.web.errors import translated

    _rollback()
    for cls, status, title in DOMAIN_STATUS:
        if isinstance(error, cls):
            return problem(status, _(title), translated(error))
    return problem(400, _("Invalid request"), translated(error))  # pragma: no cover


@bp.errorhandler(ValidationError)
def _invalid(error: ValidationError) -> Response:
    _rollback()
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in error.errors(include_url=False, include_input=False)
    ]
    return problem(422, _("Invalid input"), _("Some values do not fit; see errors."), errors=errors)


@bp.errorhandler(HTTPException)
def _http(error: HTTPException) -> Response:
    _rollback()
    if isinstance(error, InternalServerError):
        log.error("API request failed", exc_info=error.original_exception)
    return problem(error.code or 500, error.name, error.description or "")


# --- input --------------------------------------------------------------------------------------


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise ApiProblem(415, _("Unsupported media type"), _("Send the body as application/json."))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiProblem(400, _("Invalid request"), _("The request body must be a JSON object."))
    if _has_nul(data):
        raise ApiProblem(422, _("Invalid input"), _("Text may not contain NUL characters."))
    return model.model_validate(data)


def _query(model: type[BaseModel]) -> BaseModel:
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if get_origin(field.annotation) is list:
            found = request.args.getlist(name)
        else:
            found = request.args.get(name)
        if found not in (None, []):
            values[name] = found
    return model.model_validate(values)


def _request_hash() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _json(result: BaseModel, status: int) -> Response:
    return current_app.response_class(
        result.model_dump_json(), status=status, mimetype="application/json"
    )


def _idempotent(op: Operation, call: Callable[[], BaseModel]) -> Response:
    """Run a POST at most once per (token, Idempotency-Key); a repeat gets the first response."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        if op.idempotency == "required":
            raise ApiProblem(400, _("Invalid request"),
                             _("This request needs an Idempotency-Key header."))  # fmt: skip
        g.idempotency_key = None
        result = call()
        db().commit()
        return _json(result, op.status)
    api_tokens.check_key(key)
    session, digest = db(), _request_hash()
    seen = api_tokens.remembered(session, token(), key, digest)
    if seen is not None:
        response = current_app.response_class(
            current_app.json.dumps(seen.body), status=seen.status, mimetype="application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency_key = api_tokens.derived_key(token(), key)
    result = call()
    api_tokens.remember(session, token(), key, digest, status=op.status,
                        body=result.model_dump(mode="json"), now=utcnow())  # fmt: skip
    session.commit()
    return _json(result, op.status)


def operation(
    area: Blueprint, method: str, rule: str, **spec: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an API view on ``area`` (a blueprint nested in ``bp``) under ``PREFIX + rule``
    and record it for the OpenAPI document.

    The view gets ``query=`` and ``body=`` (validated models) when the operation declares them,
    returns a response model (or a Response for files), and never commits: reads are rolled
    back, writes committed here after the idempotency record.
    """
    op = Operation(method=method, path=PREFIX + rule, **spec)
    OPERATIONS.append(op)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def view(**kwargs: Any) -> Response:
            if op.query is not None:
                kwargs["query"] = _query(op.query)
            if op.body is not None:
                kwargs["body"] = _body(op.body)
            if op.method == "get":
                result = fn(**kwargs)
                return result if isinstance(result, Response) else _json(result, op.status)
            if op.method == "post":
                return _idempotent(op, lambda: fn(**kwargs))
            result = fn(**kwargs)
            db().commit()
            return _json(result, op.status)

        view.scope = op.scope  # type: ignore[attr-defined]
        view.public = op.public  # type: ignore[attr-defined]
        view.accepts_json = op.body is not None  # type: ignore[attr-defined]
        area.add_url_rule(rule, endpoint=op.name, view_func=view, methods=[method.upper()])
        return view

    return decorate

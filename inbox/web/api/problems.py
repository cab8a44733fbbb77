"""RFC 9457 problem details: the one shape every API error takes."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request

MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str = "", **extra: Any) -> Response:
    """A problem details response (``type`` about:blank, ``instance`` the request path)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": request.path}  # fmt: skip
    body.update({k: v for k, v in extra.items() if v is not None})
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")

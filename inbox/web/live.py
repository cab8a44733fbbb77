"""Conditional polling for live pages: answer a poll with 304 when the page's version is unchanged.

A live page (the queue, a thread) computes its version (inbox.services.live) and calls
``unchanged(version)`` before rendering; a poll from ``static/live.js`` (header
``X-Inbox-Live: 1`` and ``If-None-Match``) then gets a bodiless 304 when nothing changed.
Otherwise the page renders as usual and ``tagged`` adds the version as its ETag; the page
also carries it in ``data-etag`` so that the first poll can already be a 304. Ordinary
navigation is never answered with 304 (a reload always renders), and a pending flash
message always renders too.
"""

from __future__ import annotations

from flask import Response, make_response, request, session

LIVE_HEADER = "X-Inbox-Live"
POLL_MS = 3000


def is_poll() -> bool:
    return request.headers.get(LIVE_HEADER) == "1"


def unchanged(version: str) -> Response | None:
    """A 304 for a poll that already has ``version``, else None (render the page)."""
    if is_poll() and version in request.if_none_match and not session.get("_flashes"):
        response = Response(status=304)
        return tagged(response, version)
    return None


def tagged(body, version: str) -> Response:
    response = make_response(body)
    response.set_etag(version)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add(LIVE_HEADER)
    return response

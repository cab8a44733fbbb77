"""The REST API under /api/v1: JSON over HTTP with bearer tokens, the same services and
permissions as the web pages, errors as problem details, and its OpenAPI document.

Each area is a blueprint nested in ``core.bp``, which logs in, limits and answers errors for all.
"""

from __future__ import annotations

from flask import Flask

from inbox.web.api import core, reads, reports, threads

AREAS = (threads, reads, reports)
for _area in AREAS:
    core.bp.register_blueprint(_area.bp)


def init_app(app: Flask) -> None:
    from inbox.web import csrf

    for blueprint in (core.bp, *(area.bp for area in AREAS)):
        csrf.exempt(blueprint)  # only bearer tokens log in here, never the session cookie
    app.register_blueprint(core.bp)

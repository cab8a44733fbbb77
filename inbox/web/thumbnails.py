"""Previews of image attachments: a small re-encoded JPEG in the thread, a larger one to enlarge.

Served under the attachment CSP like the attachments themselves (``inbox.web.thread``); the
decoding and its limits are ``inbox.services.thumbnails``.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask_login import current_user, login_required

from inbox.services import thumbnails
from inbox.web import db, runtime
from inbox.web.thread import DOWNLOAD_CSP

bp = Blueprint("thumbnails", __name__, url_prefix="/threads")


@bp.route("/<int:thread_id>/attachments/<int:attachment_id>/preview")
@login_required
def show(thread_id: int, attachment_id: int):
    data = thumbnails.for_attachment(
        db(), current_user._get_current_object(), thread_id, attachment_id,
        read_blob=runtime().blobs.get, large=request.args.get("size") == "large",
    )  # fmt: skip
    response = Response(data, content_type="image/jpeg")
    response.headers["Content-Disposition"] = 'inline; filename="preview.jpg"'
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, max-age=300"
    return response

"""Flagged mail (admins): messages stored raw with the reason, and a button that reads them again."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from inbox.db import utcnow
from inbox.jobs.poll import ingest_options
from inbox.models import Message
from inbox.services import quarantine
from inbox.services.errors import NotFound
from inbox.web import db, runtime
from inbox.web.admin import admin_required
from inbox.web.errors import stored_warning

bp = Blueprint("quarantine", __name__, url_prefix="/admin/flagged")


@bp.route("")
@admin_required
def index():
    rows = quarantine.flagged(db())
    return render_template(
        "quarantine/index.html",
        messages=rows,
        quarantined={m.id for m in rows if quarantine.is_quarantined(m)},
    )


@bp.route("/<int:message_id>/reprocess", methods=["POST"])
@admin_required
def reprocess(message_id: int):
    session = db()
    message = session.get(Message, message_id)
    if message is None or not message.parse_failed:
        raise NotFound("No such flagged message.")
    outcome = quarantine.reprocess(
        session, runtime().blobs, message, now=utcnow(), options=ingest_options(runtime())
    )
    session.commit()
    if outcome.readable:
        flash(_("Message %(id)s was read again and is no longer flagged.", id=message_id), "info")
    else:
        why = "; ".join(stored_warning(w) for w in outcome.warnings) or outcome.error or ""
        flash(
            _("Message %(id)s still cannot be read: %(error)s", id=message_id, error=why), "error"
        )
    return redirect(url_for("quarantine.index"))


@bp.route("/reprocess", methods=["POST"])
@admin_required
def reprocess_all():
    session = db()
    outcomes = quarantine.reprocess_all(
        session, runtime().blobs, now=utcnow(), options=ingest_options(runtime())
    )
    session.commit()
    done = sum(o.readable for o in outcomes)
    flash(
        _(
            "%(done)s of %(total)s flagged messages were read again.",
            done=done,
            total=len(outcomes),
        ),
        "info",
    )
    return redirect(url_for("quarantine.index"))

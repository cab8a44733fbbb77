"""Yahoo! consent in the app (blueprint ``yahoo_consent``): "Authorise at Yahoo! JAPAN" and its callback.

The state and PKCE verifier of a consent in progress live in the admin's signed session and are
used once (``inbox.services.yahoo_consent``); the tokens are sealed on the channel. Audited.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import gettext as _

from inbox.db import utcnow
from inbox.models import Mailbox, MailboxKind
from inbox.services import mailboxes as mailbox_service
from inbox.services import yahoo_consent
from inbox.services.errors import InvalidInput
from inbox.services.mall_rate import env_for
from inbox.web import db, runtime
from inbox.web.admin import admin_required
from inbox.web.audit import note
from inbox.web.errors import translated

PENDING = "yahoo_consent_pending"

bp = Blueprint("yahoo_consent", __name__, url_prefix="/admin/yahoo-consent")


@bp.app_context_processor
def _helpers() -> dict:
    return {"mall_access": mall_access}


def mall_access(mailbox: Mailbox) -> dict:
    """What the channel form shows of a pause and of the consent's lapse (templates/malls/_credentials.html)."""
    settings, now = mailbox.settings or {}, utcnow()
    pause = settings.get("mall_pause") or {}
    expiry = yahoo_consent.consent_expiry(mailbox) if mailbox.kind == MailboxKind.YAHOO else None
    return {
        "pause_until": datetime.fromisoformat(pause["until"]) if pause.get("until") else None,
        "consent_expires_at": expiry,
        "consent_days_left": yahoo_consent.consent_days_left(mailbox, now) if expiry else None,
    }


@bp.route("/<int:mailbox_id>/start")
@admin_required
def start(mailbox_id: int):
    mailbox = mailbox_service.get_mailbox(db(), id=mailbox_id)
    try:
        url, pending = yahoo_consent.start(
            mailbox,
            runtime().secrets,
            redirect_uri=url_for("yahoo_consent.callback", _external=True),
            now=utcnow(),
        )
    except InvalidInput as exc:
        flash(translated(exc), "error")
        return redirect(url_for("admin.edit_mailbox", mailbox_id=mailbox_id))
    session[PENDING] = pending
    return redirect(url)


@bp.route("/callback")
@admin_required
def callback():
    pending = session.pop(PENDING, None)
    try:
        mailbox = yahoo_consent.finish(
            db(),
            runtime().secrets,
            pending,
            state=request.args.get("state", "")[:200],
            code=request.args.get("code", "")[:2000],
            error=request.args.get("error", "")[:100],
            now=utcnow(),
            # YConnect (auth.login.yahoo.co.jp) is not the store API: the exchange books no slot
            # of the account's one-request-per-second limit (``yconnect`` asks for interval 0),
            # but it shares the runtime's mall environment (transport, timeout) like polling.
            env=env_for(runtime()),
        )
    except InvalidInput as exc:
        db().rollback()
        note(
            "mailbox.yahoo_consent_refused",
            f"mailbox:{(pending or {}).get('mailbox_id', '')}",
            {"reason": str(exc)[:200]},
        )
        db().commit()
        flash(translated(exc), "error")
        target = (pending or {}).get("mailbox_id")
        return redirect(
            url_for("admin.edit_mailbox", mailbox_id=target)
            if target
            else url_for("admin.mailboxes")
        )
    note(
        "mailbox.yahoo_consent",
        f"mailbox:{mailbox.id}",
        {"secrets_changed": ["access_token", "refresh_token"]},
    )
    db().commit()
    flash(
        _("Yahoo! consent stored. It lasts 28 days; you will be reminded before it lapses."),
        "success",
    )
    return redirect(url_for("admin.edit_mailbox", mailbox_id=mailbox.id))

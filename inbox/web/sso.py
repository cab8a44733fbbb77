"""Single sign-on (blueprint ``sso``): send the browser to a configured OpenID Connect provider
and log the user in when it comes back with a valid ID token for a verified address.

The state, nonce and PKCE verifier of a log-in in progress live in the browser's signed session
for ten minutes and are used once. After the provider, the user gets the same server-side log-in
as after a password (``inbox.web.sessions``) and is not asked for the app's two-factor code:
the provider is where the second factor is asked. Every success and refusal is audited.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from inbox import oidc
from inbox.config import SsoProvider
from inbox.db import utcnow
from inbox.services import sso as sso_service
from inbox.services.errors import NotFound, SsoRefused
from inbox.web import db, runtime
from inbox.web.audit import note
from inbox.web.auth import _finish, _safe_next, render_login

PENDING = "sso_pending"
PENDING_SECONDS = 600

bp = Blueprint("sso", __name__, url_prefix="/login/sso")

# What the person reads for each refusal reason of inbox.oidc and inbox.services.sso (the audit
# log keeps the reason code).
_REASONS = {
    "provider": _l("The sign-in service could not be reached or answered wrongly. Try again later."),
    "signature": _l("The sign-in could not be verified (bad signature). Try again."),
    "iss": _l("The sign-in came from an unexpected issuer and was refused."),
    "aud": _l("The sign-in was meant for another application and was refused."),
    "expired": _l("The sign-in has expired. Try again."),
    "nonce": _l("The sign-in does not belong to this log-in attempt. Try again."),
    "claims": _l("The sign-in could not be verified. Try again."),
    "state": _l("The sign-in took too long or was not started here. Try again."),
    "provider_error": _l("The sign-in was cancelled or refused by the provider."),
    "no_email": _l("The provider did not send a mail address."),
    "unverified": _l("The provider has not verified this mail address; it cannot be used to log in."),
    "tenant": _l("The account belongs to another organisation."),
    "domain": _l("The account belongs to another organisation."),
    "unknown_user": _l("No user has this mail address. Ask an administrator to invite you."),
    "disabled": _l("This user is disabled."),
}


def _provider(name: str) -> SsoProvider:
    provider = runtime().settings.sso.provider(name)
    if provider is None:
        raise NotFound("No such sign-in provider.")
    return provider


def _callback_url(provider: SsoProvider) -> str:
    return url_for("sso.callback", name=provider.name, _external=True)


def _refuse(provider: SsoProvider, reason: str, target: str = ""):
    note("login.sso_failure", (target or f"sso:{provider.name}")[:254],
         {"provider": provider.name, "reason": reason})  # fmt: skip
    db().commit()
    flash(str(_REASONS.get(reason, _REASONS["claims"])), "error")
    return render_login(status=401)


@bp.route("/<name>")
def start(name: str):
    provider = _provider(name)
    if current_user.is_authenticated:
        return redirect(url_for("queue.index"))
    try:
        started = oidc.start(provider, _callback_url(provider))
    except oidc.OidcError as exc:
        return _refuse(provider, exc.reason)
    session[PENDING] = {
        "p": provider.name, "state": started.state, "nonce": started.nonce,
        "verifier": started.code_verifier, "next": _safe_next(request.args.get("next")),
        "at": int(utcnow().timestamp()),
    }  # fmt: skip
    return redirect(started.url)


def _pending(provider: SsoProvider) -> dict[str, Any] | None:
    pending = session.pop(PENDING, None)  # used once, whatever happens next
    if not isinstance(pending, dict) or pending.get("p") != provider.name:
        return None
    if int(utcnow().timestamp()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    state = request.args.get("state", "")
    if not hmac.compare_digest(str(pending.get("state", "")).encode(), state.encode()):
        return None
    return pending


@bp.route("/<name>/callback")
def callback(name: str):
    provider = _provider(name)
    pending = _pending(provider)
    if pending is None:
        return _refuse(provider, "state")
    if request.args.get("error") or not request.args.get("code"):
        return _refuse(provider, "provider_error")
    try:
        claims = oidc.finish(
            provider, code=request.args["code"][:2048], redirect_uri=_callback_url(provider),
            code_verifier=pending["verifier"], nonce=pending["nonce"], now=utcnow().timestamp(),
        )  # fmt: skip
    except oidc.OidcError as exc:
        return _refuse(provider, exc.reason)
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    try:
        login = sso_service.log_in(db(), provider, claims, settings=runtime().settings.sso, now=utcnow())
    except SsoRefused as exc:
        db().rollback()
        return _refuse(provider, exc.reason, target=email)
    if login.created:
        note("user.create", f"user:{login.user.id}",
             {"by": f"sso:{provider.name}", "role": login.user.role}, actor_id=login.user.id)  # fmt: skip
    flash(_("Signed in with %(provider)s.", provider=provider.label), "info")
    return _finish(login.user, remember=False, method=f"sso:{provider.name}", next_url=pending.get("next"))

"""Yahoo! consent: when it was given, warnings before the refresh token lapses, the in-app consent flow.

The refresh token lasts 28 days (``yahoo_facts.REFRESH_TOKEN_LIFETIME``). ``consent_at`` in the
channel's settings records when it was given; admins are mailed 7 and 2 days before it lapses,
each once, by the scheduler's "yahoo-consent" job (``run_warnings``), whether polling works or
not (a failing or paused channel is the one most likely to be forgotten). The flow: ``start`` builds the YConnect address and what the caller keeps (state, PKCE
verifier) until ``finish`` checks the state, exchanges the code and seals the tokens. No web here.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.crypto import SecretBox
from inbox.models import Mailbox, MailboxKind, OutboxItem
from inbox.services.errors import InvalidInput
from inbox.services.mall_credentials import queue_alert, replace_secrets
from inbox.sources import yahoo_facts as F
from inbox.sources import yconnect
from inbox.sources.mall_http import MallEnv, MallError

if TYPE_CHECKING:
    from inbox.runtime import Runtime

PENDING_FOR = timedelta(minutes=15)  # a consent started longer ago than this is refused


def consent_expiry(mailbox: Mailbox) -> datetime | None:
    """When the refresh token lapses, if we know when consent was given."""
    given = (mailbox.settings or {}).get("consent_at")
    return datetime.fromisoformat(given) + F.REFRESH_TOKEN_LIFETIME if given else None


def consent_days_left(mailbox: Mailbox, now: datetime) -> float | None:
    expiry = consent_expiry(mailbox)
    return None if expiry is None else (expiry - now).total_seconds() / 86400


def warn_consent(
    session: Session, runtime: Runtime, mailbox: Mailbox, now: datetime
) -> OutboxItem | None:
    """Queue the 7- or 2-day warning when the consent is that close to lapsing (each once)."""
    expiry = consent_expiry(mailbox) if mailbox.kind == MailboxKind.YAHOO else None
    if expiry is None or expiry <= now:
        return None
    crossed = [d for d in F.CONSENT_WARN_DAYS if expiry - now <= timedelta(days=d)]
    if not crossed:
        return None
    days = min(crossed)
    return queue_alert(
        session,
        runtime,
        mailbox,
        stage=f"consent-{days}d",
        now=now,
        key_date=expiry.date().isoformat(),
        expiry=expiry,
        days_left=(expiry - now).days,
    )


def warn_all(session: Session, runtime: Runtime, now: datetime) -> list[OutboxItem]:
    """The due warnings of every active Yahoo! channel, polling or failing (each once: the
    outbox key holds the channel, the stage and the lapse date). Flushes, does not commit."""
    queued = []
    channels = select(Mailbox).where(Mailbox.active, Mailbox.kind == MailboxKind.YAHOO)
    for mailbox in session.scalars(channels.order_by(Mailbox.id)):
        try:
            item = warn_consent(session, runtime, mailbox, now)
        except (TypeError, ValueError):  # a consent_at that is not a time: nothing to warn of
            continue
        if item is not None:
            queued.append(item)
    return queued


def run_warnings(runtime: Runtime, *, now: datetime) -> int:
    """Scheduler entry point: ``warn_all`` in its own transaction. Several schedulers may run it
    at once; the outbox's idempotency key keeps each warning to one mail."""
    with runtime.Session() as session:
        count = len(warn_all(session, runtime, now))
        session.commit()
    return count


def start(
    mailbox: Mailbox, box: SecretBox, *, redirect_uri: str, now: datetime
) -> tuple[str, dict[str, Any]]:
    """The YConnect address to send the admin to, and what to keep until the callback."""
    if mailbox.kind != MailboxKind.YAHOO:
        raise InvalidInput("Only Yahoo! channels ask for consent.")
    client_id = str(box.open(mailbox.secret_encrypted).get("client_id") or "")
    if not client_id:
        raise InvalidInput("Enter and save the app's client ID and secret first.")
    state, (verifier, challenge) = yconnect.new_state(), yconnect.pkce_pair()
    settings = mailbox.settings or {}
    try:
        url = yconnect.authorization_url(
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            challenge=challenge,
            authorize_url=settings.get("authorize_url") or F.AUTHORIZATION_URL,
        )
    except MallError as exc:
        raise InvalidInput(
            "The authorization address is not usable: %(reason)s", reason=str(exc)
        ) from exc
    pending = {
        "mailbox_id": mailbox.id,
        "state": state,
        "verifier": verifier,
        "redirect_uri": redirect_uri,
        "at": now.isoformat(),
    }
    return url, pending


def finish(
    session: Session,
    box: SecretBox,
    pending: Mapping[str, Any] | None,
    *,
    state: str,
    code: str,
    error: str,
    now: datetime,
    env: MallEnv,
) -> Mailbox:
    """Check the callback against what ``start`` kept, exchange the code, seal the tokens.

    Raises InvalidInput (state missing or different, consent refused, too late, exchange refused).
    """
    if not pending or not state or not hmac.compare_digest(str(pending.get("state", "")), state):
        raise InvalidInput("This consent answer does not match the one started here; start again.")
    if now - datetime.fromisoformat(pending["at"]) > PENDING_FOR:
        raise InvalidInput("The consent took too long; start again.")
    if error or not code:
        raise InvalidInput(
            "Yahoo! did not give consent (%(error)s).", error=error[:100] or "no code"
        )
    mailbox = session.get(Mailbox, int(pending["mailbox_id"]))
    if mailbox is None or mailbox.kind != MailboxKind.YAHOO:
        raise InvalidInput("The channel of this consent no longer exists.")
    secrets = box.open(mailbox.secret_encrypted)
    settings = mailbox.settings or {}
    try:
        tokens = yconnect.exchange_code(
            token_url=settings.get("token_url") or F.TOKEN_URL,
            client_id=str(secrets.get("client_id") or ""),
            client_secret=str(secrets.get("client_secret") or ""),
            code=code[:2000],
            redirect_uri=str(pending["redirect_uri"]),
            verifier=str(pending["verifier"]),
            env=env,
        )
    except MallError as exc:
        raise InvalidInput(
            "YConnect did not accept the consent: %(reason)s", reason=str(exc)
        ) from exc
    changes: dict[str, Any] = {
        "refresh_token": tokens["refresh_token"],
        "access_token": tokens["access_token"],
    }
    if str(tokens.get("expires_in", "")).isdigit():
        changes["access_token_expires_at"] = (
            now + timedelta(seconds=int(tokens["expires_in"]))
        ).isoformat()
    replace_secrets(session, box, mailbox, changes, now=now)  # records consent_at
    mailbox.change_settings(mall_pause=None)
    return mailbox

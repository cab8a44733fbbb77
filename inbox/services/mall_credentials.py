"""Mall channel credentials: test the connection, new keys, Rakuten licence expiry and its alert mails.

Secrets are sealed through ``inbox.services.mailboxes``; nothing here returns or logs them.
The state of a channel's credentials is ``Mailbox.settings["credentials_state"]``
("expired", "invalid", "reconsent" or absent), shown as a banner and read by the poller.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.crypto import SecretBox
from inbox.models import Mailbox, MailboxKind, MailboxOutage, OutboxItem, Role, User
from inbox.resources import templates_dir
from inbox.services import mall_complete, mall_rate, outbox
from inbox.services.mailbox_check import CheckResult
from inbox.services.mailboxes import InvalidSetting, enter_secrets, update_secrets
from inbox.sources import rakuten_facts, yahoo_facts
from inbox.sources.mall_http import MallEnv, MallError, MallSource, connect

if TYPE_CHECKING:
    from inbox.runtime import Runtime

log = logging.getLogger(__name__)

ALERT_KIND = "credential_alert"
TEMPLATES = templates_dir() / "malls"
CHECK_EVERY = timedelta(days=1)
STATES = {"auth_expired": "expired", "auth_invalid": "invalid", "reconsent": "reconsent"}
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=False,
                          keep_trailing_newline=False)


@dataclass(frozen=True)
class ConnectionReport:
    ok: bool
    message: str


def replace_secrets(session: Session, box: SecretBox, mailbox: Mailbox, changes: Mapping[str, Any],
                    *, now: datetime) -> bool:
    """An admin entered new secrets: seal them; a changed credential lifts the stop on polling.

    Empty values keep the stored ones; a refresh token records the consent time (``now``,
    ``mailboxes.enter_secrets``). Returns True when something changed. Flushes nothing.
    """
    given = enter_secrets(mailbox, box, changes, now=now)
    if not given:
        return False
    if "refresh_token" in given and "access_token" not in given:
        current = box.open(mailbox.secret_encrypted)  # the old access token belongs to the old consent
        current.pop("access_token", None)
        current.pop("access_token_expires_at", None)
        mailbox.secret_encrypted = box.seal(current)
    mailbox.change_settings(credentials_state=None, license_expires_at=None, license_checked_at=None)
    return True


def explain(mailbox: Mailbox, error: MallError, now: datetime) -> str:
    """The plain-words reason of a credentials failure, using what we know of the key's expiry."""
    if mailbox.kind == MailboxKind.RAKUTEN and error.status == 401:
        known = (mailbox.settings or {}).get("license_expires_at")
        if known and datetime.fromisoformat(known) <= now:
            return (f"The Rakuten licence key expired on {_jst(known)} (JST). Issue a new key in"
                    " RMS (WEB APIサービス) and enter it here.")
        return ("Rakuten refused the licence key or service secret (GA0001): the key was typed"
                " wrong, or was replaced by a newer key in RMS.")
    return str(error)


def on_credentials_failure(session: Session, runtime: Runtime, mailbox: Mailbox,
                           error: MallError, now: datetime) -> str:
    """Stop polling the channel, say why, and mail the admins once. Returns the banner text."""
    state = STATES[error.kind]
    message = explain(mailbox, error, now) + " Polling has stopped; nothing is lost. It resumes where it stopped once new credentials are entered."
    mailbox.change_settings(credentials_state=state)
    queue_alert(session, runtime, mailbox, stage=state, reason=message, now=now,
                key_date=now.date().isoformat())
    return message


def check_connection(mailbox: Mailbox, source: MallSource, now: datetime) -> ConnectionReport:
    """"Test connection": one plain sentence saying it works, or what is wrong."""
    try:
        message = source.check(now=now)
    except MallError as exc:
        if exc.kind in STATES:
            return ConnectionReport(False, explain(mailbox, exc, now))
        return ConnectionReport(False, str(exc))
    return ConnectionReport(True, message)


def license_check_due(mailbox: Mailbox, now: datetime) -> bool:
    if mailbox.kind != MailboxKind.RAKUTEN:
        return False
    checked = (mailbox.settings or {}).get("license_checked_at")
    return not checked or now - datetime.fromisoformat(checked) >= CHECK_EVERY


def record_license_expiry(session: Session, runtime: Runtime, mailbox: Mailbox,
                          expiry: datetime, now: datetime) -> OutboxItem | None:
    """Store the key's expiry on the channel and queue the 14- or 3-day warning when it is near."""
    mailbox.change_settings(license_expires_at=expiry.isoformat(), license_checked_at=now.isoformat())
    left = expiry - now
    if left <= timedelta(0):
        return None
    crossed = [d for d in rakuten_facts.EXPIRY_WARN_DAYS if left <= timedelta(days=d)]
    if not crossed:
        return None
    days = min(crossed)
    return queue_alert(session, runtime, mailbox, stage=f"{days}d", now=now,
                       key_date=expiry.date().isoformat(), expiry=expiry, days_left=left.days)


def queue_alert(session: Session, runtime: Runtime, mailbox: Mailbox, *, stage: str, now: datetime,
                key_date: str, reason: str = "", expiry: datetime | None = None,
                days_left: int | None = None) -> OutboxItem | None:
    """One alert mail per channel + stage + date (expiry date, or the day it broke), to the admins."""
    admins = list(session.scalars(select(User.email).where(User.role == Role.ADMIN, User.active)
                                  .order_by(User.email)))
    if not admins:
        log.warning("no active admin to warn about mailbox %s credentials", mailbox.id)
        return None
    values = {"mailbox": mailbox.name, "stage": stage, "reason": reason, "days_left": days_left,
              "expiry": _jst(expiry.isoformat()) if expiry else ""}
    msg = EmailMessage()
    msg["Subject"] = _env.get_template("credential_alert_subject.txt").render(values).strip()
    msg["From"] = runtime.settings.alert_from_address
    msg["To"] = ", ".join(admins)
    msg["Date"] = formatdate(now.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(domain="inbox.alerts")
    msg.set_content(_env.get_template("credential_alert_body.txt").render(values), cte="base64")
    return outbox.enqueue(
        session, kind=ALERT_KIND, idempotency_key=f"{ALERT_KIND}:{mailbox.id}:{stage}:{key_date}",
        now=now, mail_from=runtime.settings.alert_from_address, recipients=admins,
        raw=msg.as_bytes(policy=SMTP), mailbox_id=mailbox.id, payload={"stage": stage})


def _jst(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(rakuten_facts.JST).strftime("%Y-%m-%d %H:%M")


# -- the admin form's validation and "test connection" ------------------------------------------


def validate_rakuten(settings: Mapping[str, Any]) -> None:
    shop = str(settings.get("shop_id") or "").strip()
    if not shop.isdigit():
        raise InvalidSetting("The Rakuten shop ID is a number (店舗ID), e.g. 999999.", "shop_id")
    mall_complete.check_setting(settings)


def validate_yahoo(settings: Mapping[str, Any]) -> None:
    if not str(settings.get("seller_id") or "").strip():
        raise InvalidSetting("The Yahoo! seller ID (ストアアカウント) is required.", "seller_id")
    mall_complete.check_setting(settings)


def check(mailbox: Mailbox, box: SecretBox, result: CheckResult, timeout: float,
          env: MallEnv | None = None) -> None:
    """The mailbox-check entry: one request or two to the mall, plain words either way.

    ``env`` is the runtime's (``mall_rate.env_for``): the requests take their turn in the
    account's database-kept limit like polling's, so a test never breaks one request a second.
    """
    result.target = f"{mailbox.kind.value} {(mailbox.settings or {}).get('shop_id') or (mailbox.settings or {}).get('seller_id') or ''}".strip()
    try:
        source = connect(mailbox.kind.value, mailbox.settings or {}, box.open(mailbox.secret_encrypted),
                         replace(env or MallEnv(), timeout=timeout, retries=0))
    except MallError as exc:
        result.problem(mailbox.kind.value, "config", str(exc))
        return
    report = check_connection(mailbox, source, datetime.now(UTC))
    if report.ok:
        result.logged_in = True
        result.notes.append(report.message)
    else:
        result.problem(mailbox.kind.value, "login", report.message)


BLOCKING_STATES = ("expired", "invalid", "reconsent")  # credentials_state values that stop polling


def open_source(runtime: Runtime, mailbox: Mailbox) -> MallSource:
    """The connector of a mall mailbox, with its secrets opened; rotated tokens are stored sealed."""
    mailbox_id = mailbox.id

    def store_secrets(changes: dict[str, Any]) -> None:
        with runtime.Session() as session:
            box = session.get(Mailbox, mailbox_id)
            update_secrets(box, runtime.secrets, changes)
            session.commit()

    secrets = runtime.secrets.open(mailbox.secret_encrypted)
    return runtime.seams.mall(mailbox.kind.value, mailbox.settings or {}, secrets, mall_rate.env_for(runtime),
                              on_secrets=store_secrets)


def credentials_blocked(mailbox: Mailbox) -> str | None:
    """Why polling is stopped for this channel's credentials, or None."""
    state = (mailbox.settings or {}).get("credentials_state")
    return state if state in BLOCKING_STATES else None


# -- access refused for a deployment reason (Yahoo! px-04102 signature, px-04306 IP): pause ------

PAUSE_KINDS = ("signature", "ip_not_allowed")
PAUSE_FIRST = timedelta(minutes=15)  # then doubled after each failed retry, up to PAUSE_MAX
PAUSE_MAX = timedelta(hours=6)
_NOT_ACCESS = ("mall_pause", "license_checked_at", "license_expires_at")  # settings that are state
_TOKENS = ("access_token", "access_token_expires_at")  # rotated by the connector itself


def access_fingerprint(mailbox: Mailbox, box: SecretBox) -> str:
    """A digest of what an admin can change to fix access (settings and secrets, not tokens)."""
    settings = {k: v for k, v in (mailbox.settings or {}).items() if k not in _NOT_ACCESS}
    secrets = {k: v for k, v in box.open(mailbox.secret_encrypted).items() if k not in _TOKENS}
    text = json.dumps([settings, secrets], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def pause_polling(session: Session, runtime: Runtime, mailbox: Mailbox, error: MallError,
                  now: datetime) -> str:
    """The mall refuses this server (signature or IP): poll again only after a back-off or a change.

    The admins get one mail per outage (the outage is marked notified, so the mailbox-health mail
    does not follow). Returns the plain-words reason.
    """
    fingerprint = access_fingerprint(mailbox, runtime.secrets)
    previous = (mailbox.settings or {}).get("mall_pause") or {}
    same = previous.get("fingerprint") == fingerprint and previous.get("kind") == error.kind
    since = previous["since"] if same else now.isoformat()
    tries = int(previous.get("tries", 0)) + 1 if same else 1
    wait = min(PAUSE_FIRST * 2 ** (tries - 1), PAUSE_MAX)
    where = yahoo_facts.REGISTER_KEY_WHERE if error.kind == "signature" else yahoo_facts.REGISTER_IP_WHERE
    mailbox.change_settings(mall_pause={
        "kind": error.kind, "code": error.code, "since": since, "tries": tries, "where": where,
        "until": (now + wait).isoformat(), "fingerprint": fingerprint})
    reason = (f"{error} Register it at: {where}. Polling pauses until"
              f" {_jst((now + wait).isoformat())} JST or until the channel's settings change.")
    outage = session.get(MailboxOutage, mailbox.id)
    if outage is None:
        outage = MailboxOutage(mailbox_id=mailbox.id, since=now, failed_polls=0)
        session.add(outage)
    if outage.notified_at is None:
        queue_alert(session, runtime, mailbox, stage=error.kind, reason=reason, now=now, key_date=since)
        outage.notified_at = now
    return reason


def pause_of(mailbox: Mailbox, box: SecretBox, now: datetime) -> Mapping[str, Any] | None:
    """The pause in force on this channel: None once its back-off has passed or its settings changed."""
    pause = (mailbox.settings or {}).get("mall_pause")
    if not pause:
        return None
    if now >= datetime.fromisoformat(pause["until"]) or pause.get("fingerprint") != access_fingerprint(mailbox, box):
        return None
    return pause


def end_pause(mailbox: Mailbox) -> None:
    """The mall answered: forget the pause (a later refusal starts a new outage)."""
    if (mailbox.settings or {}).get("mall_pause"):
        mailbox.change_settings(mall_pause=None)

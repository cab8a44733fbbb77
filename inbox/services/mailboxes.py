"""Mailbox settings: create, validate and update mailboxes, keep their secrets sealed, build connection settings.

Knows nothing of the web or of polling. Connection settings live in ``Mailbox.settings``
(plain JSON); passwords and tokens only in ``Mailbox.secret_encrypted`` (see inbox.crypto).
Each mailbox kind may register a settings validator in ``SETTINGS_VALIDATORS`` (the Rakuten
and Yahoo modules add theirs with ``register_validator``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from inbox.crypto import SecretBox
from inbox.models import Mailbox, MailboxKind, MailboxMember, Status, Thread
from inbox.services.errors import InvalidInput, NotFound
from inbox.sources.imap import ImapConfigError, ImapSettings, is_loopback_host

SECRET_KEYS = frozenset(
    {
        "imap_password",
        "smtp_password",
        "service_secret",
        "license_key",
        "client_secret",
        "refresh_token",
        "access_token",
    }
)
SMTP_SECURITY_MODES = ("ssl", "starttls", "plain")
OUTBOUND_CHARSETS = ("utf-8", "iso-2022-jp")
# Mailbox columns a caller may set besides name, kind, address and settings.
EDITABLE_FIELDS = frozenset(
    {
        "display_name",
        "active",
        "poll_interval_seconds",
        "timezone",
        "signature",
        "status_after_reply",
        "outbound_charset",
    }
)


class InvalidSetting(InvalidInput):
    """A mailbox setting is unusable; ``field`` names the settings key (None: the whole form)."""

    def __init__(self, message: str, field: str | None = None, **params: object) -> None:
        super().__init__(message, **params)
        self.field = field


# --- validation ----------------------------------------------------------------------------


def _imap_from(settings: Mapping[str, Any], *, password: str, username: str) -> ImapSettings:
    folders = settings.get("folders") or ["INBOX"]
    if isinstance(folders, str):
        folders = [f.strip() for f in folders.split(",") if f.strip()]
    security = settings.get("imap_security") or "ssl"
    port = settings.get("imap_port") or (993 if security == "ssl" else 143)
    try:
        port = int(port)
    except (TypeError, ValueError) as exc:
        raise ImapConfigError("IMAP port %(port)s is not a valid port number.", port=repr(port)) from exc
    return ImapSettings(
        host=settings.get("imap_host") or "",
        port=port,
        security=security,
        username=settings.get("imap_username") or username,
        password=password,
        folders=tuple(folders),
        sent_folder=settings.get("sent_folder", "Sent") or None,
        after_fetch=settings.get("after_fetch") or "leave",
        move_to=settings.get("move_to") or None,
        timeout=float(settings.get("timeout", 30)),
    )


_IMAP_FIELD_HINTS = (
    ("host name", "imap_host"),
    ("port", "imap_port"),
    ("Unencrypted", "imap_security"),
    ("security", "imap_security"),
    ("after-fetch", "after_fetch"),
    ("move mail to", "move_to"),
    ("folders", "folders"),
)


def _validate_imap(settings: Mapping[str, Any]) -> None:
    try:
        _imap_from(settings, password="", username="")
    except ImapConfigError as exc:
        text = str(exc)
        field = next((f for hint, f in _IMAP_FIELD_HINTS if hint in text), None)
        raise InvalidSetting(exc.message, field, **exc.params) from exc
    _validate_smtp(settings)


def _validate_smtp(settings: Mapping[str, Any]) -> None:
    """SMTP settings follow the IMAP rules: TLS unless the server is on this machine."""
    host = (settings.get("smtp_host") or "").strip()
    if not host:
        return
    security = settings.get("smtp_security") or "starttls"
    if security not in SMTP_SECURITY_MODES:
        raise InvalidSetting(
            "Unknown SMTP security %(security)r: use ssl, starttls or plain.", "smtp_security", security=security
        )
    try:
        port = int(settings.get("smtp_port") or 0)
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise InvalidSetting("The SMTP port is not a valid port number.", "smtp_port")
    if security == "plain" and not is_loopback_host(host):
        raise InvalidSetting(
            "Unencrypted SMTP to %(host)s is not allowed: the password and the mail would cross"
            " the network in clear text. Use ssl or starttls (plain is only for localhost).",
            "smtp_security",
            host=host,
        )


def _validate_local(settings: Mapping[str, Any]) -> None:
    if not str(settings.get("path") or "").strip():
        raise InvalidSetting(
            "A local mailbox needs the path of a Maildir, an mbox file or a folder of .eml files.",
            "path",
        )
    _validate_smtp(settings)  # replies go out by SMTP like an IMAP mailbox's


def _(text: str) -> str:
    """Marks a text for the translation catalogue; the web layer translates it."""
    return text


def check_address(address: str | None) -> str | None:
    """The mailbox's own address, trimmed; None for none. Raises InvalidSetting when it is not
    a mail address (replies go out From: it)."""
    from email_validator import EmailNotValidError, validate_email

    address = (address or "").strip()
    if not address:
        return None
    try:
        validate_email(  # syntax only; internal names such as support@mailhost pass, as does .test
            address, check_deliverability=False, allow_smtputf8=False,
            globally_deliverable=False, test_environment=True,
        )
    except EmailNotValidError as exc:
        raise InvalidSetting(
            _("This is not a mail address. Replies are sent from it, so it must look like support@example.jp."),
            "address",
        ) from exc
    return address


SETTINGS_VALIDATORS: dict[MailboxKind, Callable[[Mapping[str, Any]], None]] = {
    MailboxKind.IMAP: _validate_imap,
    MailboxKind.LOCAL: _validate_local,
}


def register_validator(kind: MailboxKind, validator: Callable[[Mapping[str, Any]], None]) -> None:
    """Let a mailbox kind check its settings; the validator raises ``InvalidSetting``."""
    SETTINGS_VALIDATORS[kind] = validator


def validate_settings(kind: MailboxKind | str, settings: Mapping[str, Any]) -> None:
    """Raise ``InvalidSetting`` (a plain-words message and the settings key) when unusable."""
    leaked = SECRET_KEYS & set(settings)
    if leaked:
        raise InvalidSetting("%(key)s is a secret and must be given as a secret.", key=sorted(leaked)[0])
    validator = SETTINGS_VALIDATORS.get(MailboxKind(kind))
    if validator is not None:
        validator(settings)
    from inbox.services import auto_ack  # here: auto_ack reaches ingest and the outbox

    problem = auto_ack.settings_problem(dict(settings))
    if problem is not None:
        message, key, params = problem
        raise InvalidSetting(message, key, **params)


def _check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInput("Unknown mailbox field %(field)s.", field=sorted(unknown)[0])
    out = dict(fields)
    if "status_after_reply" in out:
        out["status_after_reply"] = Status(out["status_after_reply"])
    if out.get("outbound_charset", "utf-8") not in OUTBOUND_CHARSETS:
        raise InvalidSetting("The outbound charset must be utf-8 or iso-2022-jp.", "outbound_charset")
    if "poll_interval_seconds" in out and int(out["poll_interval_seconds"]) < 10:
        raise InvalidSetting("Poll at most every 10 seconds.", "poll_interval_seconds")
    return out


def _check_name(session: Session, name: str, *, except_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise InvalidSetting("A mailbox needs a name.", "name")
    other = session.scalar(select(Mailbox.id).where(Mailbox.name == name))
    if other is not None and other != except_id:
        raise InvalidSetting("A mailbox named %(name)s already exists.", "name", name=name)
    return name


# --- create and update ---------------------------------------------------------------------


def create_mailbox(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    kind: MailboxKind | str,
    address: str | None = None,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    member_ids: Iterable[int] = (),
    now: datetime | None = None,
    **fields: Any,
) -> Mailbox:
    """Add a mailbox; settings are validated and secrets sealed before they reach the row.

    A refresh token among the secrets records ``consent_at`` = ``now`` (needed then).

    Raises ``InvalidSetting`` with a plain-words message. Flushes, does not commit.
    """
    name = _check_name(session, name)
    address = check_address(address)
    settings = {k: v for k, v in (settings or {}).items() if v is not None}
    if (secrets or {}).get(CONSENT_SECRET) and "consent_at" not in settings:
        settings["consent_at"] = _consent_time(now)  # a given consent_at (an import) is kept
    validate_settings(kind, settings)
    mailbox = Mailbox(
        name=name,
        kind=MailboxKind(kind),
        address=address or None,
        settings=settings,
        **_check_fields(fields),
    )
    secrets = {k: v for k, v in (secrets or {}).items() if v}
    mailbox.secret_encrypted = box.seal(secrets) if secrets else None
    session.add(mailbox)
    session.flush()
    set_members(session, mailbox, member_ids)
    return mailbox


def update_mailbox(
    session: Session,
    box: SecretBox,
    mailbox: Mailbox,
    *,
    name: str | None = None,
    address: str | None = None,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    member_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Mailbox:
    """Change a mailbox. ``settings`` are merged over the stored ones (None removes a key);
    an empty secret keeps the stored one; a new refresh token records ``consent_at`` = ``now``
    (``enter_secrets``). Raises ``InvalidSetting``; does not commit."""
    if name is not None:
        mailbox.name = _check_name(session, name, except_id=mailbox.id)
    if address is not None:
        mailbox.address = check_address(address)
    if settings is not None:
        merged = {**(mailbox.settings or {}), **settings}
        merged = {k: v for k, v in merged.items() if v is not None}
        validate_settings(mailbox.kind, merged)
        mailbox.settings = merged
    for key, value in _check_fields(fields).items():
        setattr(mailbox, key, value)
    if secrets:
        enter_secrets(mailbox, box, secrets, now=now)
    if member_ids is not None:
        set_members(session, mailbox, member_ids)
    session.flush()
    return mailbox


def set_members(session: Session, mailbox: Mailbox, user_ids: Iterable[int]) -> None:
    """Make exactly ``user_ids`` the members of ``mailbox`` (who may see its threads)."""
    wanted = set(user_ids)
    for member in list(mailbox.members):
        if member.user_id not in wanted:
            mailbox.members.remove(member)
    have = {m.user_id for m in mailbox.members}
    for user_id in sorted(wanted - have):
        mailbox.members.append(MailboxMember(mailbox_id=mailbox.id, user_id=user_id))
    session.flush()


CONSENT_SECRET = "refresh_token"  # entered by a person: the OAuth consent was given then


def enter_secrets(
    mailbox: Mailbox, box: SecretBox, changes: Mapping[str, Any], *, now: datetime | None
) -> dict[str, Any]:
    """Secrets a person entered (admin form, CLI, consent flow, ``replace_secrets``): seal the
    non-empty ones; a refresh token among them records ``consent_at`` = ``now`` in the settings
    (the Yahoo! consent lapses 28 days later). The one way every such path goes; tokens the
    connectors rotate themselves go through ``update_secrets`` and keep the consent time.
    Returns the secrets that were given."""
    given = {k: v for k, v in changes.items() if v}
    if given:
        update_secrets(mailbox, box, given)
    if given.get(CONSENT_SECRET):
        mailbox.change_settings(consent_at=_consent_time(now))
    return given


def _consent_time(now: datetime | None) -> str:
    if now is None:  # a programming error, not an input one: say when the token was entered
        raise TypeError("now is needed to record when a refresh token (consent) was entered")
    return now.isoformat()


def update_secrets(mailbox: Mailbox, box: SecretBox, changes: Mapping[str, Any]) -> None:
    """Replace the given secrets; an empty value leaves the stored one as it is. Tokens rotated
    by a connector come this way; what a person enters goes through ``enter_secrets``."""
    current = box.open(mailbox.secret_encrypted)
    current.update({k: v for k, v in changes.items() if v})
    mailbox.secret_encrypted = box.seal(current) if current else None


def has_secret(mailbox: Mailbox, box: SecretBox, key: str) -> bool:
    return bool(box.open(mailbox.secret_encrypted).get(key))


def get_mailbox(session: Session, *, name: str | None = None, id: int | None = None) -> Mailbox:
    """The mailbox with this name or id; ``NotFound`` otherwise."""
    if id is not None:
        mailbox = session.get(Mailbox, id)
    else:
        mailbox = session.scalar(select(Mailbox).where(Mailbox.name == name))
    if mailbox is None:
        raise NotFound("There is no mailbox %(name)s.", name=name if id is None else "#" + str(id))
    return mailbox


# --- connection settings -------------------------------------------------------------------


def imap_settings(mailbox: Mailbox, box: SecretBox, **overrides: Any) -> ImapSettings:
    """The IMAP connection settings of ``mailbox`` (raises ImapConfigError when incomplete)."""
    password = box.open(mailbox.secret_encrypted).get("imap_password", "")
    values = _imap_from(mailbox.settings or {}, password=password, username=mailbox.address or "")
    return replace(values, **overrides) if overrides else values


@dataclass(frozen=True)
class SmtpConnection:
    """Where and how replies of a mailbox leave.

    The fields are those of ``inbox.senders.smtp.SmtpSettings``: a sender builds one with
    ``SmtpSettings(**dataclasses.asdict(conn))`` (services do not import the senders).
    """

    host: str
    port: int
    security: str
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # never show the password
        return f"SmtpConnection({self.host}:{self.port}, {self.security}, {self.username!r})"


def smtp_connection(mailbox: Mailbox, box: SecretBox) -> SmtpConnection | None:
    """The mailbox's SMTP settings for replies, or None when it has none."""
    s = mailbox.settings or {}
    host = (s.get("smtp_host") or "").strip()
    if not host:
        return None
    security = s.get("smtp_security") or "starttls"
    default_port = {"ssl": 465, "starttls": 587}.get(security, 25)
    return SmtpConnection(
        host=host,
        port=int(s.get("smtp_port") or default_port),
        security=security,
        username=s.get("smtp_username") or None,
        password=box.open(mailbox.secret_encrypted).get("smtp_password") or None,
    )


# --- overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxSummary:
    id: int
    name: str
    kind: str
    address: str | None
    active: bool
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    open_threads: int
    total_threads: int


def mailbox_overview(session: Session) -> list[MailboxSummary]:
    """Every mailbox with its poll health and thread counts (open = not resolved), by name."""
    counts = (
        select(
            Thread.mailbox_id,
            func.count().label("total"),
            func.sum(case((Thread.status != Status.RESOLVED, 1), else_=0)).label("open"),
        )
        .group_by(Thread.mailbox_id)
        .subquery()
    )
    rows = session.execute(
        select(Mailbox, counts.c.total, counts.c.open)
        .outerjoin(counts, counts.c.mailbox_id == Mailbox.id)
        .order_by(Mailbox.name)
    )
    return [
        MailboxSummary(
            id=m.id,
            name=m.name,
            kind=m.kind.value,
            address=m.address,
            active=m.active,
            last_success_at=m.last_success_at,
            last_error=m.last_error,
            last_error_at=m.last_error_at,
            open_threads=int(open_ or 0),
            total_threads=int(total or 0),
        )
        for m, total, open_ in rows
    ]

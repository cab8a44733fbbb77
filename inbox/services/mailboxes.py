"""Mailbox settings: create and update mailboxes, keep their secrets sealed, build connection settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.crypto import SecretBox
from inbox.models import Mailbox, MailboxKind
from inbox.services.errors import InvalidInput
from inbox.sources.imap import ImapSettings

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


def create_mailbox(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    kind: MailboxKind | str,
    address: str | None = None,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Mailbox:
    """Add a mailbox; secrets are sealed before they reach the row. Flushes, does not commit."""
    name = name.strip()
    if not name:
        raise InvalidInput("A mailbox needs a name.")
    if session.scalar(select(Mailbox.id).where(Mailbox.name == name)) is not None:
        raise InvalidInput(f"A mailbox named {name} already exists.")
    leaked = SECRET_KEYS & set(settings or {})
    if leaked:
        raise InvalidInput(f"{sorted(leaked)[0]} is a secret and must be given as a secret.")
    mailbox = Mailbox(
        name=name, kind=MailboxKind(kind), address=address, settings=dict(settings or {}), **fields
    )
    mailbox.secret_encrypted = box.seal(dict(secrets)) if secrets else None
    session.add(mailbox)
    session.flush()
    return mailbox


def update_secrets(mailbox: Mailbox, box: SecretBox, changes: Mapping[str, Any]) -> None:
    """Replace the given secrets; an empty value leaves the stored one as it is."""
    current = box.open(mailbox.secret_encrypted)
    current.update({k: v for k, v in changes.items() if v})
    mailbox.secret_encrypted = box.seal(current) if current else None


def has_secret(mailbox: Mailbox, box: SecretBox, key: str) -> bool:
    return bool(box.open(mailbox.secret_encrypted).get(key))


def imap_settings(mailbox: Mailbox, box: SecretBox, **overrides: Any) -> ImapSettings:
    """The IMAP connection settings of ``mailbox`` (raises ImapConfigError when incomplete)."""
    s = mailbox.settings or {}
    folders = s.get("folders") or ["INBOX"]
    if isinstance(folders, str):
        folders = [f.strip() for f in folders.split(",") if f.strip()]
    values: dict[str, Any] = dict(
        host=s.get("imap_host", ""),
        port=int(s.get("imap_port") or (993 if s.get("imap_security", "ssl") == "ssl" else 143)),
        security=s.get("imap_security", "ssl"),
        username=s.get("imap_username") or mailbox.address or "",
        password=box.open(mailbox.secret_encrypted).get("imap_password", ""),
        folders=tuple(folders),
        sent_folder=s.get("sent_folder", "Sent") or None,
        after_fetch=s.get("after_fetch", "leave"),
        move_to=s.get("move_to") or None,
        timeout=float(s.get("timeout", 30)),
    )
    values.update(overrides)
    return ImapSettings(**values)

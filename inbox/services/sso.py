"""Single sign-on accounts: which verified mail address a provider's validated ID token proves,
the user it names, and creating that user when config.toml allows it.

A user is matched by a *verified* mail address only (never by name, ``sub`` or
``preferred_username``):

- Google: ``email_verified`` must be true; with ``hosted_domain`` set, the ``hd`` claim (present
  only for Google Workspace accounts) must equal it.
- Microsoft Entra ID: the ``tid`` claim must be the tenant named in the configured issuer, and the
  address must be verified: ``email_verified`` true, or the optional claim ``xms_edov`` true (the
  domain of the address is verified by the tenant). Entra's plain ``email`` claim is otherwise
  editable by users and guests, so an address without either flag is refused; add ``email`` and
  ``xms_edov`` as optional claims of the app registration.

The ID token itself (signature, iss, aud, exp, nonce) is checked before, by ``inbox.oidc``.
Knows nothing of Flask or HTTP; flushes, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.config import SsoProvider, SsoSettings
from inbox.models import Mailbox, User
from inbox.services.accounts import create_user
from inbox.services.errors import SsoRefused


@dataclass(frozen=True)
class SsoLogin:
    user: User
    created: bool


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def verified_email(provider: SsoProvider, claims: dict[str, Any]) -> str:
    """The lower-cased address the claims prove; raises SsoRefused if none is proven."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise SsoRefused("no_email", "The provider did not send a mail address.")
    email = email.strip().lower()
    if provider.kind == "entra":
        if claims.get("tid") != provider.tenant:
            raise SsoRefused("tenant", "The account belongs to another organisation.")
        verified = _true(claims.get("email_verified")) or _true(claims.get("xms_edov"))
    else:
        verified = _true(claims.get("email_verified"))
        if provider.hosted_domain and str(claims.get("hd", "")).lower() != provider.hosted_domain:
            raise SsoRefused("domain", "The account belongs to another organisation.")
    if not verified:
        raise SsoRefused("unverified", "The provider has not verified this mail address.")
    return email


def log_in(
    session: Session, provider: SsoProvider, claims: dict[str, Any], *, settings: SsoSettings,
    now: datetime,
) -> SsoLogin:  # fmt: skip
    """The active user with the verified address, created first when auto-creation is on.

    Raises SsoRefused: unverified address, unknown user (auto-creation off), disabled user.
    """
    email = verified_email(provider, claims)
    user = session.scalar(select(User).where(User.email == email))
    created = False
    if user is None:
        if not settings.auto_create:
            raise SsoRefused("unknown_user", "No user has this mail address. Ask an administrator to invite you.")
        boxes = []
        if settings.default_mailboxes:
            boxes = list(session.scalars(select(Mailbox.id).where(Mailbox.name.in_(settings.default_mailboxes))))
        name = claims.get("name")
        user = create_user(
            session, email=email, name=str(name)[:120] if isinstance(name, str) else email,
            role=settings.default_role, mailbox_ids=boxes,
        )  # fmt: skip
        created = True
    if not user.active:
        raise SsoRefused("disabled", "This user is disabled.")
    user.last_login_at = now
    session.flush()
    return SsoLogin(user, created)

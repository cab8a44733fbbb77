"""REST API tokens: personal and service tokens, their rate limit, and idempotency keys.

A token is ``inbox_`` plus 43 random URL-safe characters; only its SHA-256 is stored, with the
first characters (the prefix) to recognise it in lists. It is shown once, when created. A
personal token acts as its user with that user's role and mailboxes; a service token (made by
an admin) acts as its own account: an inactive user row with the role and mailboxes the admin
chose, which can never log in and is never offered as an assignee or for mentions.

Scopes: ``read`` (GET only) or ``write``. Knows nothing of HTTP.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.models import ApiIdempotency, ApiToken, Mailbox, Role, User
from inbox.services import accounts
from inbox.services.access import require_role
from inbox.services.errors import ConcurrentChange, InvalidInput, NotFound

SCOPES = ("read", "write")
PREFIX = "inbox_"
PREFIX_CHARS = 12
MAX_NAME = 120
MAX_KEY = 255
RATE_WINDOW = timedelta(minutes=1)
SERVICE_DOMAIN = "service.invalid"


def _(message: str) -> str:
    """Mark a message for translation; the web layer translates it when showing it."""
    return message


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token, to show once


def _name(name: str) -> str:
    clean = " ".join((name or "").split())
    if not clean:
        raise InvalidInput(_("Give the token a name."))
    if len(clean) > MAX_NAME:
        raise InvalidInput(_("The name may be at most 120 characters long."))
    return clean


def _scope(scope: str) -> str:
    if scope not in SCOPES:
        raise InvalidInput(_("Choose read or write."))
    return scope


def _issue(session: Session, user: User, name: str, scope: str, *, by: User, service: bool,
           now: datetime) -> NewToken:  # fmt: skip
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=secret[:PREFIX_CHARS], token_hash=hash_token(secret),
        scope=scope, service=service, created_by_id=by.id, created_at=now,
    )  # fmt: skip
    session.add(token)
    session.flush()
    return NewToken(token, secret)


def create_personal(session: Session, user: User, name: str, scope: str, *, now: datetime) -> NewToken:
    """A token acting as ``user``. Raises InvalidInput for an empty name or unknown scope."""
    return _issue(session, user, _name(name), _scope(scope), by=user, service=False, now=now)


def create_service(
    session: Session, *, name: str, scope: str, role: str, mailbox_ids: list[int], by: User,
    now: datetime,
) -> NewToken:  # fmt: skip
    """An admin's service token with its own account (``role``, ``mailbox_ids``).

    Raises PermissionDenied unless ``by`` is an admin, InvalidInput for bad values.
    """
    require_role(by, Role.ADMIN)
    name, scope = _name(name), _scope(scope)
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInput(_("Unknown role.")) from exc
    known = set(session.scalars(select(Mailbox.id).where(Mailbox.id.in_(mailbox_ids))))
    account = accounts.create_user(
        session, email=f"api-{secrets.token_hex(6)}@{SERVICE_DOMAIN}", name=f"API: {name}"[:120],
        role=role, mailbox_ids=sorted(known),
    )  # fmt: skip
    account.active = False
    return _issue(session, account, name, scope, by=by, service=True, now=now)


def personal_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.service.is_(False))
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    ))  # fmt: skip


def service_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(
        select(ApiToken).where(ApiToken.service.is_(True))
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    ))  # fmt: skip


def revoke(session: Session, token_id: int, *, by: User, now: datetime) -> ApiToken:
    """Revoke one of ``by``'s personal tokens, or (admins) a service token. Raises NotFound."""
    token = session.get(ApiToken, token_id)
    mine = token is not None and not token.service and token.user_id == by.id
    admin_service = token is not None and token.service and by.role == Role.ADMIN
    if not (mine or admin_service):
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = now
    return token


def authenticate(session: Session, raw: str, *, now: datetime) -> ApiToken | None:
    """The live token for ``raw``: not revoked, and (personal tokens) its user still active."""
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None or token.revoked_at is not None:
        return None
    if not token.service and not token.user.active:
        return None
    return token


@dataclass(frozen=True)
class RateState:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


def count_request(session: Session, token: ApiToken, *, now: datetime, limit: int) -> RateState:
    """Count one request in the token's fixed one-minute window (shared by every process
    through the database) and say whether it is within ``limit``. Flushes one UPDATE."""
    window = now.replace(second=0, microsecond=0)
    same = ApiToken.rate_window == window
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id)
        .values(
            rate_count=case((same, ApiToken.rate_count + 1), else_=1),
            rate_window=window,
            last_used_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    count = session.scalar(select(ApiToken.rate_count).where(ApiToken.id == token.id)) or 0
    reset = int((window + RATE_WINDOW - now).total_seconds()) or 1
    return RateState(count <= limit, limit, max(limit - count, 0), reset)


# --- idempotency keys ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Remembered:
    status: int
    body: dict[str, Any]


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY or not key.isprintable() or not key.isascii():
        raise InvalidInput(_("The Idempotency-Key header must be 1 to 255 printable ASCII characters."))
    return key


def remembered(session: Session, token: ApiToken, key: str, request_hash: str) -> Remembered | None:
    """The response already given for this key, or None. Raises ConcurrentChange when the key
    was used for a different request."""
    row = session.scalar(
        select(ApiIdempotency).where(ApiIdempotency.token_id == token.id, ApiIdempotency.key == key)
    )
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise ConcurrentChange(_("This Idempotency-Key was already used for a different request."))
    return Remembered(row.status, row.body)


def remember(session: Session, token: ApiToken, key: str, request_hash: str, *, status: int,
             body: dict[str, Any], now: datetime) -> None:  # fmt: skip
    """Store the response for the key in the caller's transaction (a concurrent twin that
    stored first wins: this one's insert is dropped, its effects are idempotent anyway)."""
    try:
        with session.begin_nested():
            session.add(ApiIdempotency(token_id=token.id, key=key, request_hash=request_hash,
                                       status=status, body=body, created_at=now))  # fmt: skip
    except IntegrityError:
        pass


def derived_key(token: ApiToken, key: str) -> str:
    """A stable short key for what the request queues (e.g. a reply's ``reply_key``), so that
    even two concurrent requests with one Idempotency-Key queue one thing."""
    return hashlib.sha256(f"api:{token.id}:{key}".encode()).hexdigest()[:40]

"""User accounts: creation, password hashing, authentication with log-in rate limiting."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import LoginThrottle, MailboxMember, Role, User
from inbox.services.errors import (
    InvalidCredentials,
    InvalidInput,
    LoginThrottled,
    PasswordLoginDisabled,
)
from inbox.services.login_sessions import end_all_sessions

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


# Verified against when the address is unknown, so both paths take the same time. Computed on
# first use: an Argon2 hash costs tens of milliseconds, too much to pay at import time in every
# command that merely imports this module.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("The password must be at least %(n)s characters long.", n=MIN_PASSWORD_LENGTH)
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    """Whether ``password`` is the user's (False for a user without one)."""
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: Role | str = Role.AGENT,
    password: str | None = None,
    language: str = "ja",
    timezone: str = "Asia/Tokyo",
    mailbox_ids: Iterable[int] = (),
) -> User:
    """Add a user (flushes, does not commit). Raises InvalidInput for a taken address."""
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput("Enter a mail address.")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidInput("A user with the address %(email)s already exists.", email=email)
    user = User(
        email=email,
        name=name.strip() or email,
        role=Role(role),
        password_hash=hash_password(password) if password else None,
        language=language,
        timezone=timezone,
    )
    session.add(user)
    session.flush()
    set_mailbox_access(session, user, mailbox_ids)
    return user


def set_mailbox_access(session: Session, user: User, mailbox_ids: Iterable[int]) -> None:
    wanted = set(mailbox_ids)
    user.memberships = [m for m in user.memberships if m.mailbox_id in wanted]
    have = {m.mailbox_id for m in user.memberships}
    for mailbox_id in sorted(wanted - have):
        user.memberships.append(MailboxMember(mailbox_id=mailbox_id, user_id=user.id))
    session.flush()


def set_password(session: Session, user: User, password: str, *, now: datetime) -> None:
    """Change the password; every existing log-in of the user ends. Raises InvalidInput."""
    user.password_hash = hash_password(password)
    end_all_sessions(session, user.id, now=now)


def set_active(session: Session, user: User, active: bool, *, now: datetime) -> None:
    """Enable or disable a user; disabling ends every log-in of the user."""
    if not active:
        end_all_sessions(session, user.id, now=now)
    user.active = active


def _throttle_rows(session: Session, keys: list[str]) -> list[LoginThrottle]:
    return list(session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))))


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    remote_addr: str,
    now: datetime,
    policy: ThrottlePolicy = ThrottlePolicy(),
) -> User:
    """Return the active user with this address and password.

    Failures are counted per address and per network address; after ``max_failures``
    within ``window`` both are locked for ``lockout``, even for the right password.
    Raises LoginThrottled or InvalidCredentials. The caller commits either way.
    """
    email = email.strip().lower()
    keys = [f"addr:{email}", f"ip:{remote_addr}"]
    rows = _throttle_rows(session, keys)
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            raise LoginThrottled("Too many failed log-ins. Wait a few minutes and try again.")
    user = session.scalar(select(User).where(User.email == email))
    ok = False
    try:
        ok = _hasher.verify(
            user.password_hash if user and user.password_hash else _dummy_hash(), password
        )
    except (VerificationError, InvalidHashError):
        ok = False
    if ok and user is not None and user.active and user.password_hash:
        if not user.password_login:
            raise PasswordLoginDisabled("This account logs in through single sign-on only.")
        for row in rows:
            if row.key.startswith("addr:"):
                session.delete(row)
        user.last_login_at = now
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        return user
    count_failures(session, keys, rows, now=now, policy=policy)
    raise InvalidCredentials("Wrong mail address or password.")


def count_failures(
    session: Session, keys: list[str], rows: list[LoginThrottle], *, now: datetime, policy: ThrottlePolicy
) -> None:
    """Count one failed attempt against each key (``rows``: those already stored), locking a key
    for ``policy.lockout`` at ``policy.max_failures`` failures within ``policy.window``. Flushes."""
    by_key = {row.key: row for row in rows}
    for key in keys:
        row = by_key.get(key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_started_at=now)
            session.add(row)
        if now - row.window_started_at > policy.window:
            row.failures, row.window_started_at, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= policy.max_failures:
            row.locked_until = now + policy.lockout
    session.flush()

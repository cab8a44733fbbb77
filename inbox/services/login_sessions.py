"""Log-in sessions kept on the server: open, resume, rotate (remember-me) and end them.

A browser holds ``"<user id>:<token>"`` (in the signed session cookie and, with remember-me,
the remember cookie); the database holds only the token's SHA-256. Knows nothing of Flask
or cookies: the web layer passes the token in and writes what comes back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from inbox.models import LoginSession, User

# Requests already on their way with the old remember token (parallel page loads) still count.
ROTATION_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class Resumed:
    """A valid log-in: the user, and a new token when the old one was rotated."""

    user: User
    token: str
    rotated: bool = False


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(
    session: Session, user: User, *, remember: bool, now: datetime, lifetime: timedelta
) -> str:
    """Record a new log-in for ``user`` ending at ``now + lifetime``; return its raw token.

    Also drops this user's expired and revoked rows. Flushes, does not commit.
    """
    session.execute(
        LoginSession.__table__.delete().where(
            LoginSession.user_id == user.id,
            or_(LoginSession.expires_at < now, LoginSession.revoked_at.is_not(None)),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            user_id=user.id,
            token_hash=_hash(token),
            remember=remember,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def parse_cookie_id(value: str) -> tuple[int, str] | None:
    """Split ``"<user id>:<token>"``; None for anything else (old-style ids included)."""
    user_id, sep, token = value.partition(":")
    if not sep or not token or not user_id.isdigit() or len(user_id) > 18 or len(token) > 128:
        return None
    return int(user_id), token


def _find(session: Session, column: Any, digest: str) -> tuple[LoginSession, User] | None:
    """The log-in and its user by one index probe (token hash, or the previous one)."""
    found = session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(column == digest)
    ).first()
    return (found[0], found[1]) if found else None


def resume(
    session: Session, user_id: int, token: str, *, now: datetime, rotate: bool = False
) -> Resumed | None:
    """The active user whose live log-in has this token, or None.

    With ``rotate`` (a remember-me cookie was used), the token is replaced by a new one that is
    returned; the old one keeps working for ROTATION_GRACE. Flushes, does not commit.
    """
    digest = _hash(token)
    found = _find(session, LoginSession.token_hash, digest) or _find(
        session, LoginSession.previous_hash, digest
    )
    if found is None:
        return None
    row, user = found
    if row.user_id != user_id or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.token_hash != digest and (
        row.rotated_at is None or now - row.rotated_at > ROTATION_GRACE
    ):
        return None
    if not user.active:
        return None
    if not rotate or row.token_hash != digest:
        return Resumed(user, token)
    new = secrets.token_urlsafe(32)
    row.previous_hash, row.token_hash, row.rotated_at = digest, _hash(new), now
    session.flush()
    return Resumed(user, new, rotated=True)


def seconds_left(session: Session, token: str, *, now: datetime) -> int:
    """Whole seconds until the log-in with this (current) token expires; 0 when unknown."""
    expires = session.scalar(
        select(LoginSession.expires_at).where(LoginSession.token_hash == _hash(token))
    )
    return max(int((expires - now).total_seconds()), 0) if expires else 0


def end_session(session: Session, user_id: int, token: str, *, now: datetime) -> None:
    """Revoke the one log-in with this token (log-out). Flushes, does not commit."""
    digest = _hash(token)
    session.execute(
        update(LoginSession)
        .where(
            LoginSession.user_id == user_id,
            or_(LoginSession.token_hash == digest, LoginSession.previous_hash == digest),
        )
        .values(revoked_at=now)
    )


def end_all_sessions(session: Session, user_id: int, *, now: datetime) -> None:
    """End every log-in of the user made so far (password change, deactivation). Flushes."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_other_sessions(session: Session, user_id: int, keep_token: str | None, *, now: datetime) -> None:
    """End every log-in of the user but the one with ``keep_token`` (own password change)."""
    stmt = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None)
    )
    if keep_token:
        stmt = stmt.where(LoginSession.token_hash != _hash(keep_token))
    session.execute(stmt.values(revoked_at=now))

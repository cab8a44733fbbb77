"""Passwords a user sets: strength rules, changing one's own, and single-use links sent by mail.

A link (reset by an admin, or an invited user's first password) is a random token whose SHA-256
alone is stored, valid until it expires or is used once. The mail goes through the outbox as
alert mail. Knows nothing of Flask: the web layer builds the link's address and passes it in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inbox.config import Settings
from inbox.models import AccountToken, User
from inbox.services import accounts, outbox
from inbox.services.alerts import KIND, message_id_for, render_mail
from inbox.services.errors import InvalidCredentials, InvalidInput, NotFound
from inbox.services.login_sessions import end_other_sessions

RESET = "reset"
INVITE = "invite"
LIFETIMES = {RESET: timedelta(hours=2), INVITE: timedelta(days=3)}
_COMMON = frozenset(
    """password passw0rd password1 password123 1234567890 0123456789 qwertyuiop
    1qaz2wsx3edc qwerty1234 abcdefghij iloveyou12 letmein123 welcome123 admin12345
    administrator p@ssw0rd123 changeme12 trustno1234""".split()
)


def check_strength(password: str, *, email: str = "", name: str = "") -> None:
    """Raise InvalidInput unless the password is long and not guessable from the account."""
    if len(password) < accounts.MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "The password must be at least %(n)s characters long.", n=accounts.MIN_PASSWORD_LENGTH
        )
    if len(password) > 1024:
        raise InvalidInput("The password is too long.")
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 5:
        raise InvalidInput("This password is too easy to guess. Choose a longer, less common one.")
    local = email.split("@", 1)[0].lower()
    words = [w for w in (local, email.lower(), name.lower().replace(" ", "")) if len(w) >= 4]
    if any(w in lowered.replace(" ", "") for w in words):
        raise InvalidInput("The password must not contain your name or mail address.")


def change_own(
    session: Session, user: User, *, current: str, new: str, keep_token: str | None, now: datetime
) -> None:
    """Change the user's password after checking the current one.

    Every other log-in of the user ends; the one with ``keep_token`` (this browser) stays.
    Raises InvalidCredentials for a wrong current password, InvalidInput for a weak new one.
    """
    if not accounts.verify_password(user, current):
        raise InvalidCredentials("The current password is wrong.")
    check_strength(new, email=user.email, name=user.name)
    if accounts.verify_password(user, new):
        raise InvalidInput("The new password must differ from the current one.")
    user.password_hash = accounts.hash_password(new)
    end_other_sessions(session, user.id, keep_token, now=now)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(session: Session, user: User, purpose: str, *, now: datetime) -> str:
    """Make a new single-use token for ``user`` (earlier unused ones stop working); return it."""
    if purpose not in LIFETIMES:
        raise InvalidInput("Unknown link purpose.")
    session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    session.flush()
    return token


def mail_link(
    session: Session, user: User, purpose: str, link: str, *, now: datetime, settings: Settings
) -> None:
    """Queue the mail carrying ``link`` to the user through the outbox (alert mail)."""
    key = f"account-link:{user.id}:{purpose}:{now.isoformat()}:{secrets.token_hex(4)}"
    raw = render_mail(
        f"account_{purpose}",
        [user],
        settings=settings,
        now=now,
        message_id=message_id_for(key),
        context={"name": user.name, "link": link, "expires_at": now + LIFETIMES[purpose]},
    )
    outbox.enqueue(
        session,
        kind=KIND,
        idempotency_key=key,
        now=now,
        mail_from=settings.alert_from_address,
        recipients=[user.email],
        raw=raw,
        payload={"account_link": purpose, "user_id": user.id},
    )


def find_link(session: Session, token: str, *, now: datetime) -> tuple[AccountToken, User]:
    """The live link with this token and its active user; NotFound when used, expired or unknown."""
    if not token or len(token) > 128:
        raise NotFound("This link is not valid any more. Ask an administrator for a new one.")
    found = session.execute(
        select(AccountToken, User)
        .join(User, User.id == AccountToken.user_id)
        .where(AccountToken.token_hash == _digest(token))
    ).first()
    if found is None:
        raise NotFound("This link is not valid any more. Ask an administrator for a new one.")
    row, user = found
    if row.used_at is not None or row.expires_at <= now or not user.active:
        raise NotFound("This link is not valid any more. Ask an administrator for a new one.")
    return row, user


def redeem_link(session: Session, token: str, password: str, *, now: datetime) -> tuple[User, str]:
    """Set the password through a link and spend it; every log-in of the user ends.

    Returns the user and the link's purpose. Raises NotFound (used, expired) or InvalidInput.
    The token row is spent with a conditional update, so two uses at once cannot both win.
    """
    row, user = find_link(session, token, now=now)
    check_strength(password, email=user.email, name=user.name)
    spent = session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        raise NotFound("This link is not valid any more. Ask an administrator for a new one.")
    accounts.set_password(session, user, password, now=now)
    return user, row.purpose

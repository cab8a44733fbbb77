"""Two-factor log-in with TOTP: enrolment, code checks (rate-limited, each code once), recovery codes.

The TOTP secret is stored sealed with the app's SecretBox (passed in as ``box``); recovery
codes only as SHA-256. Failed code attempts count in ``login_throttle`` under ``2fa:<user id>``
with the log-in throttle's policy. Knows nothing of Flask or QR images.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inbox.models import LoginThrottle, RecoveryCode, Role, TotpCredential, User
from inbox.services.accounts import ThrottlePolicy, count_failures
from inbox.services.errors import InvalidCredentials, InvalidInput, LoginThrottled

ISSUER = "inbox"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _normal(code: str) -> str:
    """Full-width digits and letters (a Japanese IME) as ASCII, without spaces and dashes."""
    code = unicodedata.normalize("NFKC", code)
    return "".join(code.split()).replace("-", "").lower()


def credential(session: Session, user_id: int) -> TotpCredential | None:
    return session.get(TotpCredential, user_id)


def enabled(session: Session, user_id: int) -> bool:
    cred = credential(session, user_id)
    return cred is not None and cred.confirmed_at is not None


def required(user: User, roles: Iterable[str]) -> bool:
    """Whether the user's role must use two-factor log-in (``security.two_factor_roles``)."""
    return Role(user.role).value in set(roles)


def start_enrolment(session: Session, user: User, box: Any, *, now: datetime) -> str:
    """A new, not yet confirmed secret for the user (replacing an unconfirmed one); returns it.

    Raises InvalidInput when two-factor log-in is already on (turn it off first).
    """
    cred = credential(session, user.id)
    if cred is not None and cred.confirmed_at is not None:
        raise InvalidInput("Two-factor log-in is already on.")
    secret = pyotp.random_base32()
    if cred is None:
        cred = TotpCredential(user_id=user.id, secret_encrypted="", created_at=now)
        session.add(cred)
    cred.secret_encrypted = box.seal({"totp": secret})
    cred.last_step = 0
    session.flush()
    return secret


def pending_secret(session: Session, user: User, box: Any) -> str | None:
    """The unconfirmed secret being enrolled, if any."""
    cred = credential(session, user.id)
    if cred is None or cred.confirmed_at is not None:
        return None
    return box.open(cred.secret_encrypted).get("totp")


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (30 s) within ±1 whose code equals ``code``, else None."""
    code = _normal(code)
    if not (code.isascii() and code.isdigit()) or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step - 1, step, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def confirm_enrolment(session: Session, user: User, box: Any, code: str, *, now: datetime) -> list[str]:
    """Turn two-factor log-in on once ``code`` matches the pending secret; return new recovery codes.

    Raises InvalidInput when nothing is being enrolled or the code does not match.
    """
    cred = credential(session, user.id)
    if cred is None or cred.confirmed_at is not None:
        raise InvalidInput("Start setting up two-factor log-in first.")
    step = _matching_step(box.open(cred.secret_encrypted)["totp"], code, now)
    if step is None:
        raise InvalidInput("The code does not match. Check the time on your phone and try again.")
    cred.confirmed_at, cred.last_step = now, step
    return new_recovery_codes(session, user)


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones; returns them (shown once)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_digest(_normal(raw))))
    session.flush()
    return codes


def recovery_codes_left(session: Session, user_id: int) -> int:
    return len(
        list(
            session.scalars(
                select(RecoveryCode.id).where(
                    RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
                )
            )
        )
    )


def disable(session: Session, user_id: int) -> None:
    """Turn two-factor log-in off: the secret and the recovery codes are gone."""
    session.execute(delete(TotpCredential).where(TotpCredential.user_id == user_id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == f"2fa:{user_id}"))


def verify(
    session: Session, user: User, box: Any, code: str, *, now: datetime, policy: ThrottlePolicy
) -> str:
    """Check a log-in's second factor: a TOTP code (each at most once) or an unused recovery code.

    Returns "totp" or "recovery". Raises LoginThrottled after ``policy.max_failures`` wrong
    codes within ``policy.window`` (for ``policy.lockout``), InvalidCredentials for a wrong one.
    The caller commits either way.
    """
    key = f"2fa:{user.id}"
    row = session.get(LoginThrottle, key)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise LoginThrottled("Too many wrong codes. Wait a few minutes and try again.")
    cred = credential(session, user.id)
    method = None
    if cred is not None and cred.confirmed_at is not None:
        step = _matching_step(box.open(cred.secret_encrypted)["totp"], code, now)
        if step is not None and step > cred.last_step:
            cred.last_step, method = step, "totp"
        elif step is None and len(_normal(code)) == 10 and _normal(code).isascii():
            found = session.scalar(
                select(RecoveryCode).where(
                    RecoveryCode.user_id == user.id,
                    RecoveryCode.code_hash == _digest(_normal(code)),
                    RecoveryCode.used_at.is_(None),
                )
            )
            if found is not None:
                found.used_at, method = now, "recovery"
    if method is not None:
        if row is not None:
            session.delete(row)
        session.flush()
        return method
    count_failures(session, [key], [row] if row is not None else [], now=now, policy=policy)
    raise InvalidCredentials("The code is wrong or was already used.")

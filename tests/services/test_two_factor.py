"""TOTP enrolment and checks: each code once, recovery codes once, wrong codes rate-limited."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from inbox.db import utcnow
from inbox.models import RecoveryCode, TotpCredential
from inbox.services import two_factor
from inbox.services.accounts import ThrottlePolicy
from inbox.services.errors import InvalidCredentials, InvalidInput, LoginThrottled
from tests.factories import make_user

POLICY = ThrottlePolicy(max_failures=3, window=timedelta(minutes=15), lockout=timedelta(minutes=15))


def _enrol(session, runtime, user, now):
    secret = two_factor.start_enrolment(session, user, runtime.secrets, now=now)
    codes = two_factor.confirm_enrolment(
        session, user, runtime.secrets, pyotp.TOTP(secret).at(now), now=now
    )
    return secret, codes


def test_enrolment_needs_a_matching_code_and_keeps_the_secret_sealed(session, runtime):
    user = make_user(session)
    now = utcnow()
    secret = two_factor.start_enrolment(session, user, runtime.secrets, now=now)
    assert secret not in session.get(TotpCredential, user.id).secret_encrypted
    with pytest.raises(InvalidInput):
        two_factor.confirm_enrolment(session, user, runtime.secrets, "000000", now=now)
    assert not two_factor.enabled(session, user.id)
    codes = two_factor.confirm_enrolment(
        session, user, runtime.secrets, pyotp.TOTP(secret).at(now), now=now
    )
    assert two_factor.enabled(session, user.id) and len(codes) == 10
    stored = {r.code_hash for r in session.query(RecoveryCode).filter_by(user_id=user.id)}
    assert not any(c.replace("-", "") in h for c in codes for h in stored)


def test_a_totp_code_works_once(session, runtime):
    user = make_user(session)
    now = utcnow()
    secret, _codes = _enrol(session, runtime, user, now - timedelta(minutes=5))
    code = pyotp.TOTP(secret).at(now)
    assert two_factor.verify(session, user, runtime.secrets, code, now=now, policy=POLICY) == "totp"
    with pytest.raises(InvalidCredentials):
        two_factor.verify(session, user, runtime.secrets, code, now=now, policy=POLICY)


def test_a_recovery_code_works_once(session, runtime):
    user = make_user(session)
    now = utcnow()
    _secret, codes = _enrol(session, runtime, user, now)
    assert two_factor.verify(session, user, runtime.secrets, codes[3].upper(), now=now,
                             policy=POLICY) == "recovery"
    assert two_factor.recovery_codes_left(session, user.id) == 9
    with pytest.raises(InvalidCredentials):
        two_factor.verify(session, user, runtime.secrets, codes[3], now=now, policy=POLICY)


def test_wrong_codes_lock_even_the_right_one_out(session, runtime):
    user = make_user(session)
    now = utcnow()
    secret, codes = _enrol(session, runtime, user, now - timedelta(minutes=5))
    for bad in ("123456", "abcde-fghij", "999999"):
        with pytest.raises(InvalidCredentials):
            two_factor.verify(session, user, runtime.secrets, bad, now=now, policy=POLICY)
    with pytest.raises(LoginThrottled):
        two_factor.verify(session, user, runtime.secrets, pyotp.TOTP(secret).at(now), now=now,
                          policy=POLICY)
    later = now + POLICY.lockout + timedelta(seconds=1)
    assert two_factor.verify(session, user, runtime.secrets, codes[0], now=later,
                             policy=POLICY) == "recovery"


def test_disable_removes_secret_and_codes(session, runtime):
    user = make_user(session)
    _enrol(session, runtime, user, utcnow())
    two_factor.disable(session, user.id)
    assert not two_factor.enabled(session, user.id)
    assert two_factor.recovery_codes_left(session, user.id) == 0

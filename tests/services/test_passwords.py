"""Own passwords: strength rules, changing one's own, and single-use, expiring links sent by mail."""

from __future__ import annotations

import email
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import AccountToken, LoginSession, OutboxItem, Role
from inbox.services import accounts, login_sessions, passwords
from inbox.services.errors import InvalidCredentials, InvalidInput, NotFound
from tests.factories import PASSWORD, make_user

NEW = "a much better passphrase 42"


@pytest.mark.parametrize(
    "weak",
    ["short1", "password123", "aaaaaaaaaaaaaa", "taro.yamada-2026!", "1234567890"],
)
def test_weak_passwords_are_refused(weak):
    with pytest.raises(InvalidInput):
        passwords.check_strength(weak, email="taro.yamada@example.test", name="Taro")


def test_changing_own_password_needs_the_current_one(session):
    user = make_user(session)
    with pytest.raises(InvalidCredentials):
        passwords.change_own(session, user, current="wrong one!!", new=NEW, keep_token=None,
                             now=utcnow())
    assert accounts.verify_password(user, PASSWORD)


def test_changing_own_password_ends_other_log_ins_but_not_this_one(session):
    user = make_user(session)
    now = utcnow()
    here = login_sessions.open_session(session, user, remember=False, now=now,
                                       lifetime=timedelta(days=1))
    there = login_sessions.open_session(session, user, remember=False, now=now,
                                        lifetime=timedelta(days=1))
    passwords.change_own(session, user, current=PASSWORD, new=NEW, keep_token=here, now=now)
    assert accounts.verify_password(user, NEW)
    assert login_sessions.resume(session, user.id, here, now=now) is not None
    assert login_sessions.resume(session, user.id, there, now=now) is None


def _mailed_link(session, user) -> str:
    item = session.scalars(
        select(OutboxItem).where(OutboxItem.recipients.is_not(None)).order_by(OutboxItem.id.desc())
    ).first()
    assert item is not None and item.recipients == [user.email]
    body = email.message_from_bytes(item.raw).get_payload(decode=True).decode()
    return re.search(r"https?://\S+", body).group(0)


def test_a_reset_link_is_mailed_through_the_outbox_and_works_once(session, runtime):
    user = make_user(session)
    now = utcnow()
    token = passwords.issue_link(session, user, passwords.RESET, now=now)
    passwords.mail_link(session, user, passwords.RESET, f"http://inbox.test/account/reset/{token}",
                        now=now, settings=runtime.settings)
    assert _mailed_link(session, user).endswith(token)
    stored = session.scalar(select(AccountToken).where(AccountToken.user_id == user.id))
    assert token not in stored.token_hash  # only the hash is kept
    passwords.redeem_link(session, token, NEW, now=now)
    assert accounts.verify_password(user, NEW)
    with pytest.raises(NotFound):
        passwords.redeem_link(session, token, "another passphrase 77", now=now)
    assert accounts.verify_password(user, NEW)


def test_a_reset_link_expires(session):
    user = make_user(session)
    now = utcnow()
    token = passwords.issue_link(session, user, passwords.RESET, now=now)
    later = now + passwords.LIFETIMES[passwords.RESET] + timedelta(seconds=1)
    with pytest.raises(NotFound):
        passwords.redeem_link(session, token, NEW, now=later)
    assert accounts.verify_password(user, PASSWORD)


def test_a_new_link_voids_the_earlier_one(session):
    user = make_user(session)
    now = utcnow()
    first = passwords.issue_link(session, user, passwords.RESET, now=now)
    passwords.issue_link(session, user, passwords.RESET, now=now)
    with pytest.raises(NotFound):
        passwords.find_link(session, first, now=now)


def test_an_invited_user_sets_the_first_password_and_other_log_ins_end(session):
    user = make_user(session, Role.AGENT, password=None)
    assert user.password_hash is None
    now = utcnow()
    token = passwords.issue_link(session, user, passwords.INVITE, now=now)
    with pytest.raises(InvalidInput):
        passwords.redeem_link(session, token, "password123", now=now)
    passwords.redeem_link(session, token, NEW, now=now)
    assert accounts.verify_password(user, NEW)
    assert session.scalar(select(LoginSession).where(LoginSession.revoked_at.is_(None),
                                                     LoginSession.user_id == user.id)) is None

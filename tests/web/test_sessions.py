"""Sessions end when they should: log-out, password change, deactivation, remember-me limits; headers."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from inbox import create_app
from inbox.config import ConfigError, load_settings
from inbox.db import utcnow
from inbox.models import LoginSession, Role
from tests.conftest import ENCRYPTION_KEY, base_config
from tests.factories import PASSWORD, csrf_token, login_as, logout, make_user


def login_remembered(client, user):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token, "remember": "y"},
    )
    assert response.status_code == 302
    return response


def cookie(client, name: str) -> str:
    found = client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return found.value


def with_cookie(app, name: str, value: str):
    """A new browser that has only this one cookie."""
    other = app.test_client()
    other.set_cookie(name, value)
    return other


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_a_session_cookie_copied_before_log_out_no_longer_works(app, session):
    client = app.test_client()
    login_as(client, make_user(session))
    copied = cookie(client, "session")
    assert logged_in(with_cookie(app, "session", copied))
    logout(client)
    assert not logged_in(client)
    assert not logged_in(with_cookie(app, "session", copied))


def test_log_out_ends_only_that_session(app, session):
    user = make_user(session)
    first, second = app.test_client(), app.test_client()
    login_as(first, user)
    login_as(second, user)
    logout(first)
    assert not logged_in(first)
    assert logged_in(second)


def test_a_remember_cookie_copied_before_log_out_no_longer_works(app, session):
    client = app.test_client()
    login_remembered(client, make_user(session))
    remembered = cookie(client, "remember_token")
    assert logged_in(with_cookie(app, "remember_token", remembered))
    logout(client)
    with time_machine.travel(utcnow() + timedelta(minutes=5), tick=False):
        assert not logged_in(with_cookie(app, "remember_token", remembered))


def _admin_saves(app, session, user, **changes):
    admin = app.test_client()
    login_as(admin, make_user(session, Role.ADMIN))
    data = {
        "csrf_token": csrf_token(admin, f"/admin/users/{user.id}"),
        "email": user.email, "name": user.name, "role": "agent", "language": "ja",
        "timezone": "Asia/Tokyo", "password": "", "active": "y",
        "active__shown": "1", "mailboxes__shown": "1",
    }  # fmt: skip
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    assert admin.post(f"/admin/users/{user.id}", data=data).status_code == 302


@pytest.mark.parametrize("change", [{"password": "a brand new password"}, {"active": None}])
def test_password_change_or_deactivation_ends_every_session_of_the_user(app, session, change):
    user = make_user(session)
    plain, remembered = app.test_client(), app.test_client()
    login_as(plain, user)
    login_remembered(remembered, user)
    remember_value = cookie(remembered, "remember_token")
    _admin_saves(app, session, user, **change)
    assert not logged_in(plain)
    assert not logged_in(remembered)
    assert not logged_in(with_cookie(app, "remember_token", remember_value))
    if change.get("password"):  # the new password opens a new session
        fresh = app.test_client()
        assert login_as(fresh, user, password="a brand new password").status_code == 302
        assert logged_in(fresh)


def test_reactivating_a_user_does_not_revive_old_sessions(app, session):
    user = make_user(session)
    client = app.test_client()
    login_as(client, user)
    _admin_saves(app, session, user, active=None)
    _admin_saves(app, session, user)
    session.refresh(user)
    assert user.active
    assert not logged_in(client)


def test_remember_me_is_rotated_on_use_and_the_old_token_stops_working(app, session):
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        client = app.test_client()
        login_remembered(client, make_user(session))
        old = cookie(client, "remember_token")
        browser = with_cookie(app, "remember_token", old)
        clock.shift(timedelta(hours=1))
        assert logged_in(browser)
        new = cookie(browser, "remember_token")
        assert new != old
        clock.shift(timedelta(minutes=5))
        assert not logged_in(with_cookie(app, "remember_token", old))
        assert logged_in(with_cookie(app, "remember_token", new))


@pytest.mark.parametrize("days, alive", [(29, True), (31, False)])
def test_remember_me_lasts_at_most_thirty_days(app, session, days, alive):
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        client = app.test_client()
        response = login_remembered(client, make_user(session))
        set_cookie = [h for h in response.headers.getlist("Set-Cookie") if "remember_token" in h]
        assert set_cookie and "Expires=" in set_cookie[0]
        value = cookie(client, "remember_token")
        clock.shift(timedelta(days=days))
        assert logged_in(with_cookie(app, "remember_token", value)) is alive


def test_remember_days_is_configurable(connection, db_url, tmp_path, session):
    config = base_config(tmp_path, db_url)
    config["security"]["remember_days"] = 2
    config.update({"bind": connection, "testing": True})
    app = create_app(config)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        client = app.test_client()
        login_remembered(client, make_user(session))
        value = cookie(client, "remember_token")
        clock.shift(timedelta(days=1))
        assert logged_in(with_cookie(app, "remember_token", value))
        clock.shift(timedelta(days=2))
        assert not logged_in(with_cookie(app, "remember_token", value))


def test_remember_days_above_thirty_is_refused():
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "server": {"secret_key": "x" * 20},
                "security": {"encryption_key": ENCRYPTION_KEY, "remember_days": 31},
            },
            environ={},
        )
    assert info.value.key == "security.remember_days"


def test_only_a_hash_of_the_token_is_stored(app, session):
    client = app.test_client()
    user = make_user(session)
    login_remembered(client, user)
    token = cookie(client, "remember_token").split("|")[0].split(":", 1)[1]
    hashes = session.scalars(select(LoginSession.token_hash).where(LoginSession.user_id == user.id))
    assert token not in list(hashes)


def test_authenticated_pages_are_not_stored_and_carry_isolation_headers(app, session):
    client = app.test_client()
    anonymous = client.get("/login")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    login_as(client, make_user(session))
    page = client.get("/")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in page.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in page.headers


def test_hsts_is_sent_when_cookies_are_secure(connection, db_url, tmp_path):
    config = base_config(tmp_path, db_url)
    config["server"]["secure_cookies"] = True
    config.update({"bind": connection, "testing": True})
    response = create_app(config).test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")

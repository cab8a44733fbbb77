"""Log-in, log-out, rate limiting, CSRF and cookie safety."""

import pytest

from inbox.models import Role
from tests.factories import PASSWORD, csrf_token, login_as, logout, make_user


def test_login_with_right_password_opens_the_queue(client, session):
    user = make_user(session, Role.AGENT)
    response = login_as(client, user)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client, session):
    user = make_user(session)
    response = login_as(client, user, password="wrong password!")
    assert response.status_code == 401
    assert "パスワード" in response.get_data(as_text=True)  # Japanese by default
    assert client.get("/").status_code == 302


def test_logout_ends_the_session(client, session):
    user = make_user(session)
    login_as(client, user)
    assert logout(client).status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")


def test_disabled_user_cannot_log_in(client, session):
    user = make_user(session)
    user.active = False
    session.flush()
    assert login_as(client, user).status_code == 401


def test_login_is_locked_after_repeated_failures_even_with_the_right_password(client, session):
    user = make_user(session)
    for _ in range(5):
        assert login_as(client, user, password="nope nope nope").status_code == 401
    response = login_as(client, user)
    assert response.status_code == 429
    assert client.get("/").status_code == 302


def test_failures_from_one_address_lock_out_guessing_other_accounts(client, session):
    users = [make_user(session) for _ in range(5)]
    for u in users:
        login_as(client, u, password="nope nope nope")
    victim = make_user(session)
    assert login_as(client, victim).status_code == 429


def test_post_without_csrf_token_is_rejected(client, session):
    user = make_user(session)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400


def test_logout_without_csrf_token_is_rejected(client, session):
    user = make_user(session)
    login_as(client, user)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_session_cookie_is_http_only_and_same_site(client, session):
    user = make_user(session)
    response = login_as(client, user)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_pages_carry_a_strict_content_security_policy(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "unsafe-inline" not in csp


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_login_never_redirects_off_site(client, session, target):
    user = make_user(session)
    token = csrf_token(client)
    response = client.post(
        f"/login?next={target}", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/"


def test_english_user_sees_english(client, session):
    user = make_user(session, language="en")
    login_as(client, user)
    assert "Queue" in client.get("/").get_data(as_text=True)

"""Single sign-on through OpenID Connect against a real provider on loopback: verified addresses
log in (no second factor asked), everything else is refused with a translated message and an
audit entry, auto-creation on and off, and password log-in switched off per user or globally."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import flask
import httpx
import pytest
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from inbox import create_app, oidc
from inbox.models import AuditEntry, Mailbox, MailboxKind, Role, User
from tests.conftest import base_config
from tests.factories import PASSWORD, csrf_token, login_as, make_user
from tests.support.oidc_provider import OidcProvider

SECRET_ENV = "INBOX_SSO_TEST_SECRET"


@pytest.fixture
def idp():
    oidc.clear_cache()
    with OidcProvider() as provider:
        yield provider
    oidc.clear_cache()


def sso_config(idp: OidcProvider, **sso) -> dict:
    return {"sso": {"providers": {"google": {
        "kind": "google", "label": "Google", "issuer": idp.issuer, "client_id": idp.client_id,
        "client_secret_env": SECRET_ENV,
    }}, **sso}}  # fmt: skip


@pytest.fixture
def make_app(connection, db_url, tmp_path, idp, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, idp.client_secret)

    def make(two_factor_roles=(), **sso):
        config = {**base_config(tmp_path, db_url), **sso_config(idp, **sso)}
        config["security"]["two_factor_roles"] = list(two_factor_roles)
        config.update({"bind": connection, "testing": True})
        return create_app(config)

    return make


@pytest.fixture
def client(make_app):
    return make_app().test_client()


def sso_login(client, name: str = "google"):
    """Start at our button, let the provider redirect back, and return our callback's response."""
    started = client.get(f"/login/sso/{name}")
    assert started.status_code == 302, started.get_data(as_text=True)
    authorize = started.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = httpx.get(authorize, follow_redirects=False)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def audit(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_login_page_shows_a_button_per_configured_provider(client):
    html = client.get("/login").get_data(as_text=True)
    assert "Googleでサインイン" in html
    assert 'href="/login/sso/google"' in html


def test_a_user_with_a_verified_address_logs_in_and_lands_on_the_queue(client, session, idp):
    user = make_user(session, Role.AGENT, email="sso@example.com")
    response = sso_login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert idp.token_requests[-1]["code_verifier"]  # PKCE verifier sent with the code
    entry = audit(session, "login.success")[-1]
    assert entry.actor_id == user.id and entry.changes == {"method": "sso:google"}


def test_sso_log_in_is_not_asked_for_the_apps_second_factor(make_app, session):
    client = make_app(two_factor_roles=["admin"]).test_client()
    make_user(session, Role.ADMIN, email="sso@example.com")
    assert sso_login(client).status_code == 302
    assert client.get("/").status_code == 200  # not sent to the two-factor set-up


def test_password_log_in_of_a_role_needing_two_factor_still_asks_for_it(make_app, session):
    client = make_app(two_factor_roles=["admin"]).test_client()
    user = make_user(session, Role.ADMIN, email="pw@example.com")
    assert login_as(client, user).status_code == 302
    assert client.get("/").headers["Location"].startswith("/account/two-factor")


def test_an_unverified_address_is_refused_with_a_translated_message(client, session, idp):
    make_user(session, Role.AGENT, email="sso@example.com")
    idp.tamper = {"email_verified": False}
    response = sso_login(client)
    assert response.status_code == 401
    assert "メールアドレスを確認していません" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    entry = audit(session, "login.sso_failure")[-1]
    assert entry.changes == {"provider": "google", "reason": "unverified"}
    assert entry.target == "sso@example.com"


@pytest.mark.parametrize(
    ("tamper", "reason", "text"),
    [
        ({"nonce": "another-nonce"}, "nonce", "このログインの試みのものではありません"),
        ({"aud": "someone-else"}, "aud", "別のアプリケーション"),
        ({"iss": "http://127.0.0.1:1/evil"}, "iss", "想定外の発行元"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, "expired", "期限が切れています"),
        ({"email_verified": None}, "unverified", "メールアドレスを確認していません"),
    ],
)
def test_a_token_that_fails_validation_is_refused_never_a_500(client, session, idp, tamper, reason, text):
    make_user(session, Role.AGENT, email="sso@example.com")
    idp.tamper = tamper
    response = sso_login(client)
    assert response.status_code == 401
    assert text in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert audit(session, "login.sso_failure")[-1].changes["reason"] == reason


def test_a_token_signed_with_a_key_outside_the_jwks_is_refused(client, session, idp):
    make_user(session, Role.AGENT, email="sso@example.com")
    idp.sign_with_foreign_key = True
    response = sso_login(client)
    assert response.status_code == 401
    assert audit(session, "login.sso_failure")[-1].changes["reason"] == "signature"


def test_a_callback_with_a_forged_state_or_no_log_in_started_is_refused(client, session, idp):
    make_user(session, Role.AGENT, email="sso@example.com")
    started = client.get("/login/sso/google")
    back = httpx.get(started.headers["Location"], follow_redirects=False)
    callback = urlsplit(back.headers["Location"])
    code = parse_qs(callback.query)["code"][0]
    response = client.get(f"{callback.path}?code={code}&state=forged")
    assert response.status_code == 401
    assert client.get(f"{callback.path}?{callback.query}").status_code == 401  # used once
    assert client.get("/").status_code == 302
    assert client.get("/login/sso/google/callback?code=x&state=y").status_code == 401
    assert client.get("/login/sso/nobody").status_code == 404


def test_an_unknown_address_is_refused_when_auto_creation_is_off(client, session):
    response = sso_login(client)
    assert response.status_code == 401
    assert "招待" in response.get_data(as_text=True)
    assert session.scalar(select(User).where(User.email == "sso@example.com")) is None


def test_auto_creation_adds_the_user_in_the_default_role_and_mailboxes(make_app, session):
    box = Mailbox(name="Support", kind=MailboxKind.IMAP, address="support@example.test")
    session.add(box)
    session.flush()
    client = make_app(auto_create=True, default_role="lead", default_mailboxes=["Support"]).test_client()
    assert sso_login(client).status_code == 302
    user = session.scalar(select(User).where(User.email == "sso@example.com"))
    assert user.role == Role.LEAD and user.name == "SSO Person" and user.password_hash is None
    assert [m.mailbox_id for m in user.memberships] == [box.id]
    assert audit(session, "user.create")[-1].target == f"user:{user.id}"


def test_a_disabled_user_cannot_log_in_through_sso(client, session):
    user = make_user(session, Role.AGENT, email="sso@example.com")
    user.active = False
    session.flush()
    assert sso_login(client).status_code == 401


def test_password_form_refuses_a_user_whose_password_log_in_is_off(client, session):
    user = make_user(session, Role.AGENT, email="sso@example.com")
    user.password_login = False
    session.flush()
    response = login_as(client, user)
    assert response.status_code == 403
    assert "シングルサインオン" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert audit(session, "login.failure")[-1].changes == {"reason": "password_login_off"}
    assert sso_login(client).status_code == 302  # the provider still lets them in


def test_password_log_in_switched_off_globally_hides_the_form_and_refuses_posts(make_app, session):
    client = make_app(password_login=False).test_client()
    user = make_user(session, Role.ADMIN, email="admin@example.com")
    html = client.get("/login").get_data(as_text=True)
    assert 'name="password"' not in html and "Googleでサインイン" in html
    token = _csrf_without_a_form(client)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 403
    assert client.get("/").status_code == 302


def _csrf_without_a_form(client) -> str:
    """A valid CSRF token for this client although the page shows no form to take it from."""
    with client.application.test_request_context():
        token = generate_csrf()
        raw = flask.session["csrf_token"]
    with client.session_transaction() as cookie:
        cookie["csrf_token"] = raw
    return token


def test_admin_switches_a_users_password_log_in_off_and_it_is_audited(client, session):
    admin = make_user(session, Role.ADMIN)
    agent = make_user(session, Role.AGENT)
    login_as(client, admin)
    page = client.get(f"/admin/users/{agent.id}").get_data(as_text=True)
    assert 'name="password_login"' in page
    token = csrf_token(client, f"/admin/users/{agent.id}")
    data = {"csrf_token": token, "email": agent.email, "name": agent.name, "role": "agent",
            "language": "ja", "timezone": "Asia/Tokyo", "password": "", "mailboxes__shown": "1",
            "active": "y", "active__shown": "1", "password_login__shown": "1"}
    assert client.post(f"/admin/users/{agent.id}", data=data).status_code == 302
    session.refresh(agent)
    assert agent.password_login is False
    assert audit(session, "user.update")[-1].changes == {"password_login": [True, False]}


TENANT = "0a1b2c3d-0000-4000-8000-00000000abcd"


@pytest.fixture
def entra_client(connection, db_url, tmp_path, monkeypatch):
    oidc.clear_cache()
    monkeypatch.setenv(SECRET_ENV, "entra-secret-value")
    with OidcProvider(client_secret="entra-secret-value", tenant=TENANT) as provider:
        provider.person = {"sub": "oid-1", "email": "Taro@Example.com", "name": "Taro"}
        config = {**base_config(tmp_path, db_url), "sso": {"providers": {"microsoft": {
            "kind": "entra", "label": "Microsoft", "issuer": provider.issuer,
            "client_id": provider.client_id, "client_secret_env": SECRET_ENV,
        }}}}  # fmt: skip
        config.update({"bind": connection, "testing": True})
        yield create_app(config).test_client(), provider
    oidc.clear_cache()


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"xms_edov": True}, None),  # the tenant verified the address's domain
        ({"email_verified": True}, None),
        ({}, "unverified"),  # Entra's plain email claim can be edited: not proof
        ({"xms_edov": False}, "unverified"),
        ({"xms_edov": True, "tid": "ffffffff-0000-4000-8000-000000000000"}, "tenant"),
    ],
)
def test_entra_id_accepts_only_addresses_verified_within_the_configured_tenant(
    entra_client, session, claims, reason
):
    client, provider = entra_client
    make_user(session, Role.AGENT, email="taro@example.com")
    provider.tamper = claims
    response = sso_login(client, "microsoft")
    if reason is None:
        assert response.status_code == 302 and client.get("/").status_code == 200
    else:
        assert response.status_code == 401 and client.get("/").status_code == 302
        assert audit(session, "login.sso_failure")[-1].changes["reason"] == reason


def test_an_unreachable_provider_is_refused_with_a_message_not_a_500(make_app, connection, db_url, tmp_path, session):
    config = {**base_config(tmp_path, db_url), "sso": {"providers": {"down": {
        "kind": "google", "issuer": "http://127.0.0.1:1", "client_id": "x",
        "client_secret_env": SECRET_ENV}}}}  # fmt: skip
    config.update({"bind": connection, "testing": True})
    client = create_app(config).test_client()
    response = client.get("/login/sso/down")
    assert response.status_code == 401
    assert "接続できない" in response.get_data(as_text=True)
    assert audit(session, "login.sso_failure")[-1].changes == {"provider": "down", "reason": "provider"}

"""Own account pages: the signature goes into the reply composer, two-factor log-in required per
role, and hostile input on the log-in code and reset pages gets a clear answer, not a 500."""

from __future__ import annotations

import pyotp
import pytest

from inbox import create_app
from inbox.db import utcnow
from inbox.models import Role
from inbox.services import two_factor
from tests.factories import PASSWORD, csrf_token, login_as, make_mailbox, make_user
from tests.services.test_replies import customer_thread
from tests.web.test_reply import composer_fields


def test_own_signature_is_put_above_the_mailbox_signature_in_the_composer(client, session):
    mailbox = make_mailbox(session, address="support@example.test", signature="サポート窓口")
    thread, _ = customer_thread(session, mailbox)
    agent = make_user(session, mailboxes=[mailbox], name="鈴木 一郎")
    login_as(client, agent)
    token = csrf_token(client, "/settings")
    assert client.post("/settings", data={
        "csrf_token": token, "name": "鈴木 一郎", "language": "ja", "timezone": "Asia/Tokyo",
        "signature": "鈴木 一郎\r\n内線 123"}).status_code == 302
    body = composer_fields(client, f"/threads/{thread.id}")["body"]
    assert body.startswith("\n\n鈴木 一郎\n内線 123\nサポート窓口")


@pytest.fixture
def strict_app(connection, db_url, tmp_path):
    from tests.conftest import base_config

    config = base_config(tmp_path, db_url)
    config["security"]["two_factor_roles"] = ["admin"]
    config.update({"bind": connection, "testing": True})
    return create_app(config)


def test_a_role_that_requires_two_factor_is_sent_to_set_it_up(strict_app, session):
    client = strict_app.test_client()
    admin = make_user(session, Role.ADMIN)
    login_as(client, admin)
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.location.endswith("/account/two-factor")
    runtime = strict_app.extensions["inbox"]
    token = csrf_token(client, "/account/two-factor")
    client.post("/account/two-factor/start", data={"csrf_token": token})
    secret = two_factor.pending_secret(session, admin, runtime.secrets)
    client.post("/account/two-factor/confirm",
                data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    assert client.get("/admin/users").status_code == 200
    # It cannot be turned off while the role needs it.
    client.post("/account/two-factor/disable", data={"csrf_token": token, "current": PASSWORD})
    assert two_factor.enabled(session, admin.id)


def test_an_agent_is_not_forced_when_only_admins_must(strict_app, session):
    client = strict_app.test_client()
    login_as(client, make_user(session, Role.AGENT))
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("code", ["", "x" * 40, "１２３４５６", "' OR 1=1 --", "\x00"])
def test_hostile_codes_are_refused_cleanly(client, session, runtime, code):
    user = make_user(session)
    secret = two_factor.start_enrolment(session, user, runtime.secrets,
                                        now=utcnow())
    two_factor.confirm_enrolment(session, user, runtime.secrets, pyotp.TOTP(secret).now(),
                                 now=utcnow())
    response = login_as(client, user)
    assert response.status_code == 302 and response.location.endswith("/login/code")
    token = csrf_token(client, "/login/code")
    response = client.post("/login/code", data={"csrf_token": token, "code": code})
    assert response.status_code in (400, 401, 200)
    assert client.get("/").status_code == 302  # still not logged in


def test_the_code_page_without_a_password_step_sends_back_to_log_in(client):
    response = client.get("/login/code")
    assert response.status_code == 302 and response.location.endswith("/login")


@pytest.mark.parametrize("token", ["nope", "a" * 500, "%00", "-_-"])
def test_unknown_reset_links_say_so(client, token):
    response = client.get(f"/account/reset/{token}")
    assert response.status_code == 404
    assert "このリンクはもう使えません" in response.get_data(as_text=True)

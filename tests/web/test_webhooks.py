"""Webhook admin pages: admins only, private targets refused by default, the secret shown, a test
event delivered to a real receiver, the delivery log with its responses, and redelivery."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from inbox import create_app
from inbox.db import utcnow
from inbox.models import Role, WebhookDelivery, WebhookSubscription
from inbox.services import outbox
from tests.conftest import base_config
from tests.factories import csrf_token, login_as, make_mailbox, make_user
from tests.services.test_webhooks import Receiver, verify


def form(url, **extra):
    return {"name": "チャット通知", "url": url, "mailbox": "0", "events": ["thread.created", "thread.assigned"],
            "events__shown": "1", "format": "slack", "active": "y", "active__shown": "1", **extra}


def test_agents_and_leads_cannot_reach_the_webhook_pages(client, session):
    for role in (Role.AGENT, Role.LEAD):
        user = make_user(session, role)
        login_as(client, user)
        assert client.get("/admin/webhooks/").status_code == 403
        assert client.post("/admin/webhooks/new", data=form("http://x.test/")).status_code in (400, 403)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/settings")})
    assert session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_a_loopback_target_is_refused_unless_the_settings_allow_it(client, session):
    login_as(client, make_user(session, Role.ADMIN))
    page = client.post("/admin/webhooks/new", data=form("http://127.0.0.1:9/x", csrf_token=csrf_token(client, "/admin/webhooks/new")))
    assert page.status_code == 400 and "プライベート" in page.get_data(as_text=True)
    page = client.post("/admin/webhooks/new", data=form("gopher://example.com/", csrf_token=csrf_token(client, "/admin/webhooks/new")))
    assert page.status_code == 400


@pytest.fixture
def lab_client(connection, db_url, tmp_path):
    config = base_config(tmp_path, db_url)
    config.update({"bind": connection, "testing": True, "webhooks": {"allow_private": True}})
    app = create_app(config)
    return app.test_client(), app.extensions["inbox"]


def test_an_admin_sets_up_a_webhook_tests_it_and_redelivers(lab_client, session):
    client, rt = lab_client
    make_mailbox(session)
    login_as(client, make_user(session, Role.ADMIN))
    receiver = Receiver()
    try:
        made = client.post("/admin/webhooks/new", data=form(receiver.url, csrf_token=csrf_token(client, "/admin/webhooks/new")))
        assert made.status_code == 302
        sub = session.scalar(select(WebhookSubscription))
        page = client.get(f"/admin/webhooks/{sub.id}").get_data(as_text=True)
        secret = page.split('data-testid="webhook-secret">')[1].split("<")[0]
        token = csrf_token(client, f"/admin/webhooks/{sub.id}")
        assert client.post(f"/admin/webhooks/{sub.id}/ping", data={"csrf_token": token}).status_code == 302
        outbox.deliver_due(rt.Session, rt, owner="t", now=utcnow)
        (headers, body), = receiver.requests
        assert verify(secret, headers, body) and json.loads(body)["text"].startswith("[ping]")
        page = client.get(f"/admin/webhooks/{sub.id}").get_data(as_text=True)
        assert "テストイベント" in page and "thanks" in page
        delivery = session.scalar(select(WebhookDelivery))
        client.post(f"/admin/webhooks/{sub.id}/deliveries/{delivery.id}/redeliver", data={"csrf_token": token})
        outbox.deliver_due(rt.Session, rt, owner="t", now=utcnow)
        assert len(receiver.requests) == 2
        assert client.post(f"/admin/webhooks/{sub.id + 1}/deliveries/{delivery.id}/redeliver", data={"csrf_token": token}).status_code == 404
    finally:
        receiver.close()


def test_webhook_changes_are_audited_with_the_url_reduced_to_its_host(lab_client, session):
    from inbox.models import AuditEntry

    client, _rt = lab_client
    admin = make_user(session, Role.ADMIN)
    login_as(client, admin)
    secret_url = "http://127.0.0.1:9/services/T000/B000/very-secret-path"
    assert client.post("/admin/webhooks/new", data=form(
        secret_url, csrf_token=csrf_token(client, "/admin/webhooks/new"))).status_code == 302
    sub = session.scalar(select(WebhookSubscription))
    token = csrf_token(client, f"/admin/webhooks/{sub.id}")
    client.post(f"/admin/webhooks/{sub.id}", data=form(secret_url + "2", csrf_token=token, format="json"))
    client.post(f"/admin/webhooks/{sub.id}/delete", data={"csrf_token": token})

    def entries(action):
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))

    (created,), (updated,), (deleted,) = entries("webhook.create"), entries("webhook.update"), entries("webhook.delete")
    assert created.actor_id == admin.id and created.target == f"webhook:{sub.id}"
    assert created.changes["url"] == "http://127.0.0.1/…" and created.changes["format"] == "slack"
    assert set(updated.changes) == {"format", "url_sha256"} and updated.changes["format"] == ["slack", "json"]
    assert deleted.target == f"webhook:{sub.id}"
    assert not any("very-secret-path" in str(e.changes) for e in entries("webhook.create") + entries("webhook.update") + entries("webhook.delete"))

"""API token pages: a user's own tokens (shown once, stored hashed, revocable) and admins' service tokens."""

from __future__ import annotations

import re

from sqlalchemy import select

from inbox.models import ApiToken, Role
from inbox.services import api_tokens
from tests.factories import csrf_token, login_as, make_mailbox, make_user

SECRET_RE = re.compile(r"inbox_[A-Za-z0-9_-]{43}")


def test_a_user_creates_a_token_sees_it_once_and_revokes_it(client, session):
    user = make_user(session)
    login_as(client, user)
    page = client.post("/settings/tokens", data={"name": "受注連携", "scope": "read",
                                                 "csrf_token": csrf_token(client, "/settings/tokens")})
    assert page.status_code == 201
    secret = SECRET_RE.search(page.get_data(as_text=True)).group(0)
    assert "表示されるのはこの一度だけ" in page.get_data(as_text=True)
    again = client.get("/settings/tokens").get_data(as_text=True)
    assert secret not in again and secret[:12] in again and "受注連携" in again
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.token_hash == api_tokens.hash_token(secret) and token.scope == "read"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    client.post(f"/settings/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client, "/settings/tokens")})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_nobody_revokes_someone_elses_token_and_forms_need_csrf(client, session):
    owner, other = make_user(session), make_user(session)
    from inbox.db import utcnow

    made = api_tokens.create_personal(session, owner, "mine", "write", now=utcnow())
    login_as(client, other)
    token = csrf_token(client, "/settings/tokens")
    assert client.post(f"/settings/tokens/{made.token.id}/revoke", data={"csrf_token": token}).status_code == 404
    assert client.post("/settings/tokens", data={"name": "x", "scope": "read"}).status_code == 400
    assert session.get(ApiToken, made.token.id).revoked_at is None


def test_only_admins_make_service_tokens(client, session):
    box = make_mailbox(session)
    agent = make_user(session, mailboxes=[box])
    login_as(client, agent)
    assert client.get("/admin/api-tokens").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/settings")})
    admin = make_user(session, Role.ADMIN)
    login_as(client, admin)
    page = client.post("/admin/api-tokens", data={
        "name": "受注管理", "scope": "write", "role": "agent", "mailboxes": [str(box.id)],
        "csrf_token": csrf_token(client, "/admin/api-tokens")})
    assert page.status_code == 201
    secret = SECRET_RE.search(page.get_data(as_text=True)).group(0)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert me["service"] and me["mailbox_ids"] == [box.id] and me["role"] == "agent"


def _audit(session, action: str):
    from inbox.models import AuditEntry

    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_creating_and_revoking_tokens_is_audited_without_the_secret(client, session):
    box = make_mailbox(session)
    admin = make_user(session, Role.ADMIN)
    login_as(client, admin)
    page = client.post("/admin/api-tokens", data={
        "name": "受注管理", "scope": "write", "role": "agent", "mailboxes": [str(box.id)],
        "csrf_token": csrf_token(client, "/admin/api-tokens")})
    secret = SECRET_RE.search(page.get_data(as_text=True)).group(0)
    token = session.scalar(select(ApiToken).where(ApiToken.service.is_(True)))
    created = _audit(session, "api_token.create")[-1]
    assert created.actor_id == admin.id and created.target == f"api_token:{token.id}"
    assert created.changes == {"name": "受注管理", "scope": "write", "service": True, "role": "agent",
                               "mailboxes": [box.id]}
    client.post(f"/admin/api-tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client, "/admin/api-tokens")})
    revoked = _audit(session, "api_token.revoke")[-1]
    assert revoked.target == f"api_token:{token.id}" and revoked.changes == {"name": "受注管理", "service": True}
    client.post("/settings/tokens", data={"name": "自分用", "scope": "read",
                                          "csrf_token": csrf_token(client, "/settings/tokens")})
    assert _audit(session, "api_token.create")[-1].changes == {"name": "自分用", "scope": "read", "service": False}
    from inbox.models import AuditEntry

    texts = [str(e.changes) + e.target for e in session.scalars(select(AuditEntry))]
    assert not any(secret in t or secret[6:20] in t for t in texts)

"""Every audited action writes its entry (on SQLite and PostgreSQL: the fixtures run both), with who,
from which address and what changed, never a secret; the admin page filters and exports CSV."""

from __future__ import annotations

import csv
import io
import json

import pyotp
import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import AuditEntry, Role, Template, User
from inbox.services import two_factor
from tests.factories import PASSWORD, csrf_token, login_as, logout, make_mailbox, make_user
from tests.web.test_admin_mailboxes import create_via_form, imap_form, stored

NEW = "a much better passphrase 42"


def entries(session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    )


def only(session, action: str) -> AuditEntry:
    found = entries(session, action)
    assert len(found) == 1, f"{action}: {len(found)} entries"
    return found[0]


@pytest.fixture
def admin(client, session):
    user = make_user(session, Role.ADMIN, email="admin@example.test")
    login_as(client, user)
    return user


def test_log_in_success_failure_lock_and_log_out_are_recorded(app, client, session):
    user = make_user(session, email="agent@example.test")
    login_as(client, user, password="wrong password!")
    failure = only(session, "login.failure")
    assert (failure.actor_id, failure.target, failure.address) == (user.id, user.email, "127.0.0.1")
    login_as(client, user)
    success = only(session, "login.success")
    assert success.actor_id == user.id and success.changes == {"method": "password"}
    logout(client)
    assert only(session, "logout").actor_id == user.id
    limit = app.extensions["inbox"].settings.login_max_failures
    for _ in range(limit):
        login_as(client, user, password="wrong password!")
    login_as(client, user)  # the right password, refused while locked
    locked = entries(session, "login.locked")
    assert locked and all(e.target == user.email and e.actor_id == user.id for e in locked)
    assert len(entries(session, "login.success")) == 1


def test_failed_log_in_for_an_unknown_address_names_the_address(client, session):
    login_as(client, User(email="nobody@example.test"), password="whatever it is")
    entry = only(session, "login.failure")
    assert (entry.actor_id, entry.target) == (None, "nobody@example.test")


def test_own_password_change_is_recorded_without_the_password(client, session):
    user = make_user(session)
    login_as(client, user)
    token = csrf_token(client, "/account/password")
    response = client.post("/account/password", data={
        "csrf_token": token, "current": PASSWORD, "new": NEW, "confirm": NEW})
    assert response.status_code == 302
    entry = only(session, "password.change")
    assert entry.actor_id == user.id
    assert NEW not in json.dumps(entry.changes) and PASSWORD not in json.dumps(entry.changes)


def test_a_wrong_current_password_changes_nothing(client, session):
    user = make_user(session)
    login_as(client, user)
    token = csrf_token(client, "/account/password")
    response = client.post("/account/password", data={
        "csrf_token": token, "current": "not my password", "new": NEW, "confirm": NEW})
    assert response.status_code == 400
    assert "現在のパスワードが違います" in response.get_data(as_text=True)
    assert entries(session, "password.change") == []


def test_own_settings_change_is_recorded(client, session):
    user = make_user(session, name="Old Name")
    login_as(client, user)
    token = csrf_token(client, "/settings")
    client.post("/settings", data={"csrf_token": token, "name": "新しい 名前", "language": "ja",
                                   "timezone": "Asia/Tokyo", "signature": "山田\r\n内線 12"})
    entry = only(session, "account.update")
    assert entry.changes["name"] == ["Old Name", "新しい 名前"]
    assert entry.changes["signature"] == ["", "山田\n内線 12"]


def test_two_factor_on_off_and_admin_reset_are_recorded(app, client, session, runtime):
    user = make_user(session, password=PASSWORD)
    login_as(client, user)
    token = csrf_token(client, "/account/two-factor")
    client.post("/account/two-factor/start", data={"csrf_token": token})
    secret = two_factor.pending_secret(session, user, runtime.secrets)
    code = pyotp.TOTP(secret).now()
    assert client.post("/account/two-factor/confirm",
                       data={"csrf_token": token, "code": code}).status_code == 200
    assert only(session, "2fa.enable").actor_id == user.id
    client.post("/account/two-factor/disable", data={"csrf_token": token, "current": PASSWORD})
    assert only(session, "2fa.disable").actor_id == user.id

    two_factor.start_enrolment(session, user, runtime.secrets, now=utcnow())
    two_factor.confirm_enrolment(session, user, runtime.secrets,
                                 pyotp.TOTP(two_factor.pending_secret(session, user, runtime.secrets)).now(),
                                 now=utcnow())
    boss = app.test_client()
    admin = make_user(session, Role.ADMIN)
    login_as(boss, admin)
    token = csrf_token(boss, f"/admin/users/{user.id}")
    assert boss.post(f"/admin/users/{user.id}/two-factor-reset",
                     data={"csrf_token": token}).status_code == 302
    entry = only(session, "2fa.reset_by_admin")
    assert (entry.actor_id, entry.target) == (admin.id, f"user:{user.id}")
    assert not two_factor.enabled(session, user.id)


def test_role_and_membership_changes_are_recorded(client, session, admin):
    box = make_mailbox(session, "support")
    agent = make_user(session, Role.AGENT)
    token = csrf_token(client, f"/admin/users/{agent.id}")
    client.post(f"/admin/users/{agent.id}", data={
        "csrf_token": token, "email": agent.email, "name": agent.name, "role": "lead",
        "language": "ja", "timezone": "Asia/Tokyo", "password": "", "mailboxes": [str(box.id)],
        "active": "y", "active__shown": "1", "mailboxes__shown": "1"})
    entry = only(session, "user.update")
    assert entry.actor_id == admin.id and entry.target == f"user:{agent.id}"
    assert entry.changes["role"] == ["agent", "lead"]
    assert entry.changes["mailboxes"] == [[], [box.id]]


def test_inviting_a_user_is_recorded_and_mails_a_first_password_link(client, session, admin):
    token = csrf_token(client, "/admin/users/new")
    client.post("/admin/users/new", data={
        "csrf_token": token, "email": "new@example.test", "name": "新人", "role": "agent",
        "language": "ja", "timezone": "Asia/Tokyo", "password": "", "active": "y",
        "active__shown": "1", "mailboxes__shown": "1"})
    created = only(session, "user.create")
    assert created.changes["email"] == "new@example.test"
    assert only(session, "password.reset_sent").changes == {"purpose": "invite"}
    user = session.scalar(select(User).where(User.email == "new@example.test"))
    assert user.password_hash is None


def test_mailbox_changes_name_the_secret_keys_but_never_the_secret(client, session, admin):
    create_via_form(client)
    box = stored(session)
    made = only(session, "mailbox.create")
    assert made.changes["secrets_changed"] == ["imap_password"]
    token = csrf_token(client, f"/admin/mailboxes/{box.id}")
    client.post(f"/admin/mailboxes/{box.id}",
                data=imap_form(token, imap_password="brand-new-secret", folders="INBOX, Orders"))
    entry = only(session, "mailbox.update")
    assert entry.changes["secrets_changed"] == ["imap_password"]
    assert entry.changes["settings.folders"][1] == ["INBOX", "Orders"]
    everything = json.dumps([e.changes for e in entries(session, "mailbox.create")
                             + entries(session, "mailbox.update")])
    assert "brand-new-secret" not in everything and '"secret"' not in everything


def test_template_create_edit_and_delete_are_recorded(client, session, admin):
    token = csrf_token(client, "/reply-templates/new")
    client.post("/reply-templates/new",
                data={"csrf_token": token, "name": "お礼", "mailbox": "", "body": "ありがとう"})
    template = session.scalar(select(Template).where(Template.name == "お礼"))
    assert only(session, "template.create").target == f"template:{template.id}"
    client.post(f"/reply-templates/{template.id}/edit",
                data={"csrf_token": token, "name": "お礼", "mailbox": "", "body": "感謝します"})
    assert only(session, "template.update").changes == {"body": ["ありがとう", "感謝します"]}
    client.post(f"/reply-templates/{template.id}/delete", data={"csrf_token": token})
    assert only(session, "template.delete").changes["body"] == "感謝します"


def test_admin_reset_link_is_recorded(client, session, admin):
    agent = make_user(session)
    token = csrf_token(client, f"/admin/users/{agent.id}")
    assert client.post(f"/admin/users/{agent.id}/reset-link",
                       data={"csrf_token": token}).status_code == 302
    entry = only(session, "password.reset_sent")
    assert (entry.actor_id, entry.target, entry.changes) == (
        admin.id, f"user:{agent.id}", {"purpose": "reset"})


def test_audit_page_filters_by_actor_and_action(client, session, admin):
    other = make_user(session, email="other@example.test")
    login_as(client.application.test_client(), other)
    page = client.get(f"/audit/?actor={other.id}").get_data(as_text=True)
    assert "other@example.test" in page and 'data-action="login.success"' in page
    assert "admin@example.test</td>" not in page
    page = client.get("/audit/?action=logout").get_data(as_text=True)
    assert 'data-action="login.success"' not in page
    assert client.get("/audit/?since=not-a-date").status_code == 400
    assert client.get("/audit/?action=<script>").status_code == 400


def test_csv_export_is_utf8_with_bom_and_itself_recorded(client, session, admin):
    make_user(session, name="=HYPERLINK(1)", email="=cmd@example.test")
    response = client.get("/audit/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:5] == ["id", "time", "actor_id", "actor", "action"]
    assert any(r[4] == "login.success" and r[3] == "admin@example.test" for r in rows[1:])
    assert only(session, "export").target == "audit_log"


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEAD])
def test_only_admins_see_the_audit_log(client, session, role):
    login_as(client, make_user(session, role))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_the_audit_log_needs_a_login(client):
    assert client.get("/audit/").status_code == 302

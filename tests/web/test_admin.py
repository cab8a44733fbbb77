"""Admin pages: invite users, change roles and mailbox access, disable accounts."""

from sqlalchemy import select

from inbox.models import Role, User
from tests.factories import csrf_token, login_as, make_mailbox, make_user


def test_admin_invites_a_user_with_mailbox_access(client, session):
    mailbox = make_mailbox(session, "support")
    login_as(client, make_user(session, Role.ADMIN))
    token = csrf_token(client, "/admin/users/new")
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "email": "new.agent@example.test",
            "name": "新人 太郎",
            "role": "agent",
            "language": "ja",
            "timezone": "Asia/Tokyo",
            "mailboxes": [str(mailbox.id)],
            "active": "y",
            "password": "",
            "active__shown": "1",
            "mailboxes__shown": "1",
        },
    )
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.email == "new.agent@example.test"))
    assert user.role == Role.AGENT
    assert [m.mailbox_id for m in user.memberships] == [mailbox.id]
    assert "new.agent@example.test" in client.get("/admin/users").get_data(as_text=True)


def test_admin_disables_a_user_who_then_cannot_use_the_app(app, session):
    admin_client, agent_client = app.test_client(), app.test_client()
    agent = make_user(session)
    login_as(agent_client, agent)
    assert agent_client.get("/").status_code == 200
    login_as(admin_client, make_user(session, Role.ADMIN))
    token = csrf_token(admin_client, f"/admin/users/{agent.id}")
    response = admin_client.post(
        f"/admin/users/{agent.id}",
        data={"csrf_token": token, "email": agent.email, "name": agent.name, "role": "lead", "language": "ja", "timezone": "Asia/Tokyo",
              "password": "", "active__shown": "1", "mailboxes__shown": "1"},
    )
    assert response.status_code == 302
    session.refresh(agent)
    assert agent.active is False and agent.role == Role.LEAD
    assert agent_client.get("/").status_code == 302


def test_invite_form_without_csrf_is_rejected(client, session):
    login_as(client, make_user(session, Role.ADMIN))
    response = client.post("/admin/users/new", data={"email": "x@example.test", "name": "x", "role": "agent"})
    assert response.status_code == 400


def test_users_page_names_roles_in_the_readers_language(client, session):
    login_as(client, make_user(session, Role.ADMIN, name="管理 花子"))
    make_user(session, Role.LEAD, name="リード 一郎")
    make_user(session, Role.AGENT, name="担当 次郎")
    page = client.get("/admin/users").get_data(as_text=True)
    cells = [c for c in ("<td>管理者</td>", "<td>リーダー</td>", "<td>担当者</td>") if c in page]
    assert len(cells) == 3
    assert "<td>admin</td>" not in page and "<td>lead</td>" not in page and "<td>agent</td>" not in page

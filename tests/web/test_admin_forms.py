"""Admin forms cannot destroy by omission: a field left out of a post is an error, not "empty"."""

import pytest
from sqlalchemy import func, select

from inbox.models import Role, User
from tests.factories import csrf_token, login_as, make_mailbox, make_user

FULL = {
    "name": "Kept Name", "role": "lead", "language": "ja", "timezone": "Asia/Tokyo",
    "password": "", "active": "y", "active__shown": "1", "mailboxes__shown": "1",
}  # fmt: skip


@pytest.fixture
def setup(client, session):
    box = make_mailbox(session)
    agent = make_user(session, Role.LEAD, mailboxes=[box], name="Kept Name")
    login_as(client, make_user(session, Role.ADMIN))
    return box, agent


def test_a_post_with_only_the_csrf_token_changes_nothing(client, session, setup):
    box, agent = setup
    token = csrf_token(client, f"/admin/users/{agent.id}")
    response = client.post(f"/admin/users/{agent.id}", data={"csrf_token": token})
    assert response.status_code == 400
    assert "missing" in response.get_data(as_text=True) or "ありません" in response.get_data(
        as_text=True
    )
    session.refresh(agent)
    assert agent.active is True
    assert [m.mailbox_id for m in agent.memberships] == [box.id]


@pytest.mark.parametrize(
    "left_out", ["active__shown", "mailboxes__shown", "role", "name", "password"]
)
def test_leaving_out_any_one_field_is_refused(client, session, setup, left_out):
    box, agent = setup
    data = {
        **FULL,
        "email": agent.email,
        "csrf_token": csrf_token(client, f"/admin/users/{agent.id}"),
    }
    del data[left_out]
    response = client.post(f"/admin/users/{agent.id}", data=data)
    assert response.status_code == 400
    session.refresh(agent)
    assert agent.active is True and agent.role == Role.LEAD
    assert [m.mailbox_id for m in agent.memberships] == [box.id]


def test_the_complete_form_as_the_page_renders_it_saves(client, session, setup):
    _box, agent = setup
    page = client.get(f"/admin/users/{agent.id}").get_data(as_text=True)
    assert 'name="active__shown"' in page and 'name="mailboxes__shown"' in page
    data = {
        **FULL,
        "email": agent.email,
        "csrf_token": csrf_token(client, f"/admin/users/{agent.id}"),
    }
    del data["active"]  # unticked on purpose, with its companion present
    response = client.post(f"/admin/users/{agent.id}", data=data)
    assert response.status_code == 302
    session.refresh(agent)
    assert agent.active is False and agent.memberships == []


def test_invite_with_only_the_csrf_token_creates_nobody(client, session, setup):
    before = session.scalar(select(func.count()).select_from(User))
    token = csrf_token(client, "/admin/users/new")
    assert client.post("/admin/users/new", data={"csrf_token": token}).status_code == 400
    assert session.scalar(select(func.count()).select_from(User)) == before

"""Who may see what: every view checked against every role and mailbox membership."""

import pytest

from inbox.models import Role
from tests.factories import login_as, make_mailbox, make_thread, make_user


@pytest.fixture
def world(session):
    mine = make_mailbox(session, "mine")
    other = make_mailbox(session, "other")
    return {
        "mine": mine,
        "other": other,
        "mine_thread": make_thread(session, mine, "見える件名", customer="a@example.com"),
        "other_thread": make_thread(session, other, "見えない件名", customer="b@example.com"),
    }


ROLES = [Role.AGENT, Role.LEAD]


@pytest.mark.parametrize("role", ROLES)
def test_queue_lists_only_threads_of_member_mailboxes(client, session, world, role):
    login_as(client, make_user(session, role, mailboxes=[world["mine"]]))
    html = client.get("/").get_data(as_text=True)
    assert "見える件名" in html
    assert "見えない件名" not in html


@pytest.mark.parametrize("role", ROLES)
def test_queue_filtered_to_a_foreign_mailbox_is_not_found(client, session, world, role):
    login_as(client, make_user(session, role, mailboxes=[world["mine"]]))
    assert client.get(f"/?mailbox={world['other'].id}").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_thread_of_a_foreign_mailbox_is_not_found(client, session, world, role):
    login_as(client, make_user(session, role, mailboxes=[world["mine"]]))
    assert client.get(f"/threads/{world['mine_thread'].id}").status_code == 200
    response = client.get(f"/threads/{world['other_thread'].id}")
    assert response.status_code == 404
    assert "見えない件名" not in response.get_data(as_text=True)


def test_admin_sees_every_mailbox(client, session, world):
    login_as(client, make_user(session, Role.ADMIN))
    html = client.get("/").get_data(as_text=True)
    assert "見える件名" in html and "見えない件名" in html
    assert client.get(f"/threads/{world['other_thread'].id}").status_code == 200


PROTECTED = ["/", "/threads/1", "/settings", "/admin/users", "/admin/users/new", "/admin/mailboxes"]


@pytest.mark.parametrize("path", PROTECTED)
def test_every_page_needs_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


ADMIN_ONLY = ["/admin/users", "/admin/users/new", "/admin/mailboxes"]


@pytest.mark.parametrize("path", ADMIN_ONLY)
@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_are_closed_to_leads_and_agents(client, session, path, role):
    login_as(client, make_user(session, role))
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_ONLY)
def test_admin_pages_open_for_admins(client, session, path):
    login_as(client, make_user(session, Role.ADMIN))
    assert client.get(path).status_code == 200

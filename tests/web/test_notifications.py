"""The notifications pages over HTTP: list and badge, mark read (own only), preferences, follow,
the escalation setting (leads of the mailbox and admins only), CSRF and hostile input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from inbox.models import Event, Notification, Role, ThreadFollower
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user


@pytest.fixture
def world(session, app):
    box = make_mailbox(session, "support")
    other = make_mailbox(session, "sales")
    lead = make_user(session, Role.LEAD, mailboxes=[box], name="Lead", email="lead@example.test")
    agent = make_user(session, Role.AGENT, mailboxes=[box], name="Agent", email="agent@example.test")
    outsider_lead = make_user(session, Role.LEAD, mailboxes=[other], email="olead@example.test")
    thread = make_thread(session, box, "<script>alert(1)</script>")
    hidden = make_thread(session, other)
    session.flush()
    return {"box": box, "other": other, "lead": lead, "agent": agent, "outsider_lead": outsider_lead,
            "thread": thread, "hidden": hidden}


def post(client, path, data=None, *, page="/notifications"):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **(data or {})})


def test_an_assignment_shows_in_the_list_and_badge_and_is_marked_read(client, session, world):
    login_as(client, world["lead"])
    t = world["thread"]
    post(client, f"/threads/{t.id}/assign", {"assignee": world["agent"].id, "version": t.version}, page=f"/threads/{t.id}")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login_as(client, world["agent"])
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="notification-badge">1<' in html
    page = client.get("/notifications").get_data(as_text=True)
    assert "Lead さんがあなたを担当に割り当てました" in page and "<script>alert(1)</script>" not in page
    [row] = session.scalars(select(Notification))
    resp = post(client, f"/notifications/{row.id}/read", {"open": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/threads/{t.id}")
    assert 'data-testid="notification-badge"' not in client.get("/").get_data(as_text=True)


def test_someone_elses_notification_cannot_be_marked_and_bad_ids_are_404(client, session, world):
    from inbox.services import notifications

    row = notifications.notify(session, world["lead"].id, "assigned", now=world["thread"].created_at,
                               thread_id=world["thread"].id, key="x")
    session.flush()
    login_as(client, world["agent"])
    assert post(client, f"/notifications/{row.id}/read").status_code == 404
    assert post(client, "/notifications/99999999999/read").status_code == 404
    assert post(client, "/notifications/abc/read").status_code == 404
    assert session.get(Notification, row.id).read_at is None


def test_posts_without_csrf_are_refused(client, world):
    login_as(client, world["agent"])
    for path in ("/notifications/read-all", "/notifications/preferences",
                 f"/notifications/threads/{world['thread'].id}/follow"):
        assert client.post(path).status_code == 400, path


def test_preferences_are_saved_from_my_settings_and_hostile_names_ignored(client, session, world):
    login_as(client, world["agent"])
    page = client.get("/settings").get_data(as_text=True)
    assert 'data-testid="notification-preferences"' in page and "自分が担当に割り当てられたとき" in page
    resp = client.post("/notifications/preferences", data={
        "csrf_token": csrf_token(client, "/settings"), "app": ["assigned", "<evil>", "x" * 5000],
        "mail": ["mentioned", "escalated"], "digest": "1",
    })
    assert resp.status_code == 302
    from inbox.services import notifications

    choices, digest = notifications.preferences(session, world["agent"])
    on = {c.kind.name: (c.app, c.mail) for c in choices}
    assert on["assigned"] == (True, False) and on["mentioned"] == (False, True)
    assert on["escalated"] == (False, False) and digest is True


def test_follow_and_unfollow_a_visible_thread_but_not_a_hidden_one(client, session, world):
    login_as(client, world["agent"])
    t = world["thread"]
    assert 'data-testid="follow"' in client.get(f"/threads/{t.id}").get_data(as_text=True)
    assert post(client, f"/notifications/threads/{t.id}/follow", page=f"/threads/{t.id}").status_code == 302
    post(client, f"/notifications/threads/{t.id}/follow", page=f"/threads/{t.id}")  # twice: still one
    assert len(list(session.scalars(select(ThreadFollower)))) == 1
    assert 'data-testid="unfollow"' in client.get(f"/threads/{t.id}").get_data(as_text=True)
    post(client, f"/notifications/threads/{t.id}/unfollow", page=f"/threads/{t.id}")
    assert list(session.scalars(select(ThreadFollower))) == []
    assert post(client, f"/notifications/threads/{world['hidden'].id}/follow").status_code == 404


@pytest.mark.parametrize("who, status", [("agent", 403), ("outsider_lead", 404), ("lead", 200)])
def test_escalation_page_is_for_the_mailboxs_leads_and_admins(client, world, who, status):
    login_as(client, world[who])
    assert client.get(f"/escalation/mailboxes/{world['box'].id}").status_code == status


def test_a_lead_sets_escalation_bad_values_get_a_translated_400_and_the_change_is_audited(client, session, world):
    login_as(client, world["lead"])
    path = f"/escalation/mailboxes/{world['box'].id}"
    for bad in ("abc", "-3", "0", "99999", "1e400"):
        resp = client.post(path, data={"csrf_token": csrf_token(client, path), "hours": bad})
        assert resp.status_code == 400, bad
        assert "エスカレーション" in resp.get_data(as_text=True)
    resp = client.post(path, data={"csrf_token": csrf_token(client, path), "hours": "4"})
    assert resp.status_code == 302
    session.expire_all()
    assert world["box"].settings["escalation_hours"] == 4
    assert 'value="4"' in client.get(path).get_data(as_text=True)
    [event] = session.scalars(select(Event).where(Event.kind == "mailbox_escalation_changed"))
    assert event.actor_id == world["lead"].id and event.data["to"] == 4
    assert 'data-testid="escalation-link"' in client.get(f"/deadlines/mailboxes/{world['box'].id}").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    assert client.get("/notifications").status_code == 302

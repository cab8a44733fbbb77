"""The retention settings page: admins set a mailbox's policy, see what is due and the last run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import AuditEntry, JobRun, Role, Status
from inbox.services import retention
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user


def stored(session, box):
    session.refresh(box)
    return retention.policy(box)


@pytest.fixture
def box(session):
    return make_mailbox(session, "shop")


def test_an_admin_sets_retention_and_sees_what_is_due(client, session, box):
    admin = make_user(session, Role.ADMIN, mailboxes=[box], language="en")
    old = make_thread(session, box, status=Status.RESOLVED, at=utcnow() - timedelta(days=120))
    make_thread(session, box, status=Status.OPEN, at=utcnow() - timedelta(days=120))
    login_as(client, admin)
    page = f"/retention/mailboxes/{box.id}"
    assert 'data-testid="retention-link"' in client.get(f"/admin/mailboxes/{box.id}").get_data(as_text=True)
    token = csrf_token(client, page)

    resp = client.post(page, data={"csrf_token": token, "months": "3", "action": "delete"})
    assert resp.status_code == 302
    assert stored(session, box) == retention.Policy(3, "delete")
    html = client.get(page).get_data(as_text=True)
    assert f"#{old.id}" in html and "1 threads would be removed" in html
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "mailbox.retention"))
    assert entry.actor_id == admin.id and entry.changes["retention"] == ["off", "delete after 3 months"]

    session.add(JobRun(name="retention", started_at=utcnow(), finished_at=utcnow(), duration_seconds=0.1,
                       result={"shop": {"threads_deleted": 4, "threads_anonymised": 0, "messages": 9}}))
    session.flush()
    assert "4 threads deleted, 0 anonymised, 9 messages removed" in client.get(page).get_data(as_text=True)

    resp = client.post(page, data={"csrf_token": token, "months": "", "action": "delete"})
    assert resp.status_code == 302 and stored(session, box) is None


@pytest.mark.parametrize("months, action", [("abc", "delete"), ("-1", "delete"), ("0", "delete"),
                                            ("99999999999999999999", "delete"), ("3", "shred"), ("３", "delete")])
def test_bad_retention_input_is_refused_with_a_translated_error(client, session, box, months, action):
    admin = make_user(session, Role.ADMIN, language="ja")
    login_as(client, admin)
    page = f"/retention/mailboxes/{box.id}"
    resp = client.post(page, data={"csrf_token": csrf_token(client, page), "months": months, "action": action})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert any(text in html for text in ("月数は整数", "保存期間は1〜", "「削除」か「匿名化」")), html
    assert stored(session, box) is None


def test_only_admins_reach_the_retention_page(client, session, box):
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    login_as(client, lead)
    assert client.get(f"/retention/mailboxes/{box.id}").status_code == 403
    assert client.post(f"/retention/mailboxes/{box.id}", data={"months": "1", "action": "delete"}).status_code in (400, 403)
    assert stored(session, box) is None


def test_an_unknown_mailbox_or_an_expired_form_is_no_server_error(client, session, box):
    login_as(client, make_user(session, Role.ADMIN))
    assert client.get("/retention/mailboxes/999999").status_code == 404
    resp = client.post(f"/retention/mailboxes/{box.id}", data={"months": "1", "action": "delete"})
    assert resp.status_code == 400 and stored(session, box) is None

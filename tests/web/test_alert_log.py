"""The alerts-sent page: leads see their mailboxes' deadline alerts, admins all; filters and pages."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from inbox.models import Alert, Role
from inbox.services import alert_log, outbox
from tests.factories import login_as, make_mailbox, make_thread, make_user


@pytest.fixture
def alerts_world(session):
    box, other = make_mailbox(session, "support"), make_mailbox(session, "sales")
    lead = make_user(session, Role.LEAD, mailboxes=[box], email="lead@example.test")
    now = datetime.now(UTC)
    mine = make_thread(session, box, "配送の遅れ", due_at=now - timedelta(hours=1))
    theirs = make_thread(session, other, "営業の件", due_at=now)
    item = outbox.enqueue(
        session,
        kind="alert",
        idempotency_key="alert:t",
        now=now,
        recipients=["lead@example.test"],
        raw=b"x",
        mailbox_id=box.id,
        thread_id=mine.id,
    )
    session.add_all(
        [
            Alert(
                thread_id=mine.id,
                stage="due_today",
                due_at=mine.due_at,
                outbox_id=item.id,
                created_at=now - timedelta(days=3),
            ),
            Alert(
                thread_id=mine.id,
                stage="overdue",
                due_at=now - timedelta(minutes=1),
                created_at=now,
            ),
            Alert(thread_id=theirs.id, stage="overdue", due_at=now, created_at=now),
        ]
    )
    session.flush()
    return box, other, lead, now


def test_a_lead_sees_stage_recipients_and_only_their_mailboxes(client, alerts_world):
    _box, other, lead, now = alerts_world
    login_as(client, lead)
    resp = client.get("/deadlines/alerts")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "配送の遅れ" in html and "営業の件" not in html
    assert "当日" in html and "期限切れ" in html and "lead@example.test" in html
    assert "due_today" not in html.replace('data-stage="due_today"', "").replace(
        "deadline-due_today", ""
    )
    # the period filter keeps only the alert of today
    day = now.astimezone(ZoneInfo(lead.timezone)).strftime("%Y-%m-%d")
    html = client.get(f"/deadlines/alerts?since={day}&until={day}").get_data(as_text=True)
    assert html.count('data-testid="alert-stage"') <= 2 and 'data-stage="due_today"' not in html
    # another team's mailbox is not found; bad dates and ids answer 400/404, never 500
    assert client.get(f"/deadlines/alerts?mailbox={other.id}").status_code == 404
    assert client.get("/deadlines/alerts?since=2026-13-99").status_code == 400
    assert (
        client.get("/deadlines/alerts?mailbox=99999999999999999999&before=%00").status_code == 200
    )


def test_agents_may_not_see_the_alert_log(client, session, alerts_world):
    login_as(client, make_user(session, mailboxes=[alerts_world[0]]))
    assert client.get("/deadlines/alerts").status_code == 403


def test_admins_see_every_mailbox(client, session, alerts_world):
    login_as(client, make_user(session, Role.ADMIN))
    assert "営業の件" in client.get("/deadlines/alerts").get_data(as_text=True)


def test_pages_follow_each_other_without_overlap(session, alerts_world):
    _box, _other, lead, _now = alerts_world
    first = alert_log.sent_alerts(session, lead, alert_log.AlertFilter(), limit=1)
    second = alert_log.sent_alerts(
        session, lead, alert_log.AlertFilter(), before_id=first[-1].alert.id, limit=1
    )
    assert len(first) == len(second) == 1 and first[0].alert.id > second[0].alert.id

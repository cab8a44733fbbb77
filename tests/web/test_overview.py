"""The lead overview: leads and admins only, figures from their own mailboxes only."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from inbox.models import Role, Status
from tests.factories import login_as, make_mailbox, make_thread, make_user


def cells(html, row_attr, testid):
    row = re.search(rf'<tr {row_attr}>(.*?)</tr>', html, re.S).group(1)
    return re.search(rf'data-testid="{testid}">\s*(?:<a[^>]*>)?(\d+)', row).group(1)


@pytest.fixture
def team(session):
    box, other = make_mailbox(session, "サポート"), make_mailbox(session, "営業")
    lead = make_user(session, Role.LEAD, mailboxes=[box], name="リーダー")
    agent = make_user(session, mailboxes=[box], name="担当 花子")
    now = datetime.now(UTC)
    make_thread(session, box, "古い待ち", at=now - timedelta(days=5), status=Status.OPEN, assignee_id=agent.id)
    make_thread(session, box, "新しい待ち", at=now - timedelta(hours=1), due_at=now - timedelta(minutes=5))
    make_thread(session, box, "保留中", status=Status.WAITING, assignee_id=agent.id)
    make_thread(session, box, "完了", status=Status.RESOLVED, at=now - timedelta(days=30))
    make_thread(session, other, "営業の件", status=Status.NEW, due_at=now - timedelta(days=1))
    return box, other, lead, agent


def test_lead_sees_counts_per_status_agent_and_mailbox_of_their_mailboxes_only(client, team):
    box, other, lead, agent = team
    login_as(client, lead)
    html = client.get("/overview").get_data(as_text=True)
    assert re.search(r'data-testid="total-new">(\d+)<', html).group(1) == "1"
    assert re.search(r'data-testid="total-overdue">(\d+)<', html).group(1) == "1"
    assert cells(html, f'data-mailbox-id="{box.id}"', "count-open") == "1"
    assert cells(html, f'data-mailbox-id="{box.id}"', "overdue") == "1"
    assert "営業の件" not in html and f'data-mailbox-id="{other.id}"' not in html
    assert cells(html, f'data-agent="{agent.id}"', "agent-open") == "1"
    assert cells(html, f'data-agent="{agent.id}"', "agent-waiting") == "1"
    assert cells(html, 'data-agent="none"', "agent-new") == "1"


def test_each_agent_row_counts_overdue_and_due_today_threads(client, session, team):
    box, _other, lead, agent = team
    now = datetime.now(UTC)
    make_thread(session, box, "期限切れ", status=Status.OPEN, assignee_id=agent.id, due_at=now - timedelta(hours=2))
    make_thread(session, box, "今日まで", status=Status.OPEN, assignee_id=agent.id, due_at=now + timedelta(seconds=60))
    login_as(client, lead)
    html = client.get("/overview").get_data(as_text=True)
    assert cells(html, f'data-agent="{agent.id}"', "agent-overdue") == "1"
    assert cells(html, 'data-agent="none"', "agent-overdue") == "1"  # 新しい待ち, unassigned
    local = ZoneInfo(lead.timezone)
    if now.astimezone(local).date() == (now + timedelta(seconds=60)).astimezone(local).date():
        assert cells(html, f'data-agent="{agent.id}"', "agent-due-today") == "1"
    assert f"view=overdue&amp;assignee={agent.id}" in html


def test_oldest_waiting_thread_is_the_one_whose_customer_wrote_first(client, team):
    _box, _other, lead, _agent = team
    login_as(client, lead)
    html = client.get("/overview").get_data(as_text=True)
    oldest = re.search(r'data-testid="oldest">(.*?)</td>', html, re.S).group(1)
    assert "古い待ち" in oldest and "完了" not in oldest


def test_admin_sees_every_mailbox(client, session, team):
    _box, other, _lead, _agent = team
    login_as(client, make_user(session, Role.ADMIN))
    html = client.get("/overview").get_data(as_text=True)
    assert f'data-mailbox-id="{other.id}"' in html and "営業の件" in html


def test_agents_may_not_open_the_overview(client, team):
    login_as(client, team[3])
    assert client.get("/overview").status_code == 403

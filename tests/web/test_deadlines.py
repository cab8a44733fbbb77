"""Web tests for the deadlines blueprint: the thread panel, my deadlines, header counts, settings, calendars, stuck alerts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import Event, OutboxItem, OutboxStatus, Role, Status, User
from inbox.services import outbox
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user

JST = ZoneInfo("Asia/Tokyo")


def jst(*a: int) -> datetime:
    return datetime(*a, tzinfo=JST)


@pytest.fixture
def world(session):
    box = make_mailbox(session, "support", timezone="Asia/Tokyo")
    other = make_mailbox(session, "sales")
    agent = make_user(session, Role.AGENT, mailboxes=[box], timezone="Asia/Tokyo")
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    outsider_lead = make_user(session, Role.LEAD, mailboxes=[other])
    admin = make_user(session, Role.ADMIN)
    thread = make_thread(session, box, "配送について", assignee_id=agent.id)
    hidden = make_thread(session, other, "見えない件")
    return {
        "box": box,
        "other": other,
        "agent": agent,
        "lead": lead,
        "outsider": outsider_lead,
        "admin": admin,
        "thread": thread,
        "hidden": hidden,
    }


def post_deadline(client, thread_id, **data):
    token = csrf_token(client, f"/threads/{thread_id}")
    return client.post(f"/deadlines/threads/{thread_id}", data={"csrf_token": token, **data})


def test_a_date_and_time_set_on_the_thread_page_are_read_in_my_timezone(client, session, world):
    with time_machine.travel(jst(2026, 11, 24, 10), tick=True):
        login_as(client, world["agent"])
        resp = post_deadline(
            client, world["thread"].id, day="2026-12-01", at="15:00", action="set"
        )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/threads/{world['thread'].id}"
    )
    session.expire_all()
    assert world["thread"].due_at == jst(2026, 12, 1, 15)
    assert world["thread"].due_set_by_hand is True
    [ev] = session.scalars(
        select(Event).where(Event.kind == "deadline_set", Event.thread_id == world["thread"].id)
    )
    assert ev.actor_id == world["agent"].id and ev.data["by"] == "hand"


def test_quick_pick_tomorrow_on_a_friday_skips_the_weekend_and_holiday(client, session, world):
    with time_machine.travel(jst(2026, 11, 20, 10), tick=True):
        login_as(client, world["agent"])  # inside: a cookie from "the future" is not sent
        post_deadline(client, world["thread"].id, pick="tomorrow")
    session.expire_all()
    assert world["thread"].due_at == jst(2026, 11, 24, 18)


def test_today_after_hours_says_it_moved_to_the_next_business_day(client, session, world):
    thread_url = f"/threads/{world['thread'].id}"
    with time_machine.travel(jst(2026, 11, 20, 19), tick=True):  # Friday after 18:00
        login_as(client, world["agent"])
        post_deadline(client, world["thread"].id, pick="today")
        page = client.get(thread_url).get_data(as_text=True)
    assert "本日は営業時間外のため、期限を次の営業日 2026-11-24 18:00 にしました。" in page
    with time_machine.travel(jst(2026, 11, 24, 10), tick=True):  # within hours: no such note
        post_deadline(client, world["thread"].id, pick="today")
        assert "営業時間外" not in client.get(thread_url).get_data(as_text=True)


def test_clearing_the_deadline_and_a_bad_date_are_both_handled(client, session, world):
    world["thread"].due_at = jst(2026, 11, 24, 18)
    session.flush()
    login_as(client, world["agent"])
    resp = post_deadline(client, world["thread"].id, day="24/11/2026")
    assert resp.status_code == 302
    page = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert "日付は YYYY-MM-DD、時刻は HH:MM の形式で入力してください。" in page
    session.expire_all()
    assert world["thread"].due_at == jst(2026, 11, 24, 18)
    post_deadline(client, world["thread"].id, action="clear")
    session.expire_all()
    assert world["thread"].due_at is None


def test_deadlines_of_threads_in_other_mailboxes_cannot_be_set(client, world):
    login_as(client, world["agent"])
    token = csrf_token(client, f"/threads/{world['thread'].id}")
    resp = client.post(
        f"/deadlines/threads/{world['hidden'].id}", data={"csrf_token": token, "pick": "today"}
    )
    assert resp.status_code == 404


def test_setting_a_deadline_without_the_csrf_token_is_refused(client, session, world):
    login_as(client, world["agent"])
    resp = client.post(f"/deadlines/threads/{world['thread'].id}", data={"pick": "today"})
    assert resp.status_code == 400
    session.expire_all()
    assert world["thread"].due_at is None


def test_thread_page_shows_the_deadline_in_my_timezone_with_its_badge(client, session, world):
    world["thread"].due_at = jst(2026, 11, 24, 18)
    session.flush()
    with time_machine.travel(jst(2026, 11, 24, 10), tick=True):
        login_as(client, world["agent"])  # the whole test lives at that time, log-in included
        page = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert 'data-stage="due_today"' in page
    assert "2026-11-24 18:00" in page and "本日期限" in page
    assert "手動で設定" not in page and "メールボックスのルールで設定" in page


def test_header_counts_my_overdue_and_due_today_threads(client, session, world):
    me = world["agent"]
    for due in (
        jst(2026, 11, 23, 18),
        jst(2026, 11, 24, 12),
        jst(2026, 11, 24, 18),
        jst(2026, 11, 25, 18),
    ):
        make_thread(session, world["box"], due_at=due, assignee_id=me.id)
    with time_machine.travel(jst(2026, 11, 24, 15), tick=True):
        login_as(client, me)
        page = client.get("/deadlines/mine").get_data(as_text=True)
    assert 'data-testid="badge-overdue" data-count="2"' in page
    assert 'data-testid="badge-due-today" data-count="1"' in page


def test_header_badges_are_labelled_mine_and_for_leads_team(client, session, world):
    make_thread(session, world["box"], due_at=jst(2026, 11, 23, 18), assignee_id=world["agent"].id)
    with time_machine.travel(jst(2026, 11, 24, 15), tick=True):
        login_as(client, world["lead"])
        page = client.get("/deadlines/mine").get_data(as_text=True)
    assert '<span class="deadline-scope">自分</span>' in page
    assert '<span class="deadline-scope">チーム</span>' in page
    assert 'data-testid="badge-overdue" data-count="0"' in page  # not the lead's own thread
    assert 'data-testid="team-badge-overdue" data-count="1"' in page


def test_my_deadlines_lists_overdue_first(client, session, world):
    me = world["agent"]
    later = make_thread(
        session, world["box"], "後の件", due_at=jst(2026, 12, 3, 18), assignee_id=me.id
    )
    late = make_thread(
        session, world["box"], "遅れた件", due_at=jst(2026, 11, 2, 18), assignee_id=me.id
    )
    make_thread(
        session, world["box"], "他人の件", due_at=jst(2026, 11, 1, 18), assignee_id=world["lead"].id
    )
    with time_machine.travel(jst(2026, 11, 24, 15), tick=True):
        login_as(client, me)
        page = client.get("/deadlines/mine").get_data(as_text=True)
    assert page.index(f'data-thread-id="{late.id}"') < page.index(f'data-thread-id="{later.id}"')
    assert "他人の件" not in page and "期限切れ" in page


def test_a_lead_switches_to_the_daily_digest_and_an_agent_may_not(client, session, world):
    login_as(client, world["lead"])
    token = csrf_token(client, "/deadlines/settings")
    assert (
        client.post("/deadlines/settings", data={"csrf_token": token, "digest": "y"}).status_code
        == 302
    )
    session.expire_all()
    assert session.get(User, world["lead"].id).alert_digest is True
    client.post("/logout", data={"csrf_token": csrf_token(client, "/deadlines/settings")})
    login_as(client, world["agent"])
    page = client.get("/deadlines/settings").get_data(as_text=True)
    assert "リーダーが利用できます" in page
    resp = client.post(
        "/deadlines/settings",
        data={"csrf_token": csrf_token(client, "/deadlines/settings"), "digest": "y"},
    )
    assert resp.status_code == 403


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("lead", 200), ("outsider", 404), ("agent", 403)]
)
def test_who_may_open_a_mailbox_calendar(client, world, who, status):
    login_as(client, world[who])
    assert client.get(f"/deadlines/mailboxes/{world['box'].id}").status_code == status


def test_a_lead_saves_hours_closed_days_and_rules(client, session, world):
    login_as(client, world["lead"])
    url = f"/deadlines/mailboxes/{world['box'].id}"
    data = {
        "csrf_token": csrf_token(client, url),
        "timezone": "Asia/Tokyo",
        **{f"hours_{d}": "10:00-19:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        "hours_sat": "",
        "hours_sun": "",
        "closed": "2026-12-29..2027-01-03\n2026-08-13",
        "jp_holidays": "1",
        "rule_amount": ["1", "4", ""],
        "rule_unit": ["days", "hours", "days"],
        "rule_tag": ["", "vip", ""],
        "rule_priority": ["", "", ""],
    }
    assert client.post(url, data=data).status_code == 302
    session.expire_all()
    box = world["box"]
    assert box.calendar["hours"]["mon"] == "10:00-19:00" and box.calendar["hours"]["sat"] is None
    assert box.calendar["closed"] == ["2026-12-29..2027-01-03", "2026-08-13"]
    assert box.deadline_rules == [{"business_days": 1}, {"business_hours": 4.0, "tag": "vip"}]
    page = client.get(url).get_data(as_text=True)
    assert 'value="10:00-19:00"' in page and "2026-12-29..2027-01-03" in page
    data["hours_mon"] = "25:00-26:00"
    data["hours_sat"] = "9-25"
    resp = client.post(url, data=data)
    page = resp.get_data(as_text=True)
    # every problem is shown, in Japanese, naming the day; not the parser's English
    assert resp.status_code == 400
    assert "月曜日" in page and "25:00-26:00" in page and "土曜日" in page and "9-25" in page
    assert "hours.mon" not in page and "expected" not in page


def test_admins_see_unsent_alert_mail_and_send_it_again(client, session, world):
    item = outbox.enqueue(
        session,
        kind="alert",
        idempotency_key="alert:x",
        now=utcnow(),
        recipients=["a@example.test"],
        raw=b"x",
        thread_id=world["thread"].id,
    )
    reply = outbox.enqueue(session, kind="reply", idempotency_key="reply:x", now=utcnow())
    item.status, item.last_error = OutboxStatus.FAILED, "550 No such user"
    reply.status = OutboxStatus.FAILED
    session.flush()
    login_as(client, world["lead"])
    assert client.get("/deadlines/admin/outbox").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/deadlines/mine")})
    login_as(client, world["admin"])
    page = client.get("/deadlines/admin/outbox").get_data(as_text=True)
    assert f'data-item-id="{item.id}"' in page and "550 No such user" in page
    assert f'data-item-id="{reply.id}"' not in page
    token = csrf_token(client, "/deadlines/admin/outbox")
    assert (
        client.post(
            f"/deadlines/admin/outbox/{item.id}/resend", data={"csrf_token": token}
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"/deadlines/admin/outbox/{reply.id}/resend", data={"csrf_token": token}
        ).status_code
        == 404
    )
    session.expire_all()
    assert session.get(OutboxItem, item.id).status == OutboxStatus.QUEUED
    assert session.get(OutboxItem, reply.id).status == OutboxStatus.FAILED


def test_nav_links_follow_the_role(client, world):
    login_as(client, world["agent"])
    page = client.get("/deadlines/mine").get_data(as_text=True)
    assert (
        "自分の期限" in page
        and "/deadlines/mailboxes" not in page
        and "/deadlines/admin/outbox" not in page
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/deadlines/mine")})
    login_as(client, world["admin"])
    page = client.get("/deadlines/mine").get_data(as_text=True)
    assert "/deadlines/mailboxes" in page and "/deadlines/admin/outbox" in page


def test_resolved_threads_show_no_badge(client, session, world):
    world["thread"].due_at = jst(2026, 11, 20, 18)
    world["thread"].status = Status.RESOLVED
    session.flush()
    login_as(client, world["agent"])
    page = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert 'data-testid="deadline"' not in page and "期限は適用されません" in page

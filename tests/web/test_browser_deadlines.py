"""Through a real headless Chromium: set a deadline on a thread, see the badges, edit business hours, resend a stuck alert."""

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import Mailbox, OutboxItem, OutboxStatus, Role, Thread
from inbox.services import deadlines, outbox
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser
JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def site(fresh_databases, tmp_path):

    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            box = make_mailbox(session, "support", timezone="Asia/Tokyo")
            agent = make_user(session, Role.AGENT, mailboxes=[box], email="agent@example.test")
            lead = make_user(session, Role.LEAD, mailboxes=[box], email="lead@example.test")
            admin = make_user(session, Role.ADMIN, email="admin@example.test")
            thread = make_thread(session, box, "商品が届きません", assignee_id=agent.id)
            session.commit()
            ids = {"box": box.id, "thread": thread.id}
        yield live, ids, {"agent": agent.email, "lead": lead.email, "admin": admin.email}


def test_agent_sets_a_past_deadline_sees_overdue_everywhere_then_uses_a_quick_pick(page, site):
    live, ids, people = site
    log_in(page, live.url, people["agent"], next_path="/deadlines/mine")
    page.goto(f"{live.url}/threads/{ids['thread']}")
    panel = page.locator("[data-testid=deadline-panel]")
    assert "期限はありません。" in panel.inner_text()
    page.fill("[data-testid=deadline-day]", "2026-01-05")
    page.fill("[data-testid=deadline-time]", "10:30")
    with page.expect_navigation():  # wait for the new page, not the old one
        panel.get_by_role("button", name="期限を設定").click()
    page.wait_for_selector(".flash")
    assert "期限を保存しました。" in page.inner_text(".flash")
    badge = panel.locator("[data-testid=deadline]")
    assert badge.get_attribute("data-stage") == "overdue"
    assert "2026-01-05 10:30" in badge.inner_text() and "期限切れ" in badge.inner_text()
    assert page.get_attribute("[data-testid=badge-overdue]", "data-count") == "1"

    with page.expect_navigation():  # wait for the new page, not the old one
        page.click("[data-testid=deadline-counts]")
    rows = page.locator("[data-testid=my-deadlines] tbody tr")
    assert rows.count() == 1 and "商品が届きません" in rows.first.inner_text()

    page.goto(f"{live.url}/threads/{ids['thread']}")
    with page.expect_navigation():  # wait for the new page, not the old one
        panel.get_by_role("button", name="+5営業日").click()
    page.wait_for_selector(".flash")
    with live.runtime.Session() as session:
        thread = session.get(Thread, ids["thread"])
        expected = deadlines.due_from_input(
            deadlines.calendar_for(session.get(Mailbox, ids["box"])), now=utcnow(), pick="+5bd"
        )
        assert thread.due_at == expected and thread.due_set_by_hand
    shown = expected.astimezone(JST).strftime("%Y-%m-%d %H:%M")
    assert shown in panel.locator("[data-testid=deadline]").inner_text()
    assert page.get_attribute("[data-testid=badge-overdue]", "data-count") == "0"

    with page.expect_navigation():  # wait for the new page, not the old one
        panel.get_by_role("button", name="期限を解除").click()
    page.wait_for_selector(".flash")
    assert "期限はありません。" in panel.inner_text()


def test_lead_edits_business_hours_and_a_bad_value_is_explained(page, site):
    live, ids, people = site
    log_in(page, live.url, people["lead"], next_path="/deadlines/mine")
    with page.expect_navigation():  # wait for the new page, not the old one
        page.click("nav >> text=営業時間")
    with page.expect_navigation():  # wait for the new page, not the old one
        page.click("text=support")
    form = page.locator("[data-testid=calendar-form]")
    page.fill("input[name=hours_sat]", "10:00-15:00")
    page.fill("textarea[name=closed]", "2026-12-29..2027-01-03\n2026-08-13")
    page.locator("input[name=rule_amount]").first.fill("4")
    page.locator("select[name=rule_unit]").first.select_option("hours")
    with page.expect_navigation():  # wait for the new page, not the old one
        form.get_by_role("button", name="保存").click()
    assert "営業時間を保存しました。" in page.inner_text(".flash")
    assert page.input_value("input[name=hours_sat]") == "10:00-15:00"
    with live.runtime.Session() as session:
        box = session.get(Mailbox, ids["box"])
        assert box.calendar["closed"] == ["2026-12-29..2027-01-03", "2026-08-13"]
        assert box.deadline_rules == [{"business_hours": 4.0}]
    page.fill("input[name=hours_mon]", "18:00-09:00")
    with page.expect_navigation():  # wait for the new page, not the old one
        form.get_by_role("button", name="保存").click()
    assert "月曜日" in page.inner_text(".flash-error") and "hours.mon" not in page.inner_text(".flash-error")
    assert page.input_value("input[name=hours_mon]") == "18:00-09:00"


def test_admin_sends_a_failed_alert_mail_again(page, site):
    live, ids, people = site
    with live.runtime.Session() as session:
        item = outbox.enqueue(
            session,
            kind="alert",
            idempotency_key="alert:browser",
            now=utcnow(),
            recipients=["agent@example.test"],
            raw=b"x",
            thread_id=ids["thread"],
        )
        item.status, item.last_error = OutboxStatus.FAILED, "550 5.1.1 No such user"
        session.commit()
        item_id = item.id
    log_in(page, live.url, people["admin"], next_path="/deadlines/mine")
    with page.expect_navigation():  # wait for the new page, not the old one
        page.click("nav >> text=未送信の通知")
    row = page.locator(f"[data-item-id='{item_id}']")
    assert "550 5.1.1 No such user" in row.inner_text() and "失敗" in row.inner_text()
    with page.expect_navigation():  # wait for the new page, not the old one
        row.get_by_role("button", name="再送").click()
    assert "再送の待ち行列に入れました" in page.inner_text(".flash")
    assert "期限通知メールはすべて送信済みです。" in page.inner_text("[data-testid=stuck-alerts]")
    with live.runtime.Session() as session:
        status = session.scalar(select(OutboxItem.status).where(OutboxItem.id == item_id))
    assert status == OutboxStatus.QUEUED

"""Through a real headless Chromium: what a lead needs at a glance, all in the reader's language.

The overview's overdue and due-today counts per agent, the alerts-sent page, the reasons a bulk
action skipped threads, the 本日 quick pick pressed after business hours (server clock set with
time_machine), and a walk of the main pages in Japanese and in English that fails on raw codes
and known untranslated fragments.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from inbox.db import utcnow
from inbox.models import Alert, Event, Mailbox, OutboxStatus, Role, Status
from inbox.services import deadlines, outbox
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser
JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def site(fresh_databases, tmp_path_factory):
    with live_app(fresh_databases.migrated_url(), tmp_path_factory.mktemp("lead")) as live:
        with live.runtime.Session() as session:
            now = utcnow()
            support = make_mailbox(session, "support", timezone="Asia/Tokyo", last_error="No IMAP host name is set.",
                                   last_error_at=now)  # fmt: skip
            sales = make_mailbox(session, "sales", timezone="Asia/Tokyo")
            make_user(
                session,
                Role.LEAD,
                mailboxes=[support, sales],
                email="lead@example.test",
                name="Lead",
            )
            make_user(
                session, Role.ADMIN, mailboxes=[support], email="admin@example.test", name="Admin"
            )
            make_user(
                session, Role.ADMIN, email="admin-en@example.test", name="Admin EN", language="en"
            )
            suzuki = make_user(
                session, mailboxes=[support, sales], email="suzuki@example.test", name="Suzuki"
            )
            make_user(session, mailboxes=[sales], email="yamada@example.test", name="Yamada")
            late = make_thread(session, support, "Parcel A", status=Status.OPEN, assignee_id=suzuki.id,
                               due_at=now - timedelta(hours=3))  # fmt: skip
            make_thread(session, support, "Parcel B", status=Status.OPEN, assignee_id=suzuki.id,
                        due_at=now + timedelta(minutes=2))  # fmt: skip
            for i in range(2):
                make_thread(session, support, f"Size {i}")
            make_thread(session, sales, "Order C")
            item = outbox.enqueue(session, kind="reply", idempotency_key="lead:1", now=now, thread_id=late.id,
                                  recipients=["c@example.jp"], mailbox_id=support.id, raw=b"x")  # fmt: skip
            item.status, item.last_error = (
                OutboxStatus.FAILED,
                "No SMTP server is set for this mailbox.",
            )
            stuck = outbox.enqueue(session, kind="alert", idempotency_key="lead:2", now=now, thread_id=late.id,
                                   recipients=["lead@example.test"], raw=b"x")  # fmt: skip
            stuck.status = OutboxStatus.UNKNOWN
            stuck.last_error = "The worker stopped after it had started sending; the message may or may not have gone out."
            session.add_all([
                Event(thread_id=late.id, kind="reply_queued", data={"outbox": item.id}),
                Event(thread_id=late.id, kind="send_failed", data={"outbox": item.id}),
                Event(thread_id=late.id, kind="deadline_cleared", data={"by": "hand"}),
                Event(thread_id=late.id, kind="deadline_alert", data={"stage": "overdue"}),
                Event(thread_id=late.id, kind="something_new", data={}),
                Alert(thread_id=late.id, stage="overdue", due_at=late.due_at),
                Alert(thread_id=late.id, stage="due_today", due_at=late.due_at - timedelta(hours=1),
                      created_at=now - timedelta(days=40)),
            ])  # fmt: skip
            session.commit()
            ids = {"late": late.id, "support": support.id, "sales": sales.id, "suzuki": suzuki.id}
        yield live, ids


# The site is shared by the module (one server start); the tests run in file order and this one
# reads the deadlines before the 本日 test moves one.
def test_overview_counts_late_threads_per_agent_and_the_alert_log_lists_what_was_sent(page, site):
    live, ids = site
    log_in(page, live.url, "lead@example.test", next_path="/overview")
    row = page.locator(f"[data-testid=agents] tr[data-agent='{ids['suzuki']}']")
    expect(row.locator("[data-testid=agent-overdue]")).to_have_text("1")
    if utcnow().astimezone(JST).date() == (utcnow() + timedelta(minutes=2)).astimezone(JST).date():
        expect(row.locator("[data-testid=agent-due-today]")).to_have_text("1")
    with page.expect_navigation():
        row.locator("[data-testid=agent-overdue] a").click()
    expect(page.locator("[data-testid=queue] tbody")).to_contain_text("Parcel A")
    assert "Parcel B" not in page.inner_text("[data-testid=queue] tbody")

    page.goto(f"{live.url}/deadlines/alerts")
    table = page.locator("[data-testid=sent-alerts]")
    expect(table).to_contain_text("Parcel A")
    assert table.locator("tbody tr").count() == 2
    assert "期限切れ" in table.inner_text() and "当日" in table.inner_text()
    since = (utcnow() - timedelta(days=1)).astimezone(JST).strftime("%Y-%m-%d")
    page.fill("input[name=since]", since)
    page.select_option("select[name=mailbox]", str(ids["support"]))
    with page.expect_navigation():
        page.click("form.audit-filters button[type=submit]")
    expect(table.locator("tbody tr")).to_have_count(1)
    assert table.locator("tbody tr").get_attribute("data-stage") == "overdue"


def test_bulk_assign_says_why_each_thread_was_skipped(page, site):
    live, _ids = site
    log_in(page, live.url, "lead@example.test", next_path="/?view=unassigned")
    rows = page.locator("[data-testid=queue] tbody tr")
    expect(rows).to_have_count(3)  # Size 0, Size 1 (support) and Order C (sales)
    page.check("input.select-all")
    yamada = page.locator("[data-testid=bulk] select[name=assignee] option", has_text="Yamada")
    page.select_option("[data-testid=bulk] select[name=assignee]", yamada.get_attribute("value"))
    with page.expect_navigation():
        page.click("[data-testid=bulk] button[value=assign]")
    flashes = page.locator(".flash")
    expect(flashes.first).to_contain_text("1 件を変更")
    expect(flashes.nth(1)).to_have_text(
        "2 件をスキップ: Yamada は support のメンバーではありません。"
    )


def test_today_pressed_after_business_hours_says_where_the_deadline_went(page, site):
    live, ids = site
    now = utcnow().astimezone(JST)
    after_hours = now.replace(hour=19, minute=0, second=0, microsecond=0)
    if after_hours <= now:
        after_hours += timedelta(days=1)  # 19:00 is after every day's close, closed days included
    with time_machine.travel(after_hours, tick=False):
        log_in(page, live.url, "lead@example.test", next_path=f"/threads/{ids['late']}")
        with page.expect_navigation():
            page.locator("[data-testid=deadline-panel]").get_by_role("button", name="本日").click()
        with live.runtime.Session() as session:
            cal = deadlines.calendar_for(session.get(Mailbox, ids["support"]))
            due = deadlines.due_from_input(cal, now=after_hours, pick="today")
    when = due.astimezone(JST).strftime("%Y-%m-%d %H:%M")
    assert due.astimezone(JST).date() > after_hours.date()
    expect(page.locator(".flash").first).to_have_text(
        f"本日は営業時間外のため、期限を次の営業日 {when} にしました。"
    )


WALK = [
    "/",
    "/?view=all",
    "/threads/{late}",
    "/overview",
    "/deadlines/alerts",
    "/deadlines/mine",
    "/deadlines/admin/outbox",
    "/outbox/failed",
    "/admin/mailboxes",
    "/admin/users",
    "/notifications",
    "/approvals/",
    "/rules/",
    "/settings",
    "/no-such-page",
]
RAW_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # reply_queued, send_failed, due_today ...
ENGLISH = (
    "No SMTP server",
    "No IMAP host",
    "The worker stopped",
    "Not found",
    "No such page",
    "expected ",
)
JAPANESE = ("期限切れ", "本日", "営業時間", "スキップ", "メールボックス", "自分", "チーム")


def _visible_text(page) -> str:
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    return page.inner_text("body")


@pytest.mark.parametrize(
    "who, foreign", [("admin@example.test", ENGLISH), ("admin-en@example.test", JAPANESE)]
)
def test_walk_the_pages_without_raw_codes_or_the_other_language(page, site, who, foreign):
    live, ids = site
    log_in(page, live.url, who)
    found = {}
    for path in WALK:
        page.goto(live.url + path.format(**ids))
        text = _visible_text(page)
        bad = sorted(set(RAW_CODE.findall(text)) | {f for f in foreign if f in text})
        if bad:
            found[path] = bad
    assert found == {}

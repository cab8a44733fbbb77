"""Through a real headless Chromium: open the queue, filter and bulk-assign, search in Japanese."""

from datetime import UTC, datetime, timedelta

import pytest

from inbox.models import Role, Status
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        now = datetime.now(UTC)
        with live.runtime.Session() as session:
            support, sales = make_mailbox(session, "support"), make_mailbox(session, "sales")
            make_thread(session, support, "サイズ交換の相談", at=now - timedelta(minutes=5))
            make_thread(
                session, support, "商品が届きません", body="ご注文の配送が遅れています。",
                at=now - timedelta(days=2), due_at=now - timedelta(hours=3),
            )  # fmt: skip
            make_thread(session, sales, "見積もりのお願い", at=now - timedelta(minutes=1))
            make_thread(session, support, "完了した件", status=Status.RESOLVED)
            lead = make_user(session, Role.LEAD, mailboxes=[support, sales], email="lead@example.test")
            agent = make_user(session, mailboxes=[support], email="agent@example.test", name="鈴木")
            session.commit()
            people = {"lead": lead, "agent": agent, "support": support, "sales": sales}
        yield live, people


def subjects(page):
    return [r.inner_text() for r in page.locator("[data-testid=queue] tbody tr td:nth-child(5) a").all()]


def test_queue_opens_on_unresolved_threads_overdue_first_with_counts(page, site):
    live, people = site
    log_in(page, live.url, people["lead"].email)
    assert subjects(page) == ["商品が届きません", "見積もりのお願い", "サイズ交換の相談"]
    assert page.inner_text("[data-testid=count-default]") == "3"
    assert page.inner_text("[data-testid=count-overdue]") == "1"
    assert page.inner_text("h1") == "未解決"
    with page.expect_navigation():
        page.click("[data-testid=views] >> text=対応完了")
    assert subjects(page) == ["完了した件"]


def test_lead_filters_by_mailbox_then_bulk_assigns_with_select_all(page, site):
    live, people = site
    log_in(page, live.url, people["lead"].email)
    page.select_option("[data-testid=filters] select[name=mailbox]", str(people["support"].id))
    page.click("[data-testid=filters] button[type=submit]")
    page.wait_for_url("**mailbox=*")
    assert sorted(subjects(page)) == ["サイズ交換の相談", "商品が届きません"]
    page.check("input.select-all")  # shown by queue.js; ticks every row
    assert page.locator("input[name=thread]:checked").count() == 2
    page.select_option("[data-testid=bulk] select[name=assignee]", str(people["agent"].id))
    page.click("[data-testid=bulk] button[value=assign]")
    page.wait_for_selector(".flash")
    assert "2 件を変更" in page.inner_text(".flash")
    assert f"mailbox={people['support'].id}" in page.url  # back on the same filtered view
    assignees = page.locator("[data-testid=queue] tbody tr td:nth-child(8)").all_inner_texts()
    assert assignees == ["鈴木", "鈴木"]
    page.select_option("[data-testid=filters] select[name=assignee]", "none")
    page.click("[data-testid=filters] button[type=submit]")
    page.wait_for_url("**assignee=none*")
    assert subjects(page) == []
    assert page.inner_text("[data-testid=queue] tbody") == "該当する問い合わせはありません。"


def test_search_in_japanese_from_the_nav_box(page, site):
    live, people = site
    log_in(page, live.url, people["agent"].email)
    page.fill("nav .nav-search input[name=q]", "配送")
    page.press("nav .nav-search input[name=q]", "Enter")
    page.wait_for_selector("[data-testid=results]")
    rows = page.locator("[data-testid=results] tbody tr")
    assert rows.count() == 1
    assert "商品が届きません" in rows.first.inner_text()
    assert "配送が遅れています" in rows.first.inner_text()
    page.fill(".search-form input[name=q]", "見積もり")  # the sales mailbox is not the agent's
    with page.expect_navigation():
        page.click(".search-form button")
    assert "見つかりませんでした" in page.inner_text("[data-testid=results]")
    page.fill(".search-form input[name=q]", "遅れています")
    with page.expect_navigation():
        page.click(".search-form button")
    page.click("[data-testid=results] >> text=商品が届きません")
    page.wait_for_selector("article.thread [data-testid=message]")  # the page may still be arriving
    assert "配送が遅れています" in page.inner_text("article.thread")

"""A customer answers the satisfaction survey in a real browser, without logging in, on a phone."""

from __future__ import annotations

import pytest

from inbox.db import utcnow
from inbox.models import CsatAnswer, Status
from inbox.services import csat
from tests.factories import make_mailbox, make_thread
from tests.web.live import live_app

pytestmark = pytest.mark.browser


def test_customer_answers_and_changes_the_survey_from_a_phone_without_log_in(
    browser, fresh_databases, tmp_path
):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        secret = live.runtime.settings.secret_key
        with live.runtime.Session() as session:
            box = make_mailbox(session, status_after_reply=Status.RESOLVED)
            csat.configure(box, enabled=True, base_url=live.url)
            thread = make_thread(
                session, box, "Where is my teapot?", body="My order has not arrived."
            )
            session.commit()
            url = csat.survey_url(box, thread, secret, utcnow())
            thread_id = thread.id
        context = browser.new_context(viewport={"width": 375, "height": 740})
        try:
            page = context.new_page()
            page.goto(url)
            assert page.locator("h1").inner_text() == "How did we do?"  # English thread
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.check("[data-testid=score-4]")
            page.fill("textarea[name=comment]", "Quick and kind.")
            with page.expect_navigation():
                page.click("[data-testid=survey-submit]")
            assert page.locator("[data-testid=survey-saved]").is_visible()
            page.check("[data-testid=score-5]")
            with page.expect_navigation():
                page.click("[data-testid=survey-submit]")
            page.goto(url.split("?")[0] + "?lang=ja")
            assert page.locator("h1").inner_text() == "今回の対応はいかがでしたか？"
            assert page.is_checked("[data-testid=score-5]")
            page.goto(url + "broken")
            assert "リンクは無効" in page.locator("[data-testid=survey-error]").inner_text()
        finally:
            context.close()
        with live.runtime.Session() as session:
            row = session.get(CsatAnswer, thread_id)
            assert (row.score, row.comment) == (5, "Quick and kind.")


def test_admin_chooses_the_follow_up_mail_and_the_customer_answers_from_it(
    browser, page, fresh_databases, tmp_path
):
    """The admin sets the follow-up mode on the mailbox's survey settings; the scheduler's scan
    queues the mail; the customer opens its link without logging in and answers. The same admin
    then sees the thread's category rising on the voice-of-the-customer page and follows it."""
    import email
    import email.policy
    from datetime import timedelta

    from sqlalchemy import select

    from inbox.models import Category, OutboxItem, Role, ThreadFact
    from inbox.services import csat_followup
    from tests.factories import make_user
    from tests.web.live import log_in

    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        now = utcnow()
        with live.runtime.Session() as session:
            box = make_mailbox(session, "shop")
            make_user(session, Role.ADMIN, mailboxes=[box], email="admin@example.test")
            category = Category(name="配送遅延")
            session.add(category)
            session.flush()
            thread = make_thread(
                session,
                box,
                "荷物について",
                body="荷物がまだ届きません。",
                status=Status.RESOLVED,
                at=now - timedelta(hours=5),
                created_at=now - timedelta(hours=5),
                category_id=category.id,
            )
            session.add(
                ThreadFact(
                    thread_id=thread.id, mailbox_id=box.id, resolved_at=now - timedelta(hours=2)
                )
            )
            session.commit()
            box_id, thread_id, category_id = box.id, thread.id, category.id
        log_in(page, live.url, "admin@example.test")
        page.goto(f"{live.url}/admin/mailboxes/{box_id}")
        with page.expect_navigation():
            page.get_by_test_id("survey-settings-link").click()
        page.get_by_test_id("survey-enabled").check()
        page.get_by_test_id("survey-send-followup").check()
        page.get_by_test_id("survey-delay").fill("1")
        page.get_by_test_id("survey-base-url").fill(live.url)
        with page.expect_navigation():
            page.get_by_test_id("survey-save").click()
        assert "アンケートの設定を保存しました" in page.content()
        assert page.get_by_test_id("survey-send-followup").is_checked()

        assert csat_followup.run(live.runtime, owner="test", now=utcnow()).queued == 1
        with live.runtime.Session() as session:
            item = session.scalar(select(OutboxItem).where(OutboxItem.kind == csat_followup.KIND))
            mail = email.message_from_bytes(item.raw, policy=email.policy.default)
            text = mail.get_body(("plain",)).get_content()
        url = next(w for w in text.split() if "/survey/" in w)  # a Japanese customer: ?lang=ja
        context = browser.new_context(viewport={"width": 375, "height": 740})
        try:
            customer = context.new_page()
            customer.goto(url)
            assert customer.locator("h1").inner_text() == "今回の対応はいかがでしたか？"
            customer.check("[data-testid=score-4]")
            with customer.expect_navigation():
                customer.click("[data-testid=survey-submit]")
            assert customer.locator("[data-testid=survey-saved]").is_visible()
        finally:
            context.close()
        with live.runtime.Session() as session:
            assert session.get(CsatAnswer, thread_id).score == 4

        page.goto(f"{live.url}/reports/voc")
        row = page.get_by_test_id("top-categories").locator("tr", has_text="配送遅延")
        assert "+1" in row.inner_text()
        with page.expect_navigation():
            row.get_by_role("link", name="配送遅延").click()
        assert f"/reports/voc/threads?category={category_id}" in page.url
        assert page.get_by_role("link", name="荷物について").is_visible()

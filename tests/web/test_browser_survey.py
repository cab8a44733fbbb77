"""A customer answers the satisfaction survey in a real browser, without logging in, on a phone."""

from __future__ import annotations

import pytest

from inbox.db import utcnow
from inbox.models import CsatAnswer, Status
from inbox.services import csat
from tests.factories import make_mailbox, make_thread
from tests.web.live import live_app

pytestmark = pytest.mark.browser


def test_customer_answers_and_changes_the_survey_from_a_phone_without_log_in(browser, fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        secret = live.runtime.settings.secret_key
        with live.runtime.Session() as session:
            box = make_mailbox(session, status_after_reply=Status.RESOLVED)
            csat.configure(box, enabled=True, base_url=live.url)
            thread = make_thread(session, box, "Where is my teapot?", body="My order has not arrived.")
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

"""The reports page in a real Chromium: charts drawn under the strict CSP, the period changed
through the form, and a number followed to the threads behind it (screenshot kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.services.test_kpi_facts import Centre, jst
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            centre = Centre(session, live.runtime)
            may = centre.customer_writes(jst(2026, 5, 1, 17))
            centre.reply(may, jst(2026, 5, 7, 9), jst(2026, 5, 7, 10))
            april = centre.customer_writes(jst(2026, 4, 10, 10))
            april.subject = "四月のお問い合わせ"
            session.commit()
            ids = {"may": may.id, "april": april.id, "lead": centre.lead.email}
        yield live, ids


def test_change_the_period_and_follow_a_number_to_its_threads(browser, site, tmp_path):
    live, ids = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    # CSP refusals show as console errors; (the browser's own favicon request 404s: not ours)
    page.on("console", lambda m: problems.append(m.text) if "Refused" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        log_in(page, live.url, ids["lead"])
        page.goto(f"{live.url}/reports?start=2026-05-01&end=2026-05-31")
        page.wait_for_selector("canvas[data-chart=chart-backlog][data-drawn='1']")
        assert page.locator("[data-testid=now-1]").inner_text() == "1"

        page.fill("[data-testid=period-start]", "2026-04-01")
        page.fill("[data-testid=period-end]", "2026-04-30")
        with page.expect_navigation():
            page.click("[data-testid=apply-period]")
        assert "start=2026-04-01" in page.url
        page.wait_for_selector("canvas[data-chart=chart-times][data-drawn='1']")
        assert page.locator("[data-testid=now-1]").inner_text() == "1"
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "reports_april.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")

        with page.expect_navigation():
            page.click("[data-testid=now-1] a")
        rows = page.locator("[data-testid=report-threads] tbody tr[data-thread-id]")
        assert rows.count() == 1 and rows.first.get_attribute("data-thread-id") == str(ids["april"])
        with page.expect_navigation():
            page.click("[data-testid=report-threads] tbody tr a")
        assert f"/threads/{ids['april']}" in page.url
        assert problems == []
    finally:
        context.close()

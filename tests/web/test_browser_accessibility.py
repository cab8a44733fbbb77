"""axe-core over the main pages at phone and desktop width: no serious or critical violation.

axe-core comes with axe-playwright-python (PyPI; axe-core is MPL-2.0, its licence header is
in the shipped axe.min.js). The pages are those of the layout test's site (an admin, a
thread with long unbroken strings, notifications, approvals, a webhook): the queue, a
thread with its reply composer and note form, the overview, the admin pages, and the
reports, notifications, search, deadline, approval, template and settings pages. Folded
parts (<details>, such as the queue's side bar at phone width) are opened first.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.web.live import log_in
from tests.web.test_browser_layout import site  # noqa: F401  (the shared site fixture)

pytestmark = pytest.mark.browser

SEVERE = ("serious", "critical")


def pages(ids: dict[str, int]) -> list[str]:
    return [
        "/",
        "/?view=all",
        f"/threads/{ids['thread']}",
        "/overview",
        "/admin/users",
        f"/admin/users/{ids['user']}",
        "/admin/mailboxes",
        f"/admin/mailboxes/{ids['mailbox']}",
        "/admin/mailboxes/new?kind=local",
        "/admin/webhooks/",
        "/audit/",
        "/reports",
        "/notifications",
        "/search?q=配送",
        "/deadlines/mine",
        "/deadlines/alerts",
        f"/approvals/{ids['approval']}",
        "/reply-templates/new",
        "/settings",
        "/customers",
        f"/customers/{ids['customer']}",
    ]


def severe_violations(page) -> list[str]:
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")  # folded parts too
    results = Axe().run(page)
    found = []
    for v in results.response["violations"]:
        if v["impact"] in SEVERE:
            targets = [", ".join(map(str, n["target"])) for n in v["nodes"]][:3]
            found.append(f"{v['id']} ({v['impact']}): {v['help']} — {targets}")
    return found


@pytest.mark.parametrize("width, height", [(375, 740), (1366, 800)])
def test_main_pages_have_no_serious_or_critical_axe_violations(browser, site, width, height):  # noqa: F811
    live, ids = site
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/login")
        problems = {"/login": v} if (v := severe_violations(page)) else {}
        log_in(page, live.url, "admin@example.test")
        for path in pages(ids):
            resp = page.goto(live.url + path)
            assert resp.status == 200, path
            if found := severe_violations(page):
                problems[path] = found
        assert problems == {}
    finally:
        context.close()

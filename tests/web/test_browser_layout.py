"""Every main page fits a 375 px phone and a 1366 px desktop without horizontal scrolling.

Measured in a real Chromium: ``document.documentElement.scrollWidth <= innerWidth`` on each
page, as an admin (who sees every navigation link) with a thread whose subject, customer
address and body are long unbroken strings, the usual cause of a page wider than a phone.
At desktop width, no navigation label wraps onto a second line.
"""

from __future__ import annotations

import pytest

from inbox.db import utcnow
from inbox.models import (
    Alert,
    ApprovalRequest,
    ApprovalStatus,
    Category,
    CustomerProfile,
    Role,
    SortingRule,
    Status,
    ThreadOrderNumber,
)
from inbox.services import notifications, webhooks
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser

LONG_WORD = "注文番号SS-2026110512345678901234567890のお問い合わせ" * 3
LONG_URL = "https://shop.example.jp/orders/" + "a1b2c3d4e5" * 20


@pytest.fixture(scope="module")
def site(fresh_databases, tmp_path_factory):
    with live_app(fresh_databases.migrated_url(), tmp_path_factory.mktemp("layout")) as live:
        with live.runtime.Session() as session:
            box = make_mailbox(session, "support-centre-tokyo-main", address="support@example.test")
            admin = make_user(session, Role.ADMIN, mailboxes=[box], email="admin@example.test",
                              name="管理者 花子")
            thread = make_thread(session, box, LONG_WORD, status=Status.NEW,
                                 customer="very.long.customer.address.for.testing@example-shop.co.jp",
                                 body=f"{LONG_URL}\n" + "長い行" * 200, assignee_id=admin.id)
            for i in range(5):
                make_thread(session, box, f"配送について {i}", customer=f"c{i}@example.jp")
            trainee = make_user(session, mailboxes=[box], name="研修 太郎")
            long_text = f"{LONG_URL}\n" + "長い行" * 200
            held = ApprovalRequest(  # awaiting the admin's approval (no leads), and one returned
                thread_id=thread.id, mailbox_id=box.id, author_id=trainee.id, reason="user",
                reply_key="layout", draft={"to": "a@example.jp", "subject": LONG_WORD, "text": long_text},
                written_text=long_text, created_at=utcnow())
            returned = ApprovalRequest(
                thread_id=thread.id, mailbox_id=box.id, author_id=admin.id, reason="mailbox",
                reply_key="layout-2", status=ApprovalStatus.RETURNED, comment=LONG_URL,
                draft={"text": long_text}, written_text=long_text, created_at=utcnow(),
                diff=f"--- written\n+++ approved\n-{LONG_URL}\n+{LONG_WORD}")
            session.add_all([held, returned])
            session.add(Alert(thread_id=thread.id, stage="overdue", due_at=utcnow()))  # alerts-sent page
            notifications.notify(session, admin.id, "assigned", now=utcnow(), thread_id=thread.id, key="layout")
            category = Category(mailbox_id=box.id, name=LONG_WORD[:120])
            session.add(category)
            session.flush()
            rule = SortingRule(
                mailbox_id=box.id, name=LONG_WORD[:120], position=1, state={},
                conditions=[{"field": "subject", "value": LONG_WORD[:200]}],
                actions=[{"type": "add_tags", "value": [LONG_WORD[:60]]}, {"type": "set_category", "value": category.id}],
            )
            session.add(rule)
            hook = webhooks.create(session, live.runtime.secrets, by=admin, allow_private=True,
                                   now=utcnow(), name=LONG_WORD[:120], url=LONG_URL, events=list(webhooks.EVENTS),
                                   fmt="json", mailbox_id=box.id)
            webhooks.ping(session, hook, by=admin, now=utcnow())
            session.add(CustomerProfile(contact_id=thread.contact_id, company=LONG_WORD[:255],
                                        phone="0" * 64, notes=f"{LONG_URL}\n{LONG_WORD}"))
            session.add(ThreadOrderNumber(thread_id=thread.id, number="SS-" + "1" * 61))
            session.commit()
            ids = {"thread": thread.id, "mailbox": box.id, "user": admin.id, "approval": held.id,
                   "webhook": hook.id, "rule": rule.id, "customer": thread.contact_id}
        yield live, ids


def pages(ids: dict[str, int]) -> list[str]:
    return [
        "/",
        "/?view=all",
        "/?view=automatic",
        f"/threads/{ids['thread']}",
        "/search?q=配送",
        "/overview",
        "/reports",
        "/reports/threads?figure=received",
        "/mentions",
        "/deadlines/mine",
        "/deadlines/alerts",
        "/deadlines/settings",
        f"/deadlines/mailboxes/{ids['mailbox']}",
        "/outbox/failed",
        "/reply-templates/",
        "/reply-templates/new",
        "/settings",
        "/account/password",
        "/account/two-factor",
        "/audit/",
        "/admin/users",
        f"/admin/users/{ids['user']}",
        "/admin/mailboxes",
        f"/admin/mailboxes/{ids['mailbox']}",
        "/admin/flagged",
        "/admin/mailboxes/new?kind=local",
        "/reports/voc",
        "/reports/voc/term?term=" + LONG_WORD,
        "/approvals/",
        f"/approvals/{ids['approval']}",
        "/approvals/mine",
        "/notifications",
        f"/escalation/mailboxes/{ids['mailbox']}",
        f"/retention/mailboxes/{ids['mailbox']}",
        f"/survey-settings/mailboxes/{ids['mailbox']}",
        "/reports/voc/threads?tag=" + LONG_WORD,
        "/settings/tokens",
        "/admin/api-tokens",
        "/api/v1/docs",
        "/admin/webhooks/",
        "/admin/webhooks/new",
        f"/admin/webhooks/{ids['webhook']}",
        "/rules/",
        "/rules/new",
        f"/rules/{ids['rule']}/edit",
        "/categories/",
        f"/categories/mailboxes/{ids['mailbox']}",
        "/customers",
        "/customers?q=" + "SS-" + "1" * 61,
        f"/customers/{ids['customer']}",
    ]


def overflow(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("width, height", [(375, 740), (1366, 800)])
def test_main_pages_fit_the_screen_without_horizontal_scroll(browser, site, width, height):
    live, ids = site
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/login")
        assert overflow(page)[0] <= width, "log-in page"
        log_in(page, live.url, "admin@example.test")
        too_wide = {}
        for path in pages(ids):
            resp = page.goto(live.url + path)
            assert resp.status == 200, path
            scroll, inner = overflow(page)
            if scroll > inner:
                too_wide[path] = scroll
        assert too_wide == {}, f"wider than {width} px"
    finally:
        context.close()


def test_navigation_labels_stay_on_one_line_at_desktop_width(browser, site):
    live, _ids = site
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    try:
        page = context.new_page()
        log_in(page, live.url, "admin@example.test")
        wrapped = page.evaluate(
            """() => [...document.querySelectorAll('.topbar nav a, .topbar .me a, .topbar .me button')]
                 .filter(a => a.getClientRects().length > 1 ||
                              a.getBoundingClientRect().height > 2 * parseFloat(getComputedStyle(a).fontSize) + 4)
                 .map(a => a.textContent.trim())"""
        )
        assert wrapped == []
    finally:
        context.close()


def test_phone_folds_the_queue_sidebar_and_filters_away(browser, site):
    live, _ids = site
    context = browser.new_context(viewport={"width": 375, "height": 740})
    try:
        page = context.new_page()
        log_in(page, live.url, "admin@example.test")
        assert not page.locator("[data-testid=views] ul").first.is_visible()
        assert not page.locator("[data-testid=filters] select").first.is_visible()
        page.click("[data-testid=views] summary")
        assert page.locator("[data-testid=views] ul").first.is_visible()
        page.click("[data-testid=filters-fold] summary")
        assert page.locator("[data-testid=filters] select").first.is_visible()
        row = page.locator("[data-testid=queue] tbody tr").first
        assert row.bounding_box()["width"] <= 375
    finally:
        context.close()

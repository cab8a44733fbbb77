"""Through a real headless Chromium: a lead assigns a thread to an agent in one browser; the
agent, in another, sees the unread count, the notification, opens it and reads it."""

import pytest
from playwright.sync_api import expect

from inbox.models import Role
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            mailbox = make_mailbox(session, "support")
            thread = make_thread(session, mailbox, "返品の相談", customer="yamada@example.jp")
            make_user(session, Role.LEAD, mailboxes=[mailbox], email="lead@example.test", name="田中")
            make_user(session, Role.AGENT, mailboxes=[mailbox], email="agent@example.test", name="鈴木")
            session.commit()
            live.thread_id = thread.id
        yield live


def test_an_assignment_in_one_browser_shows_as_an_unread_notification_in_another(browser, site):
    live = site
    lead = browser.new_context().new_page()
    agent = browser.new_context().new_page()
    try:
        log_in(agent, live.url, "agent@example.test")
        expect(agent.locator("[data-testid=nav-notifications]")).to_be_visible()
        assert agent.locator("[data-testid=notification-badge]").count() == 0

        log_in(lead, live.url, "lead@example.test")
        lead.goto(f"{live.url}/threads/{live.thread_id}")
        lead.select_option("select[name=assignee]", label="鈴木")
        lead.click("form:has(select[name=assignee]) button")
        expect(lead.locator("[data-testid=assignee]")).to_have_text("鈴木")

        agent.reload()
        expect(agent.locator("[data-testid=notification-badge]")).to_have_text("1")
        agent.click("[data-testid=nav-notifications]")
        agent.wait_for_url("**/notifications")
        item = agent.locator("[data-testid=notification]")
        expect(item).to_have_count(1)
        expect(item).to_have_attribute("data-unread", "true")
        assert "田中 さんがあなたを担当に割り当てました" in item.inner_text()
        assert "返品の相談" in item.inner_text()
        agent.click("[data-testid=open-notification]")
        agent.wait_for_url(f"**/threads/{live.thread_id}")
        assert agent.locator("[data-testid=notification-badge]").count() == 0

        # The agent follows the thread; the lead's next change reaches them too.
        agent.click("[data-testid=follow]")
        expect(agent.locator("[data-testid=unfollow]")).to_be_visible()
        lead.reload()
        lead.select_option("[data-testid=status-form] select", "open")
        lead.click("[data-testid=status-form] button")
        agent.goto(f"{live.url}/notifications")
        expect(agent.locator("[data-testid=notification-badge]")).to_have_text("1")
        agent.click("[data-testid=mark-all-read]")
        expect(agent.locator("[data-testid=notification][data-unread=true]")).to_have_count(0)
        assert agent.locator("[data-testid=notification-badge]").count() == 0
    finally:
        lead.context.close()
        agent.context.close()

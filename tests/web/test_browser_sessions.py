"""Through a real headless Chromium: cookies copied before log-out or a password change stop working."""

from __future__ import annotations

import pytest

from inbox.db import utcnow
from inbox.models import Role, User
from inbox.services import accounts
from tests.factories import PASSWORD, make_mailbox, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            box = make_mailbox(session, "support")
            agent = make_user(session, Role.AGENT, mailboxes=[box], email="agent@example.test")
            session.commit()
        yield live, agent


def _copy_cookies_to_new_context(browser, page):
    """A second browser that got hold of the first one's cookies (a stolen or copied cookie)."""
    other = browser.new_context()
    other.add_cookies(page.context.cookies())
    return other


def _is_logged_in(context, base: str) -> bool:
    page = context.new_page()
    page.goto(f"{base}/")
    logged_in = "/login" not in page.url
    page.close()
    return logged_in


def test_cookies_copied_before_log_out_are_refused_after_it(browser, page, site):
    live, agent = site
    page.goto(f"{live.url}/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.check("input[name=remember]")
    with page.expect_navigation():
        page.click("button[type=submit]")
    names = {c["name"] for c in page.context.cookies()}
    assert {"session", "remember_token"} <= names
    thief = _copy_cookies_to_new_context(browser, page)
    try:
        assert _is_logged_in(thief, live.url)
        with page.expect_navigation():
            page.click("form[action='/logout'] button")
        assert "/login" in page.url
        assert not _is_logged_in(thief, live.url)
    finally:
        thief.close()


def test_a_password_change_ends_sessions_in_other_browsers(browser, page, site):
    live, agent = site
    log_in(page, live.url, agent.email)
    second = browser.new_context()
    try:
        other = second.new_page()
        log_in(other, live.url, agent.email)
        with live.runtime.Session() as session:
            user = session.get(User, agent.id)
            accounts.set_password(session, user, "a new password 123", now=utcnow())
            session.commit()
        page.reload()
        assert "/login" in page.url
        assert not _is_logged_in(second, live.url)
    finally:
        second.close()

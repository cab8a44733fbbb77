"""Through a real headless Chromium: two-factor set-up and log-in with a TOTP code or a recovery
code, changing one's own password, and an admin's mailed reset link used once."""

from __future__ import annotations

import email
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from inbox.models import OutboxItem, Role
from tests.factories import PASSWORD, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser

NEW = "a much better passphrase 42"


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            agent = make_user(session, Role.AGENT, email="agent@example.test", name="担当 一郎")
            admin = make_user(session, Role.ADMIN, email="admin@example.test")
            session.commit()
        yield live, agent, admin


def _password_step(page, base: str, email_address: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email_address)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def _enrol(page, base: str) -> tuple[str, list[str]]:
    page.goto(f"{base}/account/two-factor")
    with page.expect_navigation():
        page.click("form[action='/account/two-factor/start'] button")
    assert page.locator(".qr svg").count() == 1  # the QR code, drawn inline
    secret = page.inner_text("[data-testid=totp-secret]").strip()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.click("form[action='/account/two-factor/confirm'] button")
    codes = [c.strip() for c in page.locator("[data-testid=recovery-codes] code").all_inner_texts()]
    assert len(codes) == 10
    return secret, codes


def _log_out(page) -> None:
    with page.expect_navigation():
        page.click("form[action='/logout'] button")


def test_log_in_with_a_totp_code_after_the_password(page, site):
    live, agent, _admin = site
    log_in(page, live.url, agent.email)
    secret, _codes = _enrol(page, live.url)
    _log_out(page)
    _password_step(page, live.url, agent.email)
    assert "/login/code" in page.url  # the password alone is not enough
    page.goto(f"{live.url}/")
    assert "/login" in page.url
    _password_step(page, live.url, agent.email)
    page.fill("input[name=code]", "000000")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login/code" in page.url and page.locator(".flash-error").count() == 1
    # The enrolment code cannot be used again; the next step's code is accepted (±1 step).
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url
    assert page.inner_text("[data-testid=current-user]") == "担当 一郎"


def test_log_in_with_a_recovery_code_which_then_stops_working(page, site):
    live, agent, _admin = site
    log_in(page, live.url, agent.email)
    _secret, codes = _enrol(page, live.url)
    _log_out(page)
    _password_step(page, live.url, agent.email)
    page.fill("input[name=code]", codes[0])
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url
    assert "9" in page.inner_text(".flash-info")
    _log_out(page)
    _password_step(page, live.url, agent.email)
    page.fill("input[name=code]", codes[0])
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login/code" in page.url


def test_changing_own_password_in_the_browser(browser, page, site):
    live, agent, _admin = site
    log_in(page, live.url, agent.email)
    other = browser.new_context()
    try:
        second = other.new_page()
        log_in(second, live.url, agent.email)
        page.goto(f"{live.url}/account/password")
        page.fill("input[name=current]", PASSWORD)
        page.fill("input[name=new]", NEW)
        page.fill("input[name=confirm]", NEW)
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert page.url.endswith("/settings")
        page.goto(f"{live.url}/")
        assert "/login" not in page.url  # this browser stays logged in
        second.goto(f"{live.url}/")
        assert "/login" in second.url  # the other one is logged out
    finally:
        other.close()
    _log_out(page)
    _password_step(page, live.url, agent.email, PASSWORD)
    assert "/login" in page.url
    _password_step(page, live.url, agent.email, NEW)
    assert "/login" not in page.url


def test_an_admin_mails_a_reset_link_that_works_once(browser, page, site):
    live, agent, admin = site
    log_in(page, live.url, admin.email)
    page.goto(f"{live.url}/admin/users/{agent.id}")
    with page.expect_navigation():
        page.click(f"form[action='/admin/users/{agent.id}/reset-link'] button")
    with live.runtime.Session() as session:
        item = session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
        assert item.recipients == [agent.email]
        body = email.message_from_bytes(item.raw).get_payload(decode=True).decode()
    link = re.search(r"https?://\S+/account/reset/\S+", body).group(0)
    visitor = browser.new_context()
    try:
        reset = visitor.new_page()
        reset.goto(link)
        reset.fill("input[name=new]", NEW)
        reset.fill("input[name=confirm]", NEW)
        with reset.expect_navigation():
            reset.click("button[type=submit]")
        assert reset.url.endswith("/login")
        response = reset.goto(link)
        assert response.status == 404  # used once: gone
        _password_step(reset, live.url, agent.email, NEW)
        assert "/login" not in reset.url
    finally:
        visitor.close()

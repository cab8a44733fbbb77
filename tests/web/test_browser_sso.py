"""Through a real headless Chromium: the log-in page's "Sign in with …" buttons fit a phone, and a
click goes to the loopback OpenID Connect provider and back, ending logged in on the queue."""

from __future__ import annotations

import pytest

from inbox import oidc
from inbox.models import Role
from tests.factories import make_user
from tests.support.oidc_provider import OidcProvider
from tests.web.live import live_app

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path, monkeypatch):
    oidc.clear_cache()
    with OidcProvider() as idp:
        monkeypatch.setenv("INBOX_SSO_BROWSER_SECRET", idp.client_secret)
        provider = {"issuer": idp.issuer, "client_id": idp.client_id,
                    "client_secret_env": "INBOX_SSO_BROWSER_SECRET"}
        sso = {"providers": {
            "google": {"kind": "google", "label": "Google", **provider},
            "workspace": {"kind": "google", "label": "Google Workspace（株式会社サンプル東日本カスタマーセンター）", **provider},
        }}  # fmt: skip
        with live_app(fresh_databases.migrated_url(), tmp_path, {"sso": sso}) as live:
            with live.runtime.Session() as session:
                make_user(session, Role.AGENT, email="sso@example.com", name="サイン 花子")
                session.commit()
            yield live, idp
    oidc.clear_cache()


def test_sign_in_with_google_ends_logged_in_on_the_queue(browser, site):
    live, idp = site
    context = browser.new_context(viewport={"width": 375, "height": 740})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/login")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, "log-in page with SSO buttons is wider than a phone"
        with page.expect_navigation(url=f"{live.url}/"):
            page.click("[data-testid=sso-google]")
        assert page.inner_text("[data-testid=current-user]") == "サイン 花子"
        assert "Googleでサインインしました" in page.inner_text(".flash")
        assert idp.token_requests and idp.token_requests[-1]["code_verifier"]
    finally:
        context.close()


def test_an_unverified_address_comes_back_to_the_log_in_page_with_the_reason(browser, site):
    live, idp = site
    idp.tamper = {"email_verified": False}
    page = browser.new_page()
    try:
        page.goto(f"{live.url}/login")
        with page.expect_navigation(url=f"{live.url}/login/sso/google/callback*"):
            page.click("[data-testid=sso-google]")
        assert "確認していません" in page.inner_text(".flash-error")
        assert page.locator("[data-testid=current-user]").count() == 0
    finally:
        page.close()

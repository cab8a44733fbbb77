"""Through a real headless Chromium: "Authorise at Yahoo! JAPAN" → the stub's YConnect consent → back
to the app, which stores the tokens sealed and shows when the consent lapses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from inbox.db import utcnow
from inbox.models import Mailbox, MailboxKind, Role
from inbox.services.mailboxes import create_mailbox
from tests.factories import PASSWORD, make_user
from tests.malls import fast_env
from tests.support.mall_stubs import YahooStub
from tests.web.live import live_app
from tests.web.test_browser_accessibility import severe_violations
from tests.web.test_browser_layout import overflow

pytestmark = pytest.mark.browser


def test_the_consent_button_round_trip(page, fresh_databases, tmp_path):
    with YahooStub() as stub, live_app(fresh_databases.migrated_url(), tmp_path) as live:
        live.runtime.mall_env = fast_env()
        with live.runtime.Session() as s:
            box = create_mailbox(
                s,
                live.runtime.secrets,
                name="Yahoo店",
                kind=MailboxKind.YAHOO,
                settings=stub.settings(),
                secrets={"client_id": stub.client_id, "client_secret": stub.client_secret},
            )
            admin = make_user(s, Role.ADMIN, email="admin@shop.example")
            s.commit()
            box_id = box.id
        page.goto(f"{live.url}/login")
        page.fill("input[name=email]", admin.email)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.goto(f"{live.url}/admin/mailboxes/{box_id}")

        page.click("[data-testid=yahoo-authorise]")

        expect(page.locator(".flash")).to_contain_text("Yahoo! の同意を保存しました")
        expect(page.locator("[data-testid=consent-expiry]")).to_contain_text("失効します")
        assert page.url.endswith(f"/admin/mailboxes/{box_id}")
        with live.runtime.Session() as s:
            secrets = live.runtime.secrets.open(s.get(Mailbox, box_id).secret_encrypted)
        assert secrets["refresh_token"] == stub.refresh_token
        assert [r.params["code_challenge_method"] for r in stub.calls("/authorization")] == ["S256"]

        # the channel page with a pause banner, and the endpoint check, fit a phone and pass axe
        with live.runtime.Session() as s:
            s.get(Mailbox, box_id).change_settings(
                mall_pause={
                    "kind": "signature",
                    "code": "px-04102",
                    "where": "ストアクリエイターPro → 設定 → API設定 (公開鍵)",
                    "since": utcnow().isoformat(),
                    "until": (utcnow() + timedelta(minutes=15)).isoformat(),
                    "tries": 1,
                    "fingerprint": "x",
                }
            )
            s.commit()
        page.set_viewport_size({"width": 375, "height": 740})
        page.goto(f"{live.url}/admin/mailboxes/{box_id}")
        expect(page.locator("[data-testid=pause-banner]")).to_contain_text("px-04102")
        assert overflow(page)[0] <= 375 and severe_violations(page) == []
        with page.expect_navigation():
            page.click("[data-testid=mall-check]")
        expect(page.locator("[data-testid=probe]").first).to_be_visible()
        assert page.locator("[data-testid=probe][data-outcome=ok]").count() >= 2
        assert overflow(page)[0] <= 375 and severe_violations(page) == []

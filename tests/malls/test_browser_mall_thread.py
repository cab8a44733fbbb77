"""Through a real headless Chromium: a Yahoo! question shows the customer neutrally, its order
panel in the side column, and the customer's photo as a preview that enlarges on click."""

from __future__ import annotations

import io

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import expect

from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import MailboxKind, Role, Thread
from inbox.services.mailboxes import create_mailbox
from tests.factories import make_user
from tests.malls import fast_env
from tests.support.mall_stubs import YahooStub
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (900, 600), (200, 60, 40)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def site(fresh_databases, tmp_path):
    with YahooStub() as stub, live_app(fresh_databases.migrated_url(), tmp_path) as live:
        live.runtime.mall_env = fast_env()
        stub.add_topic(
            "topic-77",
            "ラッピングについて",
            "ギフト包装できますか",
            utcnow(),
            orderid="demo-store-10042",
            itemcode="kyusu-01",
            userMaskedIdx="yu-2c9d",
        )
        stub.files["obj-1"] = photo()
        stub.add_message(
            "topic-77",
            "箱の写真です",
            utcnow(),
            files=[
                {"fileName": "box.jpg", "objectKey": "obj-1", "fileExt": "jpg", "fileSize": "1000"}
            ],
        )
        with live.runtime.Session() as s:
            box = create_mailbox(
                s,
                live.runtime.secrets,
                name="Yahoo!店",
                kind=MailboxKind.YAHOO,
                settings=stub.settings(),
                secrets=stub.secrets(),
                now=utcnow(),
            )
            agent = make_user(
                s, Role.AGENT, mailboxes=[box], email="agent@shop.example", language="ja"
            )
            s.commit()
        assert Poller(live.runtime).poll(box.id).counts.imported == 2
        with live.runtime.Session() as s:
            thread_id = s.query(Thread.id).filter(Thread.mailbox_id == box.id).scalar()
        yield live, agent, thread_id


def test_a_yahoo_question_shows_a_neutral_name_the_side_order_panel_and_an_enlargeable_photo(
    browser, site
):
    live, agent, thread_id = site
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        log_in(page, live.url, agent.email)
        expect(page.locator("[data-testid=queue]")).to_contain_text("お客様（…2c9d）")
        with page.expect_navigation():
            page.click("text=ラッピングについて")
        messages = page.locator("[data-testid=message]")
        expect(messages).to_have_count(2)
        expect(messages.first.locator("header strong")).to_have_text("お客様（…2c9d）")
        assert "yahoo:" not in page.content()

        panel = page.locator("[data-testid=mall-panel]")
        expect(panel).to_contain_text("demo-store-10042")
        article, side = page.locator("article.thread").bounding_box(), panel.bounding_box()
        assert (
            side["x"] >= article["x"] + article["width"]
        )  # beside the thread, not under the composer

        thumb = page.locator("[data-testid=thumbnail] img")
        expect(thumb).to_be_visible()
        assert page.evaluate("img => img.naturalWidth", thumb.element_handle()) > 0
        thumb.click()
        enlarged = page.locator("[data-testid=enlarged] img")
        expect(enlarged).to_be_visible()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=enlarged] img').naturalWidth > 0"
        )
        assert (
            page.evaluate("() => document.querySelector('[data-testid=enlarged] img').naturalWidth")
            == 900
        )
        page.keyboard.press("Escape")
        expect(page.locator("[data-testid=enlarged]")).to_have_count(0)

        page.set_viewport_size({"width": 375, "height": 740})
        page.goto(f"{live.url}/threads/{thread_id}")
        expect(page.locator("[data-testid=mall-panel]")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        severe = [
            v["id"]
            for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert severe == []
    finally:
        context.close()

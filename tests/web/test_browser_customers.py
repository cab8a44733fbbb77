"""In a real browser: from a thread to the customer's profile, edit it, link an identity, merge a
suggested customer, and find the customer by an order number."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inbox.models import Role
from inbox.services import customer_orders
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser

RAKUTEN = "abc123@pc.fw.rakuten.ne.jp"


def test_profile_from_a_thread_edit_link_merge_and_order_search(page, fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            box = make_mailbox(session, "shop")
            make_user(session, Role.LEAD, mailboxes=[box], email="lead@example.test", language="en")
            mail = make_thread(
                session, box, "ご注文番号：123-456789-0123 の配送", customer="taro@example.jp"
            )
            mall = make_thread(session, box, "楽天の問い合わせ", customer=RAKUTEN,
                               external_meta={"order_number": "123-456789-0123"})  # fmt: skip
            customer_orders.backfill(session)
            session.commit()
            mail_id, mall_id = mail.id, mall.id
        log_in(page, live.url, "lead@example.test")
        page.goto(f"{live.url}/threads/{mail_id}")
        with page.expect_navigation():
            page.get_by_test_id("customer-profile-link").click()
        expect(page.get_by_test_id("customer-name")).to_contain_text("taro")

        form = page.get_by_test_id("profile-form")
        form.get_by_label("Display name").fill("山田太郎")
        form.get_by_label("Company").fill("山田商店")
        form.get_by_label("Notes").fill("夕方に電話希望")
        form.get_by_test_id("vip-box").check()
        with page.expect_navigation():
            form.get_by_role("button", name="Save").click()
        expect(page.get_by_test_id("customer-name")).to_contain_text("山田太郎")
        expect(page.get_by_test_id("vip")).to_be_visible()

        link = page.get_by_test_id("link-form")
        link.locator("input[name=address]").fill("taro@work.example")
        with page.expect_navigation():
            link.get_by_role("button", name="Link").click()
        expect(page.get_by_test_id("identities")).to_contain_text("taro@work.example")

        # The Rakuten customer shares the order number: suggested, merged with one click.
        expect(page.get_by_test_id("suggestions")).to_contain_text(RAKUTEN)
        with page.expect_navigation():
            page.get_by_test_id("merge").first.click()
        expect(page.get_by_test_id("identities")).to_contain_text(RAKUTEN)
        expect(page.get_by_test_id("customer-threads")).to_contain_text(f"{mall_id}")

        # Search by order number from the customer list, full width as customers type it.
        page.goto(f"{live.url}/customers")
        page.get_by_role("searchbox", name="Search customers").fill(
            "１２３－４５６７８９－０１２３"
        )
        with page.expect_navigation():
            page.get_by_test_id("customer-search").get_by_role("button", name="Search").click()
        rows = page.get_by_test_id("customer-list").locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("山田太郎")

"""Through headless Chromium, two people: a trainee's reply is held, the lead edits and approves it,
the customer (a real SMTP server) receives the edited text once; a returned reply is back in the composer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inbox.db import utcnow
from inbox.models import ApprovalRequest, ApprovalStatus, OutboxItem, User
from inbox.services import outbox
from tests.web.live import live_app, log_in
from tests.web.test_browser_reply import seed

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path, smtp_server):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        yield live, smtp_server


def trainee_setup(live, smtp_port):
    ids = seed(live, smtp_port)
    with live.runtime.Session() as session:
        session.query(User).filter_by(email=ids["alice"]).one().approval_required = True
        session.commit()
    return ids


def deliver(live):
    return outbox.deliver_due(live.runtime.Session, live.runtime, owner="browser-test", now=utcnow)


def write_reply(page, url, text):
    page.goto(url)
    page.fill("[data-testid=reply-body]", text)
    page.click("[data-testid=send-reply]")
    page.wait_for_selector("[data-testid=thread-approval]")


def test_a_trainees_reply_is_held_the_lead_edits_and_approves_and_the_customer_gets_the_edit_once(browser, site):
    live, smtp = site
    ids = trainee_setup(live, smtp.port)
    thread_url = f"{live.url}/threads/{ids['thread']}"
    trainee_ctx, lead_ctx = browser.new_context(), browser.new_context()
    try:
        trainee, lead = trainee_ctx.new_page(), lead_ctx.new_page()
        log_in(trainee, live.url, ids["alice"])
        log_in(lead, live.url, ids["lead"])

        write_reply(trainee, thread_url, "山田様\n\n返金します。")
        held = trainee.locator("[data-testid=thread-approval]")
        expect(held.locator("[data-testid=approval-status]")).to_have_text("承認待ち")
        expect(held).to_contain_text("作成: Alice")
        expect(held).to_contain_text("承認できる人: Lead")
        assert deliver(live) == {} and smtp.messages == []

        lead.goto(live.url + "/")
        expect(lead.locator("[data-testid=approvals-badge]")).to_have_text("1")
        lead.click("[data-testid=nav-approvals]")
        lead.locator("[data-testid=approval-row] a").click()
        body = lead.locator("[data-testid=approval-body]")
        assert body.input_value().startswith("山田様\n\n返金します。")
        body.fill("山田様\n\n返金の手続きをご案内いたします。")
        lead.click("[data-testid=approve]")
        expect(lead.locator("[data-testid=approval-queue]")).to_contain_text("承認待ちの返信はありません。")
        expect(lead.locator("[data-testid=approvals-badge]")).to_have_count(0)

        assert deliver(live) == {"sent": 1}
        assert deliver(live) == {}
        (received,) = smtp.messages
        assert received.rcpt_tos == ["yamada@example.jp"]
        text = received.message().get_body(("plain",)).get_content()
        assert text.startswith("山田様\n\n返金の手続きをご案内いたします。") and "返金します。" not in text

        trainee.reload()
        done = trainee.locator("[data-testid=thread-approval]")
        expect(done.locator("[data-testid=approval-status]")).to_have_text("承認済み")
        diff = done.locator("[data-testid=approval-diff]")
        expect(diff).to_contain_text("-返金します。")
        expect(diff).to_contain_text("+返金の手続きをご案内いたします。")
        trainee.click("summary:has-text('履歴')")
        expect(trainee.locator("[data-testid=history]")).to_contain_text("返信を修正して承認しました")
    finally:
        trainee_ctx.close()
        lead_ctx.close()


def test_a_returned_reply_is_back_in_the_trainees_composer_with_the_comment(browser, site):
    live, smtp = site
    ids = trainee_setup(live, smtp.port)
    thread_url = f"{live.url}/threads/{ids['thread']}"
    trainee_ctx, lead_ctx = browser.new_context(), browser.new_context()
    try:
        trainee, lead = trainee_ctx.new_page(), lead_ctx.new_page()
        log_in(trainee, live.url, ids["alice"])
        log_in(lead, live.url, ids["lead"])
        write_reply(trainee, thread_url, "返品はできません。")

        lead.goto(thread_url)
        lead.click("[data-testid=open-approval]")
        lead.fill("[data-testid=return-comment-input]", "お詫びの一文を入れてください。")
        lead.click("[data-testid=return-reply]")
        expect(lead.locator(".flash")).to_contain_text("Aliceさんに差し戻しました")

        trainee.goto(live.url + "/")
        expect(trainee.locator("[data-testid=returned-badge]")).to_have_text("1")
        trainee.goto(thread_url)
        expect(trainee.locator("[data-testid=returned-comment]")).to_have_text("お詫びの一文を入れてください。")
        body = trainee.locator("[data-testid=reply-body]")
        assert body.input_value().startswith("返品はできません。")
        body.fill("申し訳ございません。返品はお受けいたしかねます。")
        trainee.click("[data-testid=send-reply]")
        expect(trainee.locator("[data-testid=returned-badge]")).to_have_count(0)
        expect(trainee.locator("[data-testid=returned-notice]")).to_have_count(0)
        assert deliver(live) == {} and smtp.messages == []
        with live.runtime.Session() as session:
            states = sorted(r.status for r in session.query(ApprovalRequest))
            assert states == [ApprovalStatus.PENDING, ApprovalStatus.REVISED]
            assert session.query(OutboxItem).count() == 0
    finally:
        trainee_ctx.close()
        lead_ctx.close()

"""Through headless Chromium: forward with the original attached, new mail whose answer threads back, scheduled send."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

import inbox.senders  # noqa: F401  (registers the "reply" deliverer)
from inbox.db import utcnow
from inbox.ingest.store import IngestOptions, ingest_message
from inbox.models import MailboxKind, OutboxItem, OutboxStatus
from inbox.services import outbox
from tests.factories import make_mailbox, make_user
from tests.ingest.test_store import mail
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path, smtp_server):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        yield live, smtp_server


def ingest(live, raw, key):
    with live.runtime.Session() as session:
        from inbox.models import Mailbox

        box = session.scalar(select(Mailbox))
        now = utcnow()
        result = ingest_message(
            session,
            live.runtime.blobs,
            box,
            raw,
            source_key=key,
            received_at=now,
            now=now,
            options=IngestOptions(),
        )
        session.commit()
        return result.thread.id, result.reason


def seed(live, smtp_port):
    with live.runtime.Session() as session:
        settings = {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "plain"}
        box = make_mailbox(
            session,
            "support",
            kind=MailboxKind.LOCAL,
            address="support@example.test",
            settings=settings,
            signature="サンプル商店 サポート窓口",
        )
        make_user(session, mailboxes=[box], name="Alice", email="alice@example.test")
        session.commit()
    thread_id, _ = ingest(live, mail(mid="c1@example.jp", body="商品がまだ届きません。"), "k1")
    return thread_id


def deliver(live):
    return outbox.deliver_due(live.runtime.Session, live.runtime, owner="browser-test", now=utcnow)


def fits_and_passes_axe(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url
    severe = [
        v["id"]
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert severe == [], page.url


def test_a_message_is_forwarded_with_the_original_attached_and_the_thread_keeps_its_status(
    browser, site
):
    live, smtp = site
    thread_id = seed(live, smtp.port)
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        log_in(page, live.url, "alice@example.test")
        page.goto(f"{live.url}/threads/{thread_id}")
        status = page.inner_text("[data-testid=status]")
        with page.expect_navigation():
            page.locator("[data-testid=forward-message]").first.click()
        fits_and_passes_axe(page)
        page.fill("[data-testid=forward-to]", "倉庫 <warehouse@example.org>")
        page.fill("[data-testid=forward-note]", "在庫をご確認ください。")
        with page.expect_navigation():
            page.click("[data-testid=send-forward]")
        expect(page.locator("[data-testid=forward-label]")).to_contain_text("転送")
        assert page.inner_text("[data-testid=status]") == status
        assert deliver(live) == {"sent": 1}
        [received] = smtp.messages
        msg = received.message()
        assert (
            received.rcpt_tos == ["warehouse@example.org"] and msg["From"] == "support@example.test"
        )
        assert msg["Subject"] == f"Fwd: 配送について [#{thread_id}]"
        [part] = list(msg.iter_attachments())
        assert (
            part.get_content_type() == "message/rfc822" and part.get_filename() == "message-1.eml"
        )
        inner = part.get_content()
        assert inner["Message-ID"] == "<c1@example.jp>" and inner["Subject"] == "配送について"
        assert inner["Date"] == "Mon, 23 Nov 2026 10:00:00 +0900"
        page.reload()
        assert page.inner_text("[data-testid=status]") == status
    finally:
        context.close()


def test_new_mail_from_the_queue_starts_a_thread_and_the_answer_threads_into_it(browser, site):
    live, smtp = site
    seed(live, smtp.port)
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        log_in(page, live.url, "alice@example.test")
        with page.expect_navigation():
            page.click("[data-testid=new-mail]")
        fits_and_passes_axe(page)
        page.fill("[data-testid=new-mail-to]", "佐藤 <sato@example.jp>")
        page.fill("[data-testid=new-mail-subject]", "ご注文の確認")
        page.fill("[data-testid=new-mail-body]", "佐藤様\n\nご注文ありがとうございます。")
        with page.expect_navigation():
            page.click("[data-testid=new-mail-send]")
        expect(page.locator("h1")).to_contain_text("ご注文の確認")
        thread_id = int(page.url.rstrip("/").rsplit("/", 1)[-1].split("#")[0])
        assert deliver(live) == {"sent": 1}
        [received] = smtp.messages
        sent = received.message()
        assert sent["Subject"] == f"ご注文の確認 [#{thread_id}]" and received.rcpt_tos == [
            "sato@example.jp"
        ]
        answer = mail(
            "Re: ご注文の確認",
            mid="s1@example.jp",
            frm="佐藤 <sato@example.jp>",
            in_reply_to=sent["Message-ID"].strip("<>"),
            body="届きました。",
        )
        assert ingest(live, answer, "k2") == (thread_id, "references")
        page.reload()
        expect(page.locator("[data-testid=message]").last).to_contain_text("届きました。")
    finally:
        context.close()


def test_a_reply_scheduled_in_an_hour_is_shown_and_can_be_cancelled(page, site):
    live, smtp = site
    thread_id = seed(live, smtp.port)
    log_in(page, live.url, "alice@example.test")
    page.goto(f"{live.url}/threads/{thread_id}")
    page.fill("[data-testid=reply-body]", "山田様\n\n明朝発送いたします。")
    page.check("[data-testid=send-hour]")
    with page.expect_navigation():
        page.click("[data-testid=send-reply]")
    expect(page.locator("[data-testid=scheduled-at]")).to_contain_text("送信予約")
    assert deliver(live) == {}  # not due for an hour
    with live.runtime.Session() as session:
        item = session.scalar(select(OutboxItem))
        assert item.scheduled_at is not None and item.status == OutboxStatus.QUEUED
    with page.expect_navigation():
        page.click(f"[data-testid=cancel-scheduled-{item.id}]")
    expect(page.locator("[data-testid=reply-state]")).to_contain_text("取り消し済み")
    with live.runtime.Session() as session:
        assert session.scalar(select(OutboxItem.status)) == OutboxStatus.CANCELLED
    assert smtp.messages == []


def test_a_yahoo_topic_is_started_from_new_mail_and_queued_once(browser, site):
    live, _smtp = site
    with live.runtime.Session() as session:
        box = make_mailbox(
            session,
            "Yahoo店",
            kind=MailboxKind.YAHOO,
            address="",
            settings={"seller_id": "demo-store"},
        )
        make_user(session, mailboxes=[box], name="Bob", email="bob@example.test")
        session.commit()
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        log_in(page, live.url, "bob@example.test")
        page.goto(f"{live.url}/compose/new")
        with page.expect_navigation():
            page.click("[data-testid=new-topic-link] a")
        fits_and_passes_axe(page)
        page.fill("[data-testid=topic-order]", "demo-store-10000001")
        page.fill("[data-testid=topic-category]", "3")
        page.fill("[data-testid=topic-title]", "お届け日のご確認")
        page.fill("[data-testid=topic-body]", "お届け日についてご確認させてください。")
        with page.expect_navigation():
            page.click("[data-testid=topic-send]")
        expect(page.locator("h1")).to_contain_text("お届け日のご確認")
        with live.runtime.Session() as session:
            [item] = session.scalars(select(OutboxItem).where(OutboxItem.kind == "yahoo_topic"))
            assert item.status == OutboxStatus.QUEUED
            assert item.payload["order_id"] == "demo-store-10000001"
    finally:
        context.close()

"""Through headless Chromium: reply over real SMTP and Dovecot, use a template, two people replying at once, failed sends."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

import inbox.senders  # noqa: F401  (registers the "reply" deliverer)
from inbox.db import utcnow
from inbox.models import MailboxKind, Message, OutboxItem, OutboxStatus, Role
from inbox.services import outbox
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path, smtp_server):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        yield live, smtp_server


def seed(live, smtp_port, *, imap_port=None):
    """A mailbox sending through the test SMTP server, one customer thread, two agents and a lead."""
    with live.runtime.Session() as session:
        settings = {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "plain"}
        kind = MailboxKind.LOCAL
        if imap_port:
            kind = MailboxKind.IMAP
            settings.update(imap_host="127.0.0.1", imap_port=imap_port, imap_security="plain",
                            imap_username="support@example.test", sent_folder="Sent")
        mailbox = make_mailbox(session, "support", kind=kind, address="support@example.test",
                               settings=settings, signature="サンプル商店 サポート窓口")
        mailbox.secret_encrypted = live.runtime.secrets.seal({"imap_password": "secret"})
        thread = make_thread(session, mailbox, "配送について", customer="yamada@example.jp")
        first = session.scalar(select(Message).where(Message.thread_id == thread.id))
        first.from_name, first.message_id, first.references = "山田 太郎", "c1@example.jp", ["root@example.jp"]
        ids = {
            "thread": thread.id,
            "alice": make_user(session, mailboxes=[mailbox], name="Alice", email="alice@example.test").email,
            "bob": make_user(session, mailboxes=[mailbox], name="Bob", email="bob@example.test").email,
            "lead": make_user(session, Role.LEAD, mailboxes=[mailbox], name="Lead", email="lead@example.test").email,
        }
        session.commit()
    return ids


def deliver(live):
    return outbox.deliver_due(live.runtime.Session, live.runtime, owner="browser-test", now=utcnow)


@pytest.mark.dovecot
def test_a_reply_arrives_over_smtp_with_threading_headers_and_lands_in_sent(page, site, dovecot):
    live, smtp = site
    ids = seed(live, smtp.port, imap_port=dovecot.port)
    log_in(page, live.url, ids["alice"])
    page.goto(f"{live.url}/threads/{ids['thread']}")
    assert page.input_value("[data-testid=reply-to]") == "山田 太郎 <yamada@example.jp>"
    assert page.input_value("[data-testid=reply-subject]") == f"Re: 配送について [#{ids['thread']}]"
    body = page.input_value("[data-testid=reply-body]")
    assert "山田 太郎 様:\n> 商品がまだ届きません。" in body
    page.fill("[data-testid=reply-body]", "山田様\n\n本日発送いたしました。" + body)
    page.set_input_files("[data-testid=reply-files]", files=[
        {"name": "送り状.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 label"}
    ])
    page.click("[data-testid=send-reply]")
    page.wait_for_selector("[data-testid=reply-state]")
    assert "送信中…" in page.inner_text("[data-testid=reply-state]")

    assert deliver(live) == {"sent": 1}
    (received,) = smtp.messages
    mail = received.message()
    assert received.rcpt_tos == ["yamada@example.jp"]
    assert re.fullmatch(rf"<inbox\.{ids['thread']}\.[0-9a-f]+\.[0-9a-f]{{8}}@example\.test>", mail["Message-ID"])
    assert mail["In-Reply-To"] == "<c1@example.jp>"
    assert mail["References"] == "<root@example.jp> <c1@example.jp>"
    assert mail["Subject"] == f"Re: 配送について [#{ids['thread']}]"
    assert mail["Auto-Submitted"] is None
    text = mail.get_body(("plain",)).get_content()
    assert text.startswith("山田様\n\n本日発送いたしました。") and "サンプル商店 サポート窓口" in text
    assert [a.get_filename() for a in mail.iter_attachments()] == ["送り状.pdf"]
    assert dovecot.status("support@example.test", "Sent")["messages"] == 1
    imap = dovecot.client("support@example.test")
    try:
        imap.select_folder("Sent")
        (fetched,) = imap.fetch(imap.search(), ["BODY.PEEK[]"]).values()
        assert fetched[b"BODY[]"].replace(b"\r\n", b"\n") == received.content.replace(b"\r\n", b"\n")
    finally:
        imap.logout()

    page.reload()
    assert "送信済み" in page.inner_text("[data-testid=reply-state]")


def test_a_lead_writes_a_template_and_inserts_it_into_the_composer(page, site):
    live, smtp = site
    ids = seed(live, smtp.port)
    log_in(page, live.url, ids["lead"])
    page.goto(f"{live.url}/reply-templates/")
    page.click("[data-testid=new-template]")
    page.fill("[data-testid=template-name]", "発送のご連絡")
    page.select_option("[data-testid=template-mailbox]", label="support")
    page.fill("[data-testid=template-body]", "{customer_name} 様\n\n{ticket} の商品を発送しました。担当: {agent_name}\n{signature}")
    page.click("[data-testid=save-template]")
    expect(page.locator("[data-testid=templates]")).to_contain_text("発送のご連絡")

    page.goto(f"{live.url}/threads/{ids['thread']}")
    before = page.input_value("[data-testid=reply-body]")
    page.select_option("[data-testid=template-select]", label="発送のご連絡")
    page.click("[data-testid=insert-template]")
    assert page.url.endswith(f"/threads/{ids['thread']}")  # inserted in place by reply.js
    expected = f"山田 太郎 様\n\n[#{ids['thread']}] の商品を発送しました。担当: Lead\nサンプル商店 サポート窓口"
    quoted = before.replace("サンプル商店 サポート窓口", "").lstrip("\n")  # the signature comes once
    assert page.input_value("[data-testid=reply-body]") == expected + "\n\n" + quoted


def test_two_people_see_each_other_and_the_second_reply_needs_confirmation(browser, site):
    live, smtp = site
    ids = seed(live, smtp.port)
    alice_ctx, bob_ctx = browser.new_context(), browser.new_context()
    try:
        alice, bob = alice_ctx.new_page(), bob_ctx.new_page()
        log_in(alice, live.url, ids["alice"])
        log_in(bob, live.url, ids["bob"])
        thread_url = f"{live.url}/threads/{ids['thread']}"
        bob.goto(thread_url)
        alice.goto(thread_url)
        with alice.expect_response(re.compile(r"/presence$")):
            alice.click("[data-testid=reply-body]")  # Alice starts writing
        bob.reload()
        bob.wait_for_selector("[data-testid=reply-presence] li.composing")
        assert bob.inner_text("[data-testid=reply-presence] li.composing") == "Aliceさんが返信を作成中です"

        alice.fill("[data-testid=reply-body]", "Aliceです。交換を承りました。")
        alice.click("[data-testid=send-reply]")
        alice.wait_for_selector("[data-testid=reply-state]")

        bob.fill("[data-testid=reply-body]", "Bobです。返品を承りました。")  # composer opened before
        bob.click("[data-testid=send-reply]")
        bob.wait_for_selector("[data-testid=reply-conflict]")
        assert "Aliceです。交換を承りました。" in bob.inner_text("[data-testid=colleague-reply]")
        assert "Alice" in bob.inner_text("[data-testid=colleague-reply]")
        with live.runtime.Session() as session:
            assert session.query(OutboxItem).count() == 1
        bob.click("[data-testid=send-anyway]")
        bob.wait_for_selector("[data-testid=reply-status]")
        assert bob.locator("[data-testid=reply-state]").count() == 2
    finally:
        alice_ctx.close()
        bob_ctx.close()
    assert deliver(live) == {"sent": 2}
    assert sorted(m.message().get_body(("plain",)).get_content().strip() for m in smtp.messages) == [
        "Aliceです。交換を承りました。", "Bobです。返品を承りました。"
    ]


def test_a_failed_send_is_shown_and_sent_again_from_the_failed_sends_page(page, site):
    live, smtp = site
    ids = seed(live, smtp.port)
    smtp.fail_next(1, code=550, text="5.1.1 Mailbox unavailable", stage="RCPT")
    log_in(page, live.url, ids["alice"])
    page.goto(f"{live.url}/threads/{ids['thread']}")
    page.fill("[data-testid=reply-body]", "ご確認ください。")
    page.click("[data-testid=send-reply]")
    page.wait_for_selector("[data-testid=reply-state]")
    assert deliver(live) == {"failed": 1}

    page.reload()
    assert "送信失敗" in page.inner_text("[data-testid=reply-state]")
    page.click(".reply-links a[href='/outbox/failed']")  # the panel links to the page
    page.wait_for_selector("[data-testid=failed-sends]")
    row = page.locator("[data-testid=failed-sends] tbody tr")
    assert row.count() == 1 and "Mailbox unavailable" in row.inner_text()
    row.locator("button", has_text="再送").click()
    page.wait_for_selector("text=返信をもう一度送信待ちに入れました。")
    assert "送信失敗はありません。" in page.inner_text("[data-testid=failed-sends]")
    assert deliver(live) == {"sent": 1}
    with live.runtime.Session() as session:
        assert session.scalar(select(OutboxItem.status)) == OutboxStatus.SENT
    assert len(smtp.messages) == 1


def test_smtp_down_shows_send_failed_and_keeps_the_deadline_then_one_click_resends_once(
    page, site, monkeypatch
):
    from datetime import timedelta

    from inbox.models import Thread
    from tests.support import smtp_server as smtp_module

    live, smtp = site
    port = smtp.port
    smtp.stop()  # the mailbox's SMTP server is down
    ids = seed(live, port)
    due = utcnow() + timedelta(days=1)
    with live.runtime.Session() as session:
        session.get(Thread, ids["thread"]).due_at = due
        session.commit()
    log_in(page, live.url, ids["alice"])
    page.goto(f"{live.url}/threads/{ids['thread']}")
    page.fill("[data-testid=reply-body]", "山田様\n\n本日発送いたしました。")
    page.click("[data-testid=send-reply]")
    expect(page.locator("[data-testid=send-state]")).to_have_text("送信中…")
    expect(page.locator("[data-testid=status]")).to_have_text("未対応")

    assert deliver(live) == {"queued": 1}  # connection refused: nothing went out
    page.reload()
    expect(page.locator("[data-testid=send-state] [data-testid=send-failed-badge]")).to_have_text("送信失敗")
    expect(page.locator("[data-testid=reply-failed-label]")).to_have_text("返信未送信")
    expect(page.locator("[data-testid=failed-sends-badge]")).to_have_text("1")
    expect(page.locator("[data-testid=status]")).to_have_text("未対応")
    assert "送信済み" not in page.inner_text("[data-testid=reply-status]")
    with live.runtime.Session() as session:
        assert session.get(Thread, ids["thread"]).due_at == due
    page.goto(live.url + "/")
    row = page.locator(f"tr[data-thread-id='{ids['thread']}']")
    expect(row.locator("[data-testid=send-failed-badge]")).to_have_text("送信失敗")

    monkeypatch.setattr(smtp_module, "free_port", lambda: port)
    smtp.start()  # the server is back, on the same port
    page.goto(f"{live.url}/threads/{ids['thread']}")
    page.locator("[data-testid=reply-status] button", has_text="再送").click()  # one click
    page.wait_for_selector("text=返信をもう一度送信待ちに入れました。")
    assert deliver(live) == {"sent": 1}
    assert deliver(live) == {}
    page.reload()
    expect(page.locator("[data-testid=status]")).to_have_text("保留")
    expect(page.locator("[data-testid=send-state]")).to_have_count(0)
    expect(page.locator("[data-testid=failed-sends-badge]")).to_have_count(0)
    assert len(smtp.messages) == 1 and smtp.messages[0].rcpt_tos == ["yamada@example.jp"]
    with live.runtime.Session() as session:
        assert session.get(Thread, ids["thread"]).due_at is None

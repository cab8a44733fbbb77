"""In the browser: an admin turns on the auto-acknowledgement, mail arrives, the customer gets one answer and automatic mail waits apart."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import Mailbox, Role, Thread
from inbox.services import outbox
from tests.factories import PASSWORD, make_mailbox, make_user
from tests.ingest.test_store import mail


@pytest.mark.browser
def test_admin_turns_on_the_acknowledgement_and_the_next_mail_is_answered_once(page, fresh_databases, tmp_path, smtp_server):
    from tests.web.live import live_app

    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail("サイズ交換", mid="c1@example.jp"))
    (folder / "2.eml").write_bytes(mail("自動応答: 不在です", mid="ooo@example.jp", frm="Taro <taro@example.org>",
                                        extra="Auto-Submitted: auto-replied"))
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as s:
            box = make_mailbox(s, "サポート", address="support@example.test", settings={
                "path": str(folder), "smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "smtp_security": "plain"})
            admin = make_user(s, Role.ADMIN, email="admin@example.test", mailboxes=[box])
            s.commit()
            box_id = box.id
        page.goto(f"{live.url}/login")
        page.fill("input[name=email]", admin.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live.url}/admin/mailboxes/{box_id}")
        page.check("input[name=auto_ack_enabled]")
        page.fill("textarea[name=auto_ack_open_text]", "受付番号 {tiket} で承りました。")
        page.click("[data-testid=mailbox-form] button[type=submit]")
        assert "差し込み {tiket} は使えません" in page.inner_text("[data-testid=error-auto_ack_open_text]")
        page.fill("textarea[name=auto_ack_open_text]", "受付番号 {ticket} で承りました。")
        page.fill("input[name=auto_ack_interval_minutes]", "30")
        page.click("[data-testid=mailbox-form] button[type=submit]")
        expect(page.locator(".flash")).to_have_count(1)  # waits for the page after the redirect
        with live.runtime.Session() as s:
            settings = s.get(Mailbox, box_id).settings
            assert settings["auto_ack_enabled"] is True and settings["auto_ack_interval_minutes"] == 30

        Poller(live.runtime).poll(box_id)
        assert outbox.deliver_due(live.runtime.Session, live.runtime, owner="t", now=utcnow) == {"sent": 1}
        Poller(live.runtime).poll(box_id)
        assert outbox.deliver_due(live.runtime.Session, live.runtime, owner="t", now=utcnow) == {}
        with live.runtime.Session() as s:
            customer = s.scalar(select(Thread).where(Thread.subject == "サイズ交換"))
        [sent] = smtp_server.messages
        assert sent.rcpt_tos == ["yamada@example.jp"]
        assert sent.message().get_content().strip() == f"受付番号 [#{customer.id}] で承りました。"

        page.goto(f"{live.url}/")
        assert "サイズ交換" in page.inner_text("main") and "不在です" not in page.inner_text("main")
        with page.expect_navigation():
            page.click("[data-testid=views] >> text=自動メール")
        expect(page.locator("main")).to_contain_text("不在です")
        assert "サイズ交換" not in page.inner_text("main")
        page.goto(f"{live.url}/threads/{customer.id}")
        page.click("[data-testid=history] summary")
        assert "自動返信を送信待ちにしました" in page.inner_text("[data-testid=history]")

"""Through headless Chromium: a lead writes a sorting rule, checks it in the dry-run preview, saves
it, and the next mail fetched from a real Dovecot is sorted by it (tags, assignee, the tag's
deadline), which the thread's history says in words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from inbox.jobs.poll import Poller
from inbox.models import Event, MailboxKind, SortingRule, Thread
from inbox.services.deadlines import calendar_for
from inbox.services.mailboxes import create_mailbox
from tests.factories import make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser

USER = "support@example.test"


def raw_mail(subject: str, mid: str) -> bytes:
    return (
        f"From: 山田 太郎 <yamada@example.jp>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{mid}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "サイズが合わないので返品したいです。\r\n"
    ).encode()


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        yield live


@pytest.mark.dovecot
def test_a_rule_made_with_the_preview_sorts_the_next_mail_from_dovecot(page, site, dovecot):
    live = site
    with live.runtime.Session() as s:
        box = create_mailbox(
            s, live.runtime.secrets, name="support", kind=MailboxKind.IMAP, address=USER,
            settings={"imap_host": "127.0.0.1", "imap_port": dovecot.port, "imap_security": "plain"},
            secrets={"imap_password": "secret"},
        )
        box.deadline_rules = [{"business_days": 1}, {"business_hours": 2, "tag": "返品"}]
        make_user(s, "lead", mailboxes=[box], name="リーダー", email="lead@example.test")
        make_user(s, mailboxes=[box], name="鈴木", email="suzuki@example.test")
        old = make_thread(s, box, "ヘンピンについて", customer="old@example.jp")
        s.commit()
        box_id, old_id = box.id, old.id

    log_in(page, live.url, "lead@example.test")
    page.goto(f"{live.url}/rules/")
    page.get_by_test_id("new-rule").click()
    page.get_by_test_id("rule-name").fill("返品")
    page.get_by_test_id("rule-mailbox").select_option(str(box_id))
    page.get_by_test_id("cond-field").first.select_option("subject")
    page.get_by_test_id("cond-value").first.fill("へんぴん")
    page.get_by_test_id("action-type").nth(0).select_option("add_tags")
    page.get_by_test_id("action-value").nth(0).fill("返品")
    page.get_by_test_id("action-type").nth(1).select_option("assign")
    page.get_by_test_id("action-value").nth(1).fill("suzuki@example.test")

    page.get_by_test_id("preview-rule").click()
    preview = page.get_by_test_id("rule-preview")
    expect(preview).to_contain_text("1 件が該当")
    expect(preview.locator(f'tr[data-thread-id="{old_id}"]')).to_contain_text("タグ: 返品、担当者: 鈴木")
    with live.runtime.Session() as s:
        assert s.scalar(select(SortingRule.id)) is None  # the preview saved nothing
        assert s.get(Thread, old_id).assignee_id is None

    page.get_by_test_id("save-rule").click()
    expect(page.get_by_test_id("rules")).to_contain_text("返品")

    dovecot.deliver(USER, raw_mail("返品（ﾍﾝﾋﾟﾝ）のお願い", "r1@example.jp"))
    assert Poller(live.runtime).poll(box_id).counts.imported == 1
    with live.runtime.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.id != old_id))
        assert [t.tag for t in thread.tags] == ["返品"]
        assert thread.assignee.name == "鈴木"
        first = thread.messages[0].received_at
        # The 返品 tag's 2 business hours, not the mailbox's default business day.
        assert thread.due_at == calendar_for(thread.mailbox).add_business_hours(first, 2)
        assert s.scalar(select(Event.data).where(Event.thread_id == thread.id, Event.kind == "rule_applied"))["rule"] == "返品"
        new_id = thread.id

    page.goto(f"{live.url}/threads/{new_id}")
    expect(page.get_by_test_id("tags")).to_contain_text("返品")
    expect(page.get_by_test_id("assignee")).to_contain_text("鈴木")
    page.get_by_test_id("history").locator("summary").click()
    expect(page.get_by_test_id("rule-applied")).to_contain_text("ルール「返品」により タグ: 返品、担当者: 鈴木")

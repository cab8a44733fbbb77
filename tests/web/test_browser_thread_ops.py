"""Through headless Chromium: merge threads from the queue, split one from the thread page and undo
both from the history; a reply draft autosaved in one browser is restored in another."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from inbox.models import Direction, Message, OutboxItem, ReplyDraft
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        yield live


def seed(live):
    with live.runtime.Session() as session:
        mailbox = make_mailbox(session, "support", address="support@example.test")
        a = make_thread(
            session, mailbox, "配送について", customer="yamada@example.jp", body="まだ届きません"
        )
        b = make_thread(
            session,
            mailbox,
            "配送の件(再送)",
            customer="yamada@example.jp",
            body="至急お願いします",
        )
        second = Message(thread_id=b.id, mailbox_id=mailbox.id, direction=Direction.INBOUND,
                         source_key="second", from_address="yamada@example.jp", subject="返品について",
                         received_at=b.last_activity_at + timedelta(seconds=30),
                         text="別件で返品したいです", new_text="別件で返品したいです")  # fmt: skip
        session.add(second)
        b.message_count = 2
        ids = {
            "a": a.id, "b": b.id,
            "alice": make_user(session, mailboxes=[mailbox], name="Alice", email="alice@example.test").email,
            "bob": make_user(session, mailboxes=[mailbox], name="Bob", email="bob@example.test").email,
        }  # fmt: skip
        session.commit()
    return ids


def count(live, thread_id: int) -> int:
    with live.runtime.Session() as session:
        return session.scalar(select(func.count()).where(Message.thread_id == thread_id))


def test_merge_from_the_queue_then_split_and_undo_from_the_thread_page(page, site):
    live = site
    ids = seed(live)
    low, high = sorted((ids["a"], ids["b"]))
    log_in(page, live.url, ids["alice"])
    page.check(f"input[name=thread][value='{low}']")
    page.check(f"input[name=thread][value='{high}']")
    with page.expect_navigation():
        page.click("[data-testid=bulk-merge]")
    expect(page.locator("[data-testid=message]")).to_have_count(3)
    assert page.url.endswith(f"/threads/{low}")
    assert (count(live, low), count(live, high)) == (3, 0)

    page.goto(f"{live.url}/threads/{high}")  # the merged thread's page leads to the target
    expect(page.locator("[data-testid=message]")).to_have_count(3)
    assert page.url.endswith(f"/threads/{low}")
    expect(page.locator(".flash")).to_contain_text(f"#{high}")

    page.locator("[data-testid=thread-ops] summary").click()
    last = page.locator("[data-testid=split-message] option").last
    page.select_option("[data-testid=split-message]", last.get_attribute("value"))
    with page.expect_navigation():
        page.click("[data-testid=split-submit]")
    expect(page.locator("[data-testid=message]")).to_have_count(1)
    new_id = int(page.url.rsplit("/", 1)[1])
    assert new_id not in (low, high)
    assert (count(live, low), count(live, new_id)) == (2, 1)

    page.goto(f"{live.url}/threads/{low}")
    expect(page.locator("[data-testid=message]")).to_have_count(2)
    page.locator("[data-testid=history] summary").click()
    undo_split = page.locator("li", has=page.locator("[data-testid=split-event]")).locator(
        "[data-testid=undo-op]"
    )
    with page.expect_navigation():
        undo_split.click()
    expect(page.locator("[data-testid=message]")).to_have_count(3)
    page.locator("[data-testid=history] summary").click()
    undo_merge = page.locator("li", has=page.locator("[data-testid=merge-event]")).locator(
        "[data-testid=undo-op]"
    )
    with page.expect_navigation():
        undo_merge.click()
    expect(page.locator("[data-testid=message]")).to_have_count(1)
    assert (count(live, low), count(live, high)) == (1, 2)


def test_a_draft_saved_in_one_browser_is_restored_in_another_and_others_see_it(browser, page, site):
    live = site
    ids = seed(live)
    log_in(page, live.url, ids["alice"])
    page.goto(f"{live.url}/threads/{ids['a']}")
    page.fill("[data-testid=reply-body]", "山田様\n\n確認して折り返しご連絡します。")
    expect(page.locator("[data-testid=draft-status]")).to_contain_text("下書きを保存しました")

    laptop = browser.new_context()  # the same person on another machine
    try:
        other = laptop.new_page()
        log_in(other, live.url, ids["alice"])
        other.goto(f"{live.url}/threads/{ids['a']}")
        expect(other.locator("[data-testid=reply-body]")).to_have_value(
            "山田様\n\n確認して折り返しご連絡します。"
        )
        expect(other.locator("[data-testid=draft-status]")).to_contain_text("下書きを復元しました")
    finally:
        laptop.close()

    colleague = browser.new_context()
    try:
        bob = colleague.new_page()
        log_in(bob, live.url, ids["bob"])
        bob.goto(f"{live.url}/threads/{ids['a']}")
        expect(bob.locator("[data-testid=draft-by]")).to_contain_text("Alice")
        assert "確認して折り返し" not in bob.input_value("[data-testid=reply-body]")
    finally:
        colleague.close()
    with live.runtime.Session() as session:  # a draft never sends by itself
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0
        assert session.scalar(select(func.count()).select_from(ReplyDraft)) == 1

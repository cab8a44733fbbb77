"""Keyboard shortcuts in a real Chromium: j/k/Enter in the queue, / to search, a/e/r and Ctrl+Enter on a thread, ? for the list."""

from __future__ import annotations

import pytest

from inbox.models import Role, Status, Thread
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            box = make_mailbox(session, "support")
            lead = make_user(session, Role.LEAD, mailboxes=[box], email="lead@example.test",
                             name="鈴木 リーダー")
            for n in range(3):
                make_thread(session, box, f"問い合わせ {n}", customer=f"c{n}@example.jp",
                            status=Status.NEW)
            session.commit()
        yield live, lead


def current_row_id(page) -> str | None:
    return page.evaluate(
        "() => { const r = document.querySelector('tr.kbd-current'); return r && r.dataset.threadId; }"
    )


def test_j_k_and_enter_move_through_the_queue_and_open_a_thread(page, site):
    live, lead = site
    log_in(page, live.url, lead.email)
    ids = page.eval_on_selector_all("[data-testid=queue] tbody tr", "rows => rows.map(r => r.dataset.threadId)")
    page.keyboard.press("j")
    assert current_row_id(page) == ids[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert current_row_id(page) == ids[1]
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/threads/{ids[1]}")


def test_slash_focuses_search_and_keys_typed_there_do_nothing_else(page, site):
    live, lead = site
    log_in(page, live.url, lead.email)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("jk")
    assert current_row_id(page) is None
    assert page.input_value(".nav-search input") == "jk"


def test_a_assigns_to_me_e_resolves_r_and_ctrl_enter_send(page, site):
    live, lead = site
    with live.runtime.Session() as s:
        thread_id = s.query(Thread.id).order_by(Thread.id).first()[0]
    log_in(page, live.url, lead.email, next_path=f"/threads/{thread_id}")
    with page.expect_navigation():
        page.keyboard.press("a")
    assert page.inner_text("[data-testid=assignee]") == "鈴木 リーダー"
    with page.expect_navigation():
        page.keyboard.press("e")
    assert page.inner_text("[data-testid=status]") == "対応完了"
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reply-body"
    page.keyboard.press("e")  # typed into the reply, not a shortcut
    assert "e" in page.input_value("#reply-body")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith(f"/threads/{thread_id}/reply")):
        page.keyboard.press("Control+Enter")


def test_question_mark_lists_the_shortcuts_and_the_skip_link_comes_first(page, site):
    live, lead = site
    log_in(page, live.url, lead.email)
    help_box = page.locator("[data-testid=shortcut-help]")
    assert not help_box.is_visible()
    page.keyboard.press("?")
    assert help_box.is_visible() and "Ctrl" in help_box.inner_text()
    page.keyboard.press("Escape")
    assert not help_box.is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"

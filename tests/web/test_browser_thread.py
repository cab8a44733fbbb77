"""Through a real headless Chromium: working a thread (assign, status, note with @mention, the
mentions page), two people changing the same thread (409), and hostile HTML mail that must not run."""

import logging
import time

import pytest
from playwright.sync_api import expect

from inbox.db import utcnow
from inbox.ingest.store import ingest_message
from inbox.models import Role
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            mailbox = make_mailbox(session, "support")
            thread = make_thread(session, mailbox, "サイズ交換の依頼", customer="yamada@example.jp")
            people = {
                "agent": make_user(session, Role.AGENT, mailboxes=[mailbox], email="sato@example.test", name="佐藤"),
                "colleague": make_user(session, Role.AGENT, mailboxes=[mailbox], email="suzuki@example.test", name="鈴木"),
            }
            session.commit()
            live.mailbox_id, live.thread_id = mailbox.id, thread.id
        yield live, people


def test_agent_takes_the_thread_changes_status_and_mentions_a_colleague(browser, page, site):
    live, people = site
    log_in(page, live.url, people["agent"].email)
    page.goto(f"{live.url}/threads/{live.thread_id}")
    assert page.inner_text("[data-testid=assignee]") == "未割り当て"
    page.click("[data-testid=assign-me]")
    expect(page.locator("[data-testid=assignee]")).to_have_text("佐藤")  # waits for the new page
    page.select_option("[data-testid=status-form] select", "open")
    page.click("[data-testid=status-form] button")
    expect(page.locator("[data-testid=status]")).to_have_text("対応中")
    page.fill("#note-body", "@suzuki 交換在庫があるか確認をお願いします")
    page.click("[data-testid=note-form] button")
    note = page.locator("section.message-note")
    assert "交換在庫があるか確認をお願いします" in note.inner_text()
    page.click("[data-testid=history] summary")
    history = page.inner_text("[data-testid=history]")
    assert "担当者を 佐藤 に設定" in history and "ステータスを 未対応 から 対応中 に変更" in history
    assert "鈴木" in history  # the mention is in the log

    other = browser.new_context().new_page()
    try:
        log_in(other, live.url, people["colleague"].email)
        assert other.inner_text("[data-testid=mention-badge]") == "1"
        other.click("[data-testid=nav-mentions]")
        other.wait_for_url("**/mentions")
        other.wait_for_selector("[data-testid=mention]")
        mention = other.locator("[data-testid=mention]")
        assert mention.count() == 1
        assert mention.get_attribute("data-unseen") == "true"
        assert "unseen" in mention.get_attribute("class")
        assert "交換在庫があるか確認をお願いします" in mention.inner_text()
        other.reload()
        assert other.locator("[data-testid=mention]").get_attribute("data-unseen") == "false"
        assert other.locator("[data-testid=mention-badge]").count() == 0
        other.click("[data-testid=mention] a")
        other.wait_for_selector("article.thread")
        assert "サイズ交換の依頼" in other.inner_text("h1")
    finally:
        other.context.close()


def test_second_person_changing_a_stale_page_gets_409_with_the_current_state(browser, page, site):
    live, people = site
    log_in(page, live.url, people["agent"].email)
    page.goto(f"{live.url}/threads/{live.thread_id}")
    second = browser.new_context().new_page()
    try:
        log_in(second, live.url, people["colleague"].email)
        second.goto(f"{live.url}/threads/{live.thread_id}")  # both now hold version 1
        page.select_option("[data-testid=status-form] select", "waiting")
        page.click("[data-testid=status-form] button")
        expect(page.locator("[data-testid=status]")).to_have_text("保留")

        second.select_option("[data-testid=priority-form] select", "urgent")
        with second.expect_response(lambda r: r.url.endswith("/priority")) as info:
            second.click("[data-testid=priority-form] button")
        assert info.value.status == 409
        conflict = second.inner_text("[data-testid=conflict]")
        assert "あなたの変更は保存されていません" in conflict
        assert second.inner_text("[data-testid=status]") == "保留"  # the current state
        assert second.inner_text("[data-testid=priority]") == "通常"  # the stale change not applied
        with second.expect_navigation():
            second.click("[data-testid=back-to-thread]")
        expect(second.locator("[data-testid=status]")).to_have_text("保留")
    finally:
        second.context.close()


# --- hostile HTML mail -------------------------------------------------------------------------

def hostile_mail(base: str) -> bytes:
    bait = f"{base}/bait"
    html = f"""<html><head><base href="{bait}/base/"><meta http-equiv="refresh" content="0;url={bait}/meta">
<script>parent.xss=1;top.document.title='pwned';fetch('{bait}/script')</script></head>
<body onload="parent.xss=1;fetch('{bait}/body-onload')">
<p class="marker">本文マーカー: ご注文の件です。</p>
<img src="x" onerror="parent.xss=1;top.document.body.innerHTML='owned';fetch('{bait}/onerror')">
<a href="javascript:parent.xss=1;top.document.title='pwned';fetch('{bait}/js-link')">クリック</a>
<div style="width:expression(parent.xss=1);background:url({bait}/css-url)">CSS</div>
<svg onload="parent.xss=1;fetch('{bait}/svg')"><circle r="10"/></svg>
<iframe src="javascript:parent.xss=1;fetch('{bait}/iframe')"></iframe>
<object data="{bait}/object"></object><embed src="{bait}/embed">
<form action="{bait}/form"><input name="q" value="x"><button type="submit">送信</button></form>
<div onmouseover="parent.xss=1;fetch('{bait}/mouseover')" onclick="parent.xss=1">ホバー</div>
<img alt="remote" src="{base}/remote-image.png">
</body></html>"""
    return (
        "From: =?UTF-8?B?5pS75pKD6ICF?= <attacker@example.com>\r\n"
        "To: support@example.test\r\nSubject: =?UTF-8?B?44GU5rOo5paH44Gu5Lu2?=\r\n"
        "Message-ID: <hostile-1@example.com>\r\nDate: Mon, 3 Jun 2024 10:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + html
    ).encode()


class ServerLog(logging.Handler):
    """The live server's request log (werkzeug logs one line per request)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def hits(self, path: str) -> list[str]:
        return [line for line in self.lines if f"GET {path}" in line or f"POST {path}" in line]


@pytest.fixture
def server_log():
    log = ServerLog()
    logger = logging.getLogger("werkzeug")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(log)
    yield log
    logger.removeHandler(log)
    logger.setLevel(old_level)


def _ingest_hostile(live) -> int:
    with live.runtime.Session() as session:
        from inbox.models import Mailbox

        mailbox = session.get(Mailbox, live.mailbox_id)
        result = ingest_message(
            session, live.runtime.blobs, mailbox, hostile_mail(live.url),
            source_key="hostile:1", received_at=None, now=utcnow(),
        )  # fmt: skip
        session.commit()
        return result.thread.id


def _click_everything_in_the_frame(page) -> int:
    frame = page.frame_locator("iframe.mail-html")
    clicked = 0
    for selector in ("a", "button", "input", "img", "div", "p", "span", "svg", "body"):
        items = frame.locator(selector)
        for i in range(items.count()):
            try:
                items.nth(i).click(timeout=1000, force=True)
                items.nth(i).hover(timeout=1000, force=True)
                clicked += 1
            except Exception:  # noqa: BLE001 - hidden or detached elements are fine to skip
                pass
    return clicked


def _assert_nothing_ran(page, server_log, requests, title):
    assert page.title() == title
    assert page.evaluate("window.xss") is None
    assert page.evaluate("document.body.innerHTML.indexOf('owned')") == -1
    assert page.locator("article.thread h1").count() == 1
    assert server_log.hits("/bait") == []
    assert [u for u in requests if "/bait" in u] == []


def test_script_in_inbound_html_mail_never_runs_and_remote_images_wait_for_a_click(
    page, site, server_log
):
    live, people = site
    thread_id = _ingest_hostile(live)
    requests: list[str] = []
    page.context.on("request", lambda r: requests.append(r.url))
    log_in(page, live.url, people["agent"].email)
    page.goto(f"{live.url}/threads/{thread_id}")
    frame = page.frame_locator("iframe.mail-html")
    assert "本文マーカー" in frame.locator("body").inner_text()
    title = page.title()
    assert "ご注文の件" in title

    assert _click_everything_in_the_frame(page) >= 5
    page.wait_for_timeout(1500)
    _assert_nothing_ran(page, server_log, requests, title)
    assert server_log.hits("/remote-image.png") == []  # blocked until asked

    with page.expect_request(lambda r: r.url.endswith("/remote-image.png")):
        page.click("[data-testid=load-remote-images]")
    deadline = time.monotonic() + 5
    while not server_log.hits("/remote-image.png") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(server_log.hits("/remote-image.png")) == 1
    _click_everything_in_the_frame(page)
    page.wait_for_timeout(1000)
    _assert_nothing_ran(page, server_log, requests, title)


def test_sandbox_and_csp_alone_stop_the_payloads_when_sanitizing_is_switched_off(
    page, site, server_log, monkeypatch
):
    """Defence in depth: even unsanitized HTML in the frame cannot script or reach the bait."""
    from inbox.services import threads_view

    live, people = site
    thread_id = _ingest_hostile(live)
    with live.runtime.Session() as session:
        from inbox.models import Message

        message = session.query(Message).filter_by(thread_id=thread_id).one()
        message.html = hostile_mail(live.url).split(b"\r\n\r\n", 1)[1].decode()
        session.commit()
    monkeypatch.setattr(threads_view, "sanitize_html", lambda html, cid_map=None: html)
    requests: list[str] = []
    # CSP refusals show up as attempted requests in the browser; only finished ones count here.
    page.context.on("requestfinished", lambda r: requests.append(r.url))
    log_in(page, live.url, people["agent"].email)
    page.goto(f"{live.url}/threads/{thread_id}")
    frame = page.frame_locator("iframe.mail-html")
    assert "本文マーカー" in frame.locator("body").inner_text()
    assert frame.locator("script").count() == 1  # the payloads really are in the frame
    assert frame.locator("form").count() == 1
    title = page.title()
    _click_everything_in_the_frame(page)
    page.wait_for_timeout(1500)
    _assert_nothing_ran(page, server_log, requests, title)
    assert server_log.hits("/remote-image.png") == []


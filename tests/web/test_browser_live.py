"""The queue and the thread page update themselves (conditional polling, static/live.js).

Two browser contexts: what user A does, and a mail ingested meanwhile, show on user B's
open queue and thread page within 5 s without a reload, while B's half-typed reply stays.
Also: an unchanged page is answered 304, and a poll never gets a page the user may not see.
"""

from __future__ import annotations

import pytest

from inbox.db import utcnow
from inbox.ingest.store import IngestOptions, ingest_message
from inbox.models import Mailbox, Role, Status, Thread, User
from inbox.services import assignment, notes
from tests.factories import make_mailbox, make_thread, make_user
from tests.ingest.test_store import mail
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser

WITHIN = 5000  # ms: the promise


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            box = make_mailbox(session, "support", address="support@example.test")
            thread = make_thread(session, box, "配送について", customer="yamada@example.jp",
                                 status=Status.NEW)
            ids = {
                "box": box.id,
                "thread": thread.id,
                "alice": make_user(session, Role.LEAD, mailboxes=[box], name="Alice",
                                   email="alice@example.test").id,
                "bob": make_user(session, mailboxes=[box], name="Bob", email="bob@example.test").id,
            }
            session.commit()
        yield live, ids


def ingest(live, box_id, raw, key):
    with live.runtime.Session() as session:
        box = session.get(Mailbox, box_id)
        now = utcnow()
        result = ingest_message(session, live.runtime.blobs, box, raw, source_key=key,
                                received_at=now, now=now, options=IngestOptions())
        session.commit()
        return result.thread.id


def test_a_colleagues_assignment_and_a_new_mail_show_on_an_open_queue_and_thread(browser, site):
    live, ids = site
    a_ctx, b_ctx = browser.new_context(), browser.new_context()
    try:
        alice, bob = a_ctx.new_page(), b_ctx.new_page()
        log_in(alice, live.url, "alice@example.test")
        log_in(bob, live.url, "bob@example.test")
        bob_queue = b_ctx.new_page()
        bob_queue.goto(f"{live.url}/")
        row = bob_queue.locator(f"[data-testid=queue] tr[data-thread-id='{ids['thread']}']")
        assert "Alice" not in row.inner_text()
        assert bob_queue.inner_text("[data-testid=count-mine]") == "0"
        assert bob_queue.locator("[data-testid=notification-badge]").count() == 0

        bob.goto(f"{live.url}/threads/{ids['thread']}")
        bob.fill("[data-testid=reply-body]", "半分まで書いた返信")
        bob.evaluate("window.scrollTo(0, 200)")
        scrolled = bob.evaluate("window.scrollY")

        # Alice assigns the thread to Bob from her own browser.
        alice.goto(f"{live.url}/threads/{ids['thread']}")
        alice.select_option("[data-testid=assign-form] select[name=assignee]", str(ids["bob"]))
        with alice.expect_navigation():
            alice.click("[data-testid=assign-form] button[type=submit]")

        # Bob's queue: the row and the "mine" count change in place, no reload.
        bob_queue.wait_for_function(
            "id => (document.querySelector(`tr[data-thread-id='${id}']`) || {}).innerText?.includes('Bob')",
            arg=ids["thread"], timeout=WITHIN)
        bob_queue.wait_for_function(
            "() => document.querySelector('[data-testid=count-mine]').innerText === '1'", timeout=WITHIN)
        # The header badge: Bob has a new unread notification ("assigned to you").
        bob_queue.wait_for_selector("[data-testid=notification-badge]", timeout=WITHIN)
        # Bob's thread page: the assignee shows, his half-typed reply and scroll are kept.
        bob.wait_for_function(
            "() => document.querySelector('[data-live=state]').innerText.includes('Bob')", timeout=WITHIN)
        assert bob.input_value("[data-testid=reply-body]") == "半分まで書いた返信"
        assert bob.evaluate("window.scrollY") == scrolled

        # The customer writes again: the message shows on Bob's thread page.
        raw = mail("Re: 配送について", mid="again@example.jp", frm="山田 <yamada@example.jp>",
                   body="まだ届いていません、至急お願いします。")
        assert ingest(live, ids["box"], raw, "INBOX:1:2") == ids["thread"]
        bob.wait_for_function(
            "() => document.querySelector('[data-live=messages]').innerText.includes('至急お願いします')",
            timeout=WITHIN)
        assert bob.input_value("[data-testid=reply-body]") == "半分まで書いた返信"

        # A new customer's mail, with Bob's pointer on the list: a hint, not a jumping row.
        bob_queue.hover("[data-testid=queue] tbody tr")
        ingest(live, ids["box"], mail("返品したい", mid="new@example.jp", frm="佐藤 <sato@example.jp>"),
               "INBOX:1:3")
        hint = bob_queue.locator("[data-testid=live-hint] button")
        hint.wait_for(state="visible", timeout=WITHIN)
        assert "返品したい" not in bob_queue.inner_text("[data-testid=queue]")
        hint.click()
        assert "返品したい" in bob_queue.inner_text("[data-testid=queue]")
        assert hint.is_hidden()
    finally:
        a_ctx.close()
        b_ctx.close()


def test_a_colleague_writing_shows_on_the_thread_within_seconds(browser, site):
    live, ids = site
    a_ctx, b_ctx = browser.new_context(), browser.new_context()
    try:
        alice, bob = a_ctx.new_page(), b_ctx.new_page()
        log_in(alice, live.url, "alice@example.test")
        log_in(bob, live.url, "bob@example.test")
        bob.goto(f"{live.url}/threads/{ids['thread']}")
        alice.goto(f"{live.url}/threads/{ids['thread']}")
        alice.fill("[data-testid=reply-body]", "書いています")
        # The heartbeat runs every 10 s; the live poll brings the change in a few seconds.
        bob.wait_for_selector("[data-testid=reply-presence] li.composing", timeout=WITHIN)
        assert "Alice" in bob.inner_text("[data-testid=reply-presence] li.composing")
    finally:
        a_ctx.close()
        b_ctx.close()


def test_an_unchanged_page_is_answered_304_and_a_change_renders_it(page, site):
    live, ids = site
    log_in(page, live.url, "bob@example.test")
    for path in ("/", f"/threads/{ids['thread']}"):
        page.goto(f"{live.url}{path}")
        etag = page.get_attribute("[data-live-root]", "data-etag")
        poll = page.request.get(f"{live.url}{path}", headers={
            "X-Inbox-Live": "1", "If-None-Match": f'"{etag}"'}, max_redirects=0)
        assert poll.status == 304, path
        assert poll.body() == b""
        # Without the poll header a browser reload always renders the page.
        plain = page.request.get(f"{live.url}{path}", headers={"If-None-Match": f'"{etag}"'})
        assert plain.status == 200
    with live.runtime.Session() as session:  # a colleague's note changes the thread's version
        notes.add_note(session, ids["thread"], "メモ", by=session.get(User, ids["alice"]), now=utcnow())
        session.commit()
    poll = page.request.get(f"{live.url}/threads/{ids['thread']}", headers={
        "X-Inbox-Live": "1", "If-None-Match": f'"{etag}"'})
    assert poll.status == 200
    assert poll.headers["etag"].strip('"') != etag
    assert "メモ" in poll.text()


def test_a_poll_for_a_thread_in_a_mailbox_the_user_cannot_see_is_not_found(page, site):
    live, _ids = site
    with live.runtime.Session() as session:
        other = make_mailbox(session, "hidden")
        secret = make_thread(session, other, "見えてはいけない件")
        session.commit()
        secret_id = secret.id
    log_in(page, live.url, "bob@example.test")
    poll = page.request.get(f"{live.url}/threads/{secret_id}", headers={
        "X-Inbox-Live": "1", "If-None-Match": '"anything"'})
    assert poll.status == 404
    assert "見えてはいけない件" not in poll.text()


def test_a_choice_made_but_not_sent_in_the_thread_forms_survives_an_update(browser, site):
    live, ids = site
    context = browser.new_context()
    try:
        bob = context.new_page()
        log_in(bob, live.url, "bob@example.test")
        bob.goto(f"{live.url}/threads/{ids['thread']}")
        bob.select_option("[data-testid=status-form] select[name=status]", "waiting")
        bob.click("h1")  # the select loses focus, its value stays chosen
        with live.runtime.Session() as session:  # Alice takes the thread meanwhile
            thread = session.get(Thread, ids["thread"])
            assignment.assign(session, thread.id, ids["alice"], by=session.get(User, ids["alice"]),
                              expected_version=thread.version, now=utcnow())
            session.commit()
        bob.wait_for_function(  # the history shows it; the form Bob is using waits
            "() => document.querySelector('[data-live=history]').textContent.includes('Alice')",
            timeout=WITHIN)
        bob.wait_for_timeout(3500)
        assert bob.input_value("[data-testid=status-form] select[name=status]") == "waiting"
        bob.select_option("[data-testid=status-form] select[name=status]", "new")  # back to as shown
        bob.click("h1")
        bob.wait_for_function(  # now nothing is held back: the new assignee shows
            "() => document.querySelector('[data-testid=assignee]').innerText.includes('Alice')",
            timeout=WITHIN)
    finally:
        context.close()

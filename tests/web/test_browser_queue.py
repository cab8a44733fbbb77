"""Through a real headless Chromium: log in, see the queue, open a thread."""

import pytest

from inbox.models import Role, Status
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            mailbox = make_mailbox(session, "support")
            hidden = make_mailbox(session, "hidden")
            make_thread(session, mailbox, "商品が届きません", customer="yamada@example.jp", status=Status.NEW)
            make_thread(session, hidden, "見えてはいけない件", customer="x@example.com")
            agent = make_user(session, Role.AGENT, mailboxes=[mailbox], email="agent@example.test")
            session.commit()
        yield live, agent


def test_agent_logs_in_and_sees_their_queue_in_japanese(page, site):
    live, agent = site
    log_in(page, live.url, agent.email)
    page.wait_for_selector("[data-testid=queue]")
    rows = page.locator("[data-testid=queue] tbody tr")
    assert rows.count() == 1
    assert "商品が届きません" in rows.first.inner_text()
    assert "未対応" in rows.first.inner_text()
    assert "見えてはいけない件" not in page.content()
    page.click("text=商品が届きません")
    page.wait_for_selector("article.thread [data-testid=message]")  # the page may still be arriving
    assert "商品がまだ届きません。" in page.inner_text("article.thread")


def test_wrong_password_shows_an_error_in_the_browser(page, site):
    live, agent = site
    page.goto(f"{live.url}/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "メールアドレスまたはパスワードが正しくありません" in page.inner_text(".flash")

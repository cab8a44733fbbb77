"""Through a real headless Chromium: a Rakuten inquiry in the queue, answered from the composer, posted to the mall once."""

from __future__ import annotations

import pytest

import inbox.senders  # noqa: F401  (mall reply channels and deliverers, as in the scheduler)
from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import MailboxKind, Role
from inbox.services import outbox
from inbox.services.mailboxes import create_mailbox
from tests.factories import PASSWORD, make_user
from tests.malls import fast_env
from tests.support.mall_stubs import RakutenStub
from tests.web.live import live_app

pytestmark = pytest.mark.browser
INQ = "999999-20261120-0042"


@pytest.fixture
def site(fresh_databases, tmp_path):
    with RakutenStub() as stub, live_app(fresh_databases.migrated_url(), tmp_path) as live:
        live.runtime.mall_env = fast_env()
        stub.add_inquiry(INQ, "急須の茶こしは取り外せますか？", utcnow().replace(microsecond=0),
                         itemName="常滑焼 急須", orderNumber="999999-20261119-0000042")
        with live.runtime.Session() as s:
            box = create_mailbox(s, live.runtime.secrets, name="楽天市場店", kind=MailboxKind.RAKUTEN,
                                 settings=stub.settings(), secrets=stub.secrets())
            agent = make_user(s, Role.AGENT, mailboxes=[box], email="agent@shop.example")
            s.commit()
        assert Poller(live.runtime).poll(box.id).counts.imported == 1
        yield live, stub, agent


def test_an_agent_answers_a_rakuten_inquiry_from_the_browser_and_the_mall_gets_it_once(page, site):
    live, stub, agent = site
    page.goto(f"{live.url}/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=queue]")
    page.click("text=急須の茶こしは取り外せますか？")
    page.wait_for_selector("[data-testid=reply-body]")
    assert page.locator("[data-testid=reply-to]").count() == 0  # the mall knows the customer
    page.fill("[data-testid=reply-body]", "お問い合わせありがとうございます。\n茶こしは取り外してお手入れいただけます。")
    page.click("[data-testid=send-reply]")
    page.wait_for_load_state()

    counts = outbox.deliver_due(live.runtime.Session, live.runtime, owner="browser-test", now=utcnow)
    again = outbox.deliver_due(live.runtime.Session, live.runtime, owner="browser-test", now=utcnow)

    assert counts == {"sent": 1} and again == {}
    assert [(p["inquiryNumber"], p["message"]) for p in stub.posted] == [
        (INQ, "お問い合わせありがとうございます。\n茶こしは取り外してお手入れいただけます。")]

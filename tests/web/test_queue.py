"""The queue page: the user's threads, newest first, in pages, with times in the user's zone."""

import re
from datetime import UTC, datetime, timedelta

from inbox.models import Status
from tests.factories import login_as, make_mailbox, make_thread, make_user


def test_queue_shows_status_subject_customer_and_local_time(client, session):
    mailbox = make_mailbox(session, "support")
    make_thread(
        session, mailbox, "返品について", customer="yamada@example.jp",
        at=datetime(2026, 11, 20, 1, 30, tzinfo=UTC), status=Status.OPEN,
    )
    login_as(client, make_user(session, mailboxes=[mailbox], timezone="Asia/Tokyo"))
    html = client.get("/").get_data(as_text=True)
    assert "返品について" in html
    assert "yamada" in html
    assert "対応中" in html
    assert "2026-11-20 10:30" in html  # 01:30 UTC is 10:30 in Tokyo


def test_queue_pages_newest_first_without_gaps_or_repeats(client, session, runtime):
    mailbox = make_mailbox(session)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    threads = [make_thread(session, mailbox, f"件名{i:03d}", at=base + timedelta(minutes=i)) for i in range(120)]
    login_as(client, make_user(session, mailboxes=[mailbox]))
    seen, url = [], "/"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(x) for x in re.findall(r'data-thread-id="(\d+)"', html)]
        match = re.search(r'rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == [t.id for t in reversed(threads)]


def test_queue_filters_by_status(client, session):
    mailbox = make_mailbox(session)
    make_thread(session, mailbox, "未対応の件", status=Status.NEW)
    make_thread(session, mailbox, "完了した件", status=Status.RESOLVED)
    login_as(client, make_user(session, mailboxes=[mailbox]))
    html = client.get("/?status=resolved").get_data(as_text=True)
    assert "完了した件" in html and "未対応の件" not in html

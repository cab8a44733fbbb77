"""The queue page: the user's threads, newest first, in pages, with times in the user's zone."""

import re
from datetime import UTC, datetime, timedelta

from inbox.models import Role, Status
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user


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


def test_side_bar_counts_each_view(client, session):
    mailbox = make_mailbox(session)
    user = make_user(session, mailboxes=[mailbox])
    make_thread(session, mailbox, "1", status=Status.NEW)
    make_thread(session, mailbox, "2", status=Status.OPEN, assignee_id=user.id)
    make_thread(session, mailbox, "3", status=Status.RESOLVED)
    make_thread(session, make_mailbox(session), "他の箱", status=Status.NEW)
    login_as(client, user)
    html = client.get("/").get_data(as_text=True)
    counts = dict(re.findall(r'data-testid="count-(\w+)">(\d+)<', html))
    assert counts["default"] == "2" and counts["new"] == "1" and counts["open"] == "1"
    assert counts["mine"] == "1" and counts["unassigned"] == "1" and "resolved" not in counts


def test_default_view_hides_resolved_and_puts_overdue_first(client, session):
    mailbox = make_mailbox(session)
    now = datetime.now(UTC)
    make_thread(session, mailbox, "新しい件", at=now)
    make_thread(session, mailbox, "期限切れの件", at=now - timedelta(days=3), due_at=now - timedelta(hours=1))
    make_thread(session, mailbox, "完了の件", status=Status.RESOLVED, at=now)
    login_as(client, make_user(session, mailboxes=[mailbox]))
    html = client.get("/").get_data(as_text=True)
    assert "完了の件" not in html
    assert html.index("期限切れの件") < html.index("新しい件")


def test_deadline_sort_pages_keep_every_filter_in_the_next_link(client, session):
    mailbox = make_mailbox(session)
    now = datetime.now(UTC)
    threads = [
        make_thread(session, mailbox, f"件{i:02d}", due_at=now + timedelta(hours=i % 7) if i % 3 else None)
        for i in range(60)
    ]
    login_as(client, make_user(session, mailboxes=[mailbox]))
    seen, url = [], f"/?view=all&sort=deadline&mailbox={mailbox.id}"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(x) for x in re.findall(r'data-thread-id="(\d+)"', html)]
        match = re.search(r'rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
        assert url is None or ("sort=deadline" in url and f"mailbox={mailbox.id}" in url)
    assert sorted(seen) == sorted(t.id for t in threads) and len(seen) == len(set(seen))


def test_filter_by_tag_shows_only_tagged_threads(client, session):
    from inbox.models import ThreadTag

    mailbox = make_mailbox(session)
    tagged = make_thread(session, mailbox, "タグ付き")
    make_thread(session, mailbox, "タグなし")
    session.add(ThreadTag(thread_id=tagged.id, tag="VIP"))
    session.flush()
    login_as(client, make_user(session, mailboxes=[mailbox]))
    html = client.get("/?tag=VIP").get_data(as_text=True)
    assert "タグ付き" in html and "タグなし" not in html


def test_another_mailbox_or_a_damaged_page_link_is_refused(client, session):
    mine, other = make_mailbox(session), make_mailbox(session)
    login_as(client, make_user(session, mailboxes=[mine]))
    assert client.get(f"/?mailbox={other.id}").status_code == 404
    assert client.get("/?after=garbage").status_code == 400
    assert client.get("/?view=nonsense").status_code == 400


def test_bulk_form_assigns_the_ticked_threads_to_me(client, session):
    mailbox = make_mailbox(session)
    agent = make_user(session, mailboxes=[mailbox])
    ticked = [make_thread(session, mailbox, f"件{i}") for i in range(2)]
    untouched = make_thread(session, mailbox, "そのまま")
    login_as(client, agent)
    token = csrf_token(client, "/")
    response = client.post(
        "/bulk",
        data={"csrf_token": token, "action": "assign", "assignee": "me",
              "thread": [str(t.id) for t in ticked], "next": "/?view=mine"},
    )  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"].endswith("/?view=mine")
    session.expire_all()
    assert [t.assignee_id for t in ticked] == [agent.id, agent.id]
    assert untouched.assignee_id is None
    assert "2 件を変更" in client.get("/?view=mine").get_data(as_text=True)


def test_bulk_says_why_threads_were_skipped_per_reason_with_counts(client, session):
    support, sales = make_mailbox(session, "support"), make_mailbox(session, "sales")
    lead = make_user(session, Role.LEAD, mailboxes=[support, sales])
    agent = make_user(session, mailboxes=[sales], name="山田")
    threads = [make_thread(session, support, f"件{i}") for i in range(2)] + [make_thread(session, sales, "営業")]
    login_as(client, lead)
    token = csrf_token(client, "/")
    client.post("/bulk", data={"csrf_token": token, "action": "assign", "assignee": str(agent.id),
                               "thread": [str(t.id) for t in threads] + ["99999"]})  # fmt: skip
    html = client.get("/").get_data(as_text=True)
    assert "2 件をスキップ: 山田 は support のメンバーではありません。" in html
    assert "1 件をスキップ: 見つからないか、担当のメールボックスにありません" in html


def test_bulk_status_change_and_tag_through_the_form(client, session):
    mailbox = make_mailbox(session)
    agent = make_user(session, mailboxes=[mailbox])
    thread = make_thread(session, mailbox, "件")
    login_as(client, agent)
    token = csrf_token(client, "/")
    client.post("/bulk", data={"csrf_token": token, "action": "status", "status": "waiting", "thread": thread.id})
    client.post("/bulk", data={"csrf_token": token, "action": "add_tag", "tag": "返品", "thread": thread.id})
    session.expire_all()
    assert thread.status == Status.WAITING
    assert [t.tag for t in thread.tags] == ["返品"]


def test_bulk_without_csrf_token_or_threads_is_refused(client, session):
    mailbox = make_mailbox(session)
    agent = make_user(session, mailboxes=[mailbox])
    thread = make_thread(session, mailbox)
    login_as(client, agent)
    assert client.post("/bulk", data={"action": "assign", "thread": thread.id}).status_code == 400
    token = csrf_token(client, "/")
    assert client.post("/bulk", data={"csrf_token": token, "action": "assign"}).status_code == 400
    session.expire_all()
    assert thread.assignee_id is None


def test_bulk_redirect_never_leaves_the_site(client, session):
    mailbox = make_mailbox(session)
    agent = make_user(session, mailboxes=[mailbox])
    thread = make_thread(session, mailbox)
    login_as(client, agent)
    token = csrf_token(client, "/")
    response = client.post(
        "/bulk",
        data={"csrf_token": token, "action": "assign", "assignee": "me", "thread": thread.id,
              "next": "//evil.example/"},
    )  # fmt: skip
    assert response.headers["Location"] == "/"

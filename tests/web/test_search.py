"""The search page: Japanese text, ticket numbers, the nav box, and mailbox permissions."""

from inbox.models import Role
from tests.factories import login_as, make_mailbox, make_thread, make_user


def test_search_page_finds_japanese_text_and_shows_a_snippet(client, session):
    mailbox = make_mailbox(session, "support")
    thread = make_thread(session, mailbox, "お届けについて", body="ご注文の商品の配送が遅れています。申し訳ございません。")
    login_as(client, make_user(session, mailboxes=[mailbox]))
    html = client.get("/search?q=配送").get_data(as_text=True)
    assert f'data-thread-id="{thread.id}"' in html
    assert "お届けについて" in html and "<mark>配送</mark>が遅れています" in html


def test_search_by_ticket_number_with_hash(client, session):
    mailbox = make_mailbox(session)
    thread = make_thread(session, mailbox, "番号で探す件")
    login_as(client, make_user(session, mailboxes=[mailbox]))
    html = client.get(f"/search?q=%23{thread.id}").get_data(as_text=True)
    assert "番号で探す件" in html


def test_search_never_shows_threads_of_other_mailboxes(client, session):
    mine, other = make_mailbox(session), make_mailbox(session)
    make_thread(session, other, "他部署の配送", body="配送が遅れています")
    secret = make_thread(session, other, "番号も見せない")
    login_as(client, make_user(session, mailboxes=[mine]))
    html = client.get("/search?q=配送").get_data(as_text=True)
    assert "他部署の配送" not in html and "見つかりませんでした" in html
    assert "番号も見せない" not in client.get(f"/search?q=%23{secret.id}").get_data(as_text=True)


def test_nav_has_a_search_box_and_leads_get_the_overview_link(client, session):
    mailbox = make_mailbox(session)
    login_as(client, make_user(session, Role.LEAD, mailboxes=[mailbox]))
    html = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in html and 'name="q"' in html
    assert 'href="/overview"' in html


def test_agents_get_no_overview_link(client, session):
    login_as(client, make_user(session, mailboxes=[make_mailbox(session)]))
    assert 'href="/overview"' not in client.get("/").get_data(as_text=True)


def test_search_needs_a_log_in(client):
    assert client.get("/search?q=x").status_code == 302


def test_half_width_hiragana_and_names_are_found_from_the_page(client, session):
    from inbox.models import Message

    mailbox = make_mailbox(session, "support")
    thread = make_thread(session, mailbox, "サイズ交換", body="注文番号 SS-20261105 です")
    session.query(Message).filter_by(thread_id=thread.id).one().from_name = "佐々木 花子"
    session.flush()
    login_as(client, make_user(session, mailboxes=[mailbox]))
    for query in ("ｻｲｽﾞ", "さいず", "ＳＳ－２０２６１１０５", "佐々木花子"):
        html = client.get("/search", query_string={"q": query}).get_data(as_text=True)
        assert f'data-thread-id="{thread.id}"' in html, query


def test_filters_narrow_the_page_and_bad_filters_are_refused_in_words(client, session):
    from inbox.models import Status

    mailbox = make_mailbox(session)
    open_one = make_thread(session, mailbox, "返品の件")
    done = make_thread(session, mailbox, "返品の件", status=Status.RESOLVED)
    login_as(client, make_user(session, mailboxes=[mailbox]))
    html = client.get("/search?q=返品&status=resolved").get_data(as_text=True)
    assert f'data-thread-id="{done.id}"' in html and f'data-thread-id="{open_one.id}"' not in html
    for bad in ("status=closed", "mailbox=-1", "assignee=x%00", "since=2026-13-45",
                "since=2026-11-30&until=2026-11-01", f"mailbox={2**70}"):
        response = client.get(f"/search?q=返品&{bad}")
        assert response.status_code == 400, bad
        assert 'data-testid="search-problem"' in response.get_data(as_text=True), bad


def test_a_saved_search_is_listed_for_its_owner_only_and_can_be_deleted(app, client, session):
    from inbox.models import SavedSearch
    from tests.factories import csrf_token

    mailbox = make_mailbox(session)
    owner, other = make_user(session, mailboxes=[mailbox]), make_user(session, mailboxes=[mailbox])
    login_as(client, owner)
    token = csrf_token(client, "/search?q=返品")
    response = client.post("/search/saved", data={
        "csrf_token": token, "name": "返品（未対応）", "q": "返品", "status": "new"})
    assert response.status_code == 302
    queue = client.get("/").get_data(as_text=True)
    assert "返品（未対応）" in queue and "/search?q=%E8%BF%94%E5%93%81&amp;status=new" in queue
    saved = session.query(SavedSearch).filter_by(user_id=owner.id).one()
    other_client = app.test_client()
    login_as(other_client, other)
    assert "返品（未対応）" not in other_client.get("/").get_data(as_text=True)
    token = csrf_token(other_client, "/search?q=x")
    assert other_client.post(f"/search/saved/{saved.id}/delete", data={"csrf_token": token}).status_code == 404
    token = csrf_token(client, "/search?q=x")
    assert client.post(f"/search/saved/{saved.id}/delete", data={"csrf_token": token}).status_code == 302
    assert session.query(SavedSearch).filter_by(user_id=owner.id).count() == 0

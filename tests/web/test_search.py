"""The search page: Japanese text, ticket numbers, the nav box, and mailbox permissions."""

from inbox.models import Role
from tests.factories import login_as, make_mailbox, make_thread, make_user


def test_search_page_finds_japanese_text_and_shows_a_snippet(client, session):
    mailbox = make_mailbox(session, "support")
    thread = make_thread(session, mailbox, "お届けについて", body="ご注文の商品の配送が遅れています。申し訳ございません。")
    login_as(client, make_user(session, mailboxes=[mailbox]))
    html = client.get("/search?q=配送").get_data(as_text=True)
    assert f'data-thread-id="{thread.id}"' in html
    assert "お届けについて" in html and "配送が遅れています" in html


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

"""New Yahoo! topic page: Yahoo! channels only, hostile input gets a translated message, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from inbox.models import MailboxKind, OutboxItem, Thread
from inbox.services import mall_topics
from tests.factories import csrf_token, login_as, make_mailbox, make_user

PATH = "/compose/topic"


@pytest.fixture
def world(session):
    yahoo = make_mailbox(
        session,
        name="Yahoo店",
        kind=MailboxKind.YAHOO,
        address="",
        settings={"seller_id": "demo-store"},
    )
    other = make_mailbox(
        session,
        name="別店",
        kind=MailboxKind.YAHOO,
        address="",
        settings={"seller_id": "other-store"},
    )
    rakuten = make_mailbox(session, name="楽天店", kind=MailboxKind.RAKUTEN, address="")
    agent = make_user(session, mailboxes=[yahoo, rakuten], name="鈴木 一郎")
    rakuten_only = make_user(session, mailboxes=[rakuten])
    return {"yahoo": yahoo, "other": other, "agent": agent, "rakuten_only": rakuten_only}


def items(session):
    return session.scalar(
        select(func.count(OutboxItem.id)).where(OutboxItem.kind == mall_topics.KIND)
    )


def form(client, world, **kw):
    data = {
        "csrf_token": csrf_token(client, PATH),
        "mailbox": str(world["yahoo"].id),
        "order": "demo-store-10000001",
        "category": "3",
        "title": "ご注文について",
        "body": "お届け日のご確認です。",
        "key": "form-key-1",
        "action": "send",
    }
    data.update(kw)
    return data


def test_the_new_mail_page_links_yahoo_and_says_why_rakuten_is_not_offered(client, world):
    login_as(client, world["agent"])
    page = client.get("/compose/new").get_data(as_text=True)
    assert 'href="/compose/topic"' in page
    page = client.get(PATH).get_data(as_text=True)
    assert "Yahoo店" in page and "別店" not in page and "楽天店" not in page


def test_a_user_with_only_rakuten_is_told_why_it_is_not_offered(client, world):
    login_as(client, world["rakuten_only"])
    assert "楽天にはショップから問い合わせを始める API がない" in client.get(
        "/compose/new"
    ).get_data(as_text=True)
    page = client.get(PATH).get_data(as_text=True)
    assert 'data-testid="topic-rakuten-note"' in page and 'name="order"' not in page


def test_a_topic_is_queued_once_for_a_double_submit(client, session, world):
    login_as(client, world["agent"])
    data = form(client, world)
    first = client.post(PATH, data=data)
    second = client.post(PATH, data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert items(session) == 1
    thread = session.scalar(select(Thread).where(Thread.mailbox_id == world["yahoo"].id))
    assert (
        thread.subject == "ご注文について"
        and thread.external_meta["order_number"] == "demo-store-10000001"
    )


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("order", "", "注文番号を入力してください"),
        ("order", "12\x0134", "制御文字"),
        ("body", "あ" * 2001, "2000文字まで"),
        ("title", "", "件名を入力してください"),
        ("category", "１２", "カテゴリIDは"),
    ],
)
def test_hostile_input_is_refused_in_japanese(client, session, world, field, value, says):
    login_as(client, world["agent"])
    resp = client.post(PATH, data=form(client, world, **{field: value}))
    assert resp.status_code == 422
    assert says in resp.get_data(as_text=True)
    assert items(session) == 0


@pytest.mark.parametrize("box", ["other", "99999999999999999999", "-1", "abc"])
def test_a_channel_the_user_cannot_use_is_not_found(client, session, world, box):
    login_as(client, world["agent"])
    mailbox = str(world["other"].id) if box == "other" else box
    resp = client.post(PATH, data=form(client, world, mailbox=mailbox))
    assert resp.status_code == 404
    assert items(session) == 0


def test_nul_characters_are_dropped_at_the_edge_before_the_mall_sees_them(client, session, world):
    login_as(client, world["agent"])
    resp = client.post(PATH, data=form(client, world, order="demo\x00-1", body="本文\x00です"))
    assert resp.status_code == 302
    item = session.scalar(select(OutboxItem).where(OutboxItem.kind == mall_topics.KIND))
    assert item.payload["order_id"] == "demo-1" and item.payload["body"] == "本文です"

"""Forward, new mail and scheduled send pages: hostile input gets a translated message, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from inbox.db import utcnow
from inbox.models import OutboxItem, OutboxStatus, Thread
from tests.factories import csrf_token, login_as, make_mailbox, make_user
from tests.services.test_replies import customer_thread, make_draft, queue_reply

SMTP = {"smtp_host": "127.0.0.1", "smtp_port": 2525, "smtp_security": "plain"}


@pytest.fixture
def world(session):
    mailbox = make_mailbox(
        session, address="support@example.test", signature="サポート窓口", settings=SMTP
    )
    other = make_mailbox(session, address="other@example.test", settings=SMTP)
    thread, _ = customer_thread(session, mailbox)
    foreign, _ = customer_thread(session, other, "見えない件")
    agent = make_user(session, mailboxes=[mailbox], name="鈴木 一郎")
    return {
        "mailbox": mailbox,
        "other": other,
        "thread": thread,
        "foreign": foreign,
        "agent": agent,
    }


def items(session):
    return session.scalar(select(func.count(OutboxItem.id)))


@pytest.mark.parametrize(
    "to, message",
    [
        ("not an address", "メールアドレスとして正しくありません"),
        ("a@example.org\r\nBcc: evil@example.org", "メールアドレスとして正しくありません"),
        ("", "To"),
    ],
)
def test_forward_refuses_bad_addresses_in_japanese(client, session, world, to, message):
    login_as(client, world["agent"])
    path = f"/threads/{world['thread'].id}/forward"
    assert "転送" in client.get(path).get_data(as_text=True)
    resp = client.post(
        path, data={"csrf_token": csrf_token(client, path), "to": to, "mode": "attach", "key": "k"}
    )
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert items(session) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/threads/{foreign}/forward",
        "/threads/99999999999/forward",
        "/threads/{thread}/forward?message=99999999999999999999",
        "/threads/{thread}/forward?message={theirs}",
        "/threads/{thread}/forward?message=4611686018427387904",
    ],
)
def test_forward_of_a_thread_out_of_reach_is_not_found_and_bad_ids_never_500(client, world, path):
    login_as(client, world["agent"])
    theirs = world["foreign"].messages[0].id
    path = path.format(foreign=world["foreign"].id, thread=world["thread"].id, theirs=theirs)
    expected = (200, 404) if "99999999999999999999" in path else (404,)  # too big: no message named
    assert client.get(path).status_code in expected


def test_forward_with_an_unknown_mode_is_refused(client, session, world):
    login_as(client, world["agent"])
    path = f"/threads/{world['thread'].id}/forward"
    resp = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "to": "a@example.org",
            "mode": "fax",
            "key": "k",
        },
    )
    assert resp.status_code == 422 and "転送方法を選んでください" in resp.get_data(as_text=True)


def test_new_mail_is_linked_from_the_queue_and_offers_only_own_mailboxes(client, world):
    login_as(client, world["agent"])
    assert 'href="/compose/new' in client.get("/").get_data(as_text=True)
    page = client.get("/compose/new").get_data(as_text=True)
    assert "support@example.test" in page and "other@example.test" not in page
    assert client.get(f"/compose/new?mailbox={world['other'].id}").status_code == 404
    assert client.get("/compose/new?mailbox=99999999999999999999").status_code in (200, 404)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"to": "nobody"}, "メールアドレスとして正しくありません"),
        ({"subject": ""}, "件名を入力してください"),
        ({"send_when": "at", "send_at": "2000-01-01T09:00"}, "過ぎています"),
        ({"send_when": "at", "send_at": "9999-99-99T99:99"}, "送信する日時を入力してください"),
        ({"send_when": "later"}, "送信のタイミングを選んでください"),
        (
            {"subject": "ご案内\r\nBcc: evil@example.org", "to": "x" * 5000},
            "メールアドレスとして正しくありません",
        ),
    ],
)
def test_new_mail_with_bad_input_shows_why_and_starts_nothing(
    client, session, world, fields, message
):
    login_as(client, world["agent"])
    data = {
        "csrf_token": csrf_token(client, "/compose/new"),
        "mailbox": world["mailbox"].id,
        "key": "n1",
        "to": "sato@example.jp",
        "subject": "ご案内",
        "body": "本文",
        "action": "send",
        **fields,
    }
    before = session.scalar(select(func.count(Thread.id)))
    resp = client.post("/compose/new", data=data)
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert session.scalar(select(func.count(Thread.id))) == before


def test_a_double_submitted_new_mail_makes_one_thread(client, session, world):
    login_as(client, world["agent"])
    data = {
        "csrf_token": csrf_token(client, "/compose/new"),
        "mailbox": world["mailbox"].id,
        "key": "n2",
        "to": "sato@example.jp",
        "subject": "ご案内",
        "body": "本文です",
        "action": "send",
    }
    before = session.scalar(select(func.count(Thread.id)))
    first, second = client.post("/compose/new", data=data), client.post("/compose/new", data=data)
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert session.scalar(select(func.count(Thread.id))) == before + 1
    assert items(session) == 1


def test_a_past_schedule_on_a_reply_is_shown_next_to_the_composer(client, session, world):
    login_as(client, world["agent"])
    path = f"/threads/{world['thread'].id}/reply"
    data = {
        "csrf_token": csrf_token(client, path),
        "reply_key": "r1",
        "opened_at": utcnow().isoformat(),
        "to": "yamada@example.jp",
        "subject": "Re",
        "body": "お待たせしました。",
        "send_when": "at",
        "send_at": "2001-01-01T10:00",
    }
    resp = client.post(path, data=data)
    assert resp.status_code == 422 and "過ぎています" in resp.get_data(as_text=True)
    assert items(session) == 0


def test_a_scheduled_reply_shows_its_time_and_cancel_refuses_foreign_or_unknown_items(
    client, session, world
):
    login_as(client, world["agent"])
    thread = world["thread"]
    at = utcnow() + timedelta(days=2)
    message = queue_reply(
        session,
        client.application.extensions["inbox"],
        thread,
        world["agent"],
        make_draft(send_at=at),
        now=utcnow(),
    )
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
    thread.due_at = utcnow() + timedelta(days=1)  # before the scheduled time: still at risk
    session.flush()
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "送信予約" in page and f"cancel-scheduled-{item.id}" in page
    assert 'data-testid="scheduled-after-deadline"' in page
    assert 'data-testid="scheduled-badge"' in client.get("/?view=all").get_data(as_text=True)
    token = csrf_token(client, f"/threads/{thread.id}")
    for path in (
        f"/threads/{world['foreign'].id}/scheduled/{item.id}/cancel",
        f"/threads/{thread.id}/scheduled/99999999999/cancel",
    ):
        assert client.post(path, data={"csrf_token": token}).status_code == 404
    resp = client.post(
        f"/threads/{thread.id}/scheduled/{item.id}/cancel", data={"csrf_token": token}
    )
    assert resp.status_code == 302
    session.refresh(item)
    assert item.status == OutboxStatus.CANCELLED
    again = client.post(
        f"/threads/{thread.id}/scheduled/{item.id}/cancel", data={"csrf_token": token}
    )
    assert again.status_code == 400 and "もう取り消せません" in again.get_data(as_text=True)


def test_nul_bytes_in_new_mail_never_reach_the_mail(client, session, world):
    login_as(client, world["agent"])
    data = {
        "csrf_token": csrf_token(client, "/compose/new"),
        "mailbox": world["mailbox"].id,
        "key": "n3",
        "to": "sato@example.jp\x00",
        "subject": "ご\x00案内",
        "body": "本\x00文",
        "action": "send",
    }
    resp = client.post("/compose/new", data=data)
    assert resp.status_code in (302, 400, 422)
    for raw in session.scalars(select(OutboxItem.raw)):
        assert b"\x00" not in raw


def test_forward_from_a_merged_thread_goes_to_the_thread_it_was_merged_into(client, session, world):
    login_as(client, world["agent"])
    target, _ = customer_thread(session, world["mailbox"], "統合先")
    world["thread"].merged_into_id = target.id
    session.flush()
    resp = client.get(f"/threads/{world['thread'].id}/forward")
    assert resp.status_code == 302 and resp.location.endswith(f"/threads/{target.id}/forward")

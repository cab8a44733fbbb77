"""The reply panel and pages: composer, sending, inline problems, double-reply confirmation, presence, failed sends."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import OutboxItem, OutboxStatus, Role, Template, ThreadPresence
from tests.factories import csrf_token, login_as, make_mailbox, make_user
from tests.services.test_replies import customer_thread, make_draft, queue_reply


@pytest.fixture
def world(session):
    mailbox = make_mailbox(session, address="support@example.test", signature="サポート窓口")
    other = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    foreign, _ = customer_thread(session, other, "見えない件")
    agent = make_user(session, mailboxes=[mailbox], name="鈴木 一郎")
    return {"mailbox": mailbox, "thread": thread, "foreign": foreign, "agent": agent}


def composer_fields(client, path: str) -> dict[str, str]:
    page = client.get(path).get_data(as_text=True)
    fields = {
        name: html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))
        for name in ("csrf_token", "reply_key", "opened_at", "to", "cc", "subject")
    }
    fields["body"] = html.unescape(re.search(r"<textarea name=\"body\"[^>]*>\n(.*?)</textarea>", page, re.S).group(1))
    return fields


def test_thread_page_shows_the_composer_prefilled_in_japanese(client, session, world):
    login_as(client, world["agent"])
    page = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert "返信" in page and "送信" in page
    assert 'value="山田 太郎 &lt;yamada@example.jp&gt;"' in page
    assert f'value="Re: 配送について [#{world["thread"].id}]"' in page
    assert "2026年11月20日(金) 10:00 山田 太郎 様:\n&gt; 商品がまだ届きません。" in page
    assert 'href="/outbox/failed"' in page and 'href="/reply-templates/"' in page
    assert "<script src=\"/static/reply.js\"" in page and "style=" not in page


def test_sending_queues_the_reply_with_its_attachment_and_shows_it_as_sending(client, session, world):
    login_as(client, world["agent"])
    thread = world["thread"]
    fields = composer_fields(client, f"/threads/{thread.id}")
    fields["body"] = "お待たせしております。\n" + fields["body"]
    fields["attachments"] = (io.BytesIO(b"%PDF-1.4"), "見積書.pdf")
    response = client.post(f"/threads/{thread.id}/reply", data=fields, content_type="multipart/form-data")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/threads/{thread.id}#reply-status")
    item = session.scalar(select(OutboxItem).where(OutboxItem.thread_id == thread.id))
    assert item.status == OutboxStatus.QUEUED and item.recipients == ["yamada@example.jp"]
    assert "見積書.pdf".encode() not in item.raw and b"filename*=utf-8''" in item.raw
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "送信中…" in page
    assert "返信を送信待ちに入れました" in page


def test_an_empty_reply_is_refused_with_the_problems_next_to_the_composer(client, session, world):
    login_as(client, world["agent"])
    thread = world["thread"]
    fields = composer_fields(client, f"/threads/{thread.id}")
    fields.update(body="   ", to="yamada")
    response = client.post(f"/threads/{thread.id}/reply", data=fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "送信する前に本文を書いてください。" in page
    assert "メールアドレスとして正しくありません: yamada" in page
    assert session.scalar(select(OutboxItem).where(OutboxItem.thread_id == thread.id)) is None


def test_a_colleagues_reply_meanwhile_asks_for_confirmation_then_sends(client, session, runtime, world):
    login_as(client, world["agent"])
    thread = world["thread"]
    fields = composer_fields(client, f"/threads/{thread.id}")
    colleague = make_user(session, mailboxes=[world["mailbox"]], name="田中 花子")
    queue_reply(session, runtime, thread, colleague, make_draft("田中からの回答です。", key="other"), now=utcnow())
    fields["body"] = "鈴木からの回答です。"

    response = client.post(f"/threads/{thread.id}/reply", data=fields)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "田中 花子" in page and "田中からの回答です。" in page
    assert "それでも送信する" in page
    assert session.query(OutboxItem).filter_by(thread_id=thread.id).count() == 1

    confirm = dict(fields, confirm="1")
    assert client.post(f"/threads/{thread.id}/reply", data=confirm).status_code == 302
    assert session.query(OutboxItem).filter_by(thread_id=thread.id).count() == 2


def test_a_template_given_in_the_address_prefills_the_composer(client, session, world):
    template = Template(mailbox_id=world["mailbox"].id, name="お詫び", body="{customer_name} 様\n\n{ticket} の件、{agent_name}が承りました。\n{signature}")
    session.add(template)
    session.flush()
    login_as(client, world["agent"])
    fields = composer_fields(client, f"/threads/{world['thread'].id}/reply?template={template.id}")
    assert fields["body"].startswith(
        f"山田 太郎 様\n\n[#{world['thread'].id}] の件、鈴木 一郎が承りました。\nサポート窓口\n\n2026年11月20日(金)"
    )


def test_opening_the_compose_page_marks_the_user_as_writing(client, session, world):
    login_as(client, world["agent"])
    client.get(f"/threads/{world['thread'].id}/reply")
    row = session.scalar(select(ThreadPresence).where(ThreadPresence.thread_id == world["thread"].id))
    assert row.user_id == world["agent"].id and row.composing is True


def test_presence_heartbeat_needs_the_csrf_header_and_returns_the_others(client, session, world):
    thread = world["thread"]
    other = make_user(session, mailboxes=[world["mailbox"]], name="田中 花子")
    session.add(ThreadPresence(thread_id=thread.id, user_id=other.id, composing=True, seen_at=utcnow()))
    session.flush()
    login_as(client, world["agent"])
    url = f"/threads/{thread.id}/presence"
    assert client.post(url, json={"composing": True}).status_code == 400
    token = csrf_token(client, f"/threads/{thread.id}")
    data = client.post(url, json={"composing": True}, headers={"X-CSRFToken": token}).get_json()
    assert data == {"others": [{"name": "田中 花子", "composing": True}], "composing": ["田中 花子"], "drafts": []}
    assert client.get(url).get_json()["composing"] == ["田中 花子"]


@pytest.mark.parametrize("path", ["/threads/{id}/reply", "/threads/{id}/presence"])
def test_reply_pages_of_a_foreign_thread_are_not_found(client, session, world, path):
    login_as(client, world["agent"])
    assert client.get(path.format(id=world["foreign"].id)).status_code == 404


def test_posting_a_reply_to_a_foreign_thread_is_not_found(client, session, world):
    login_as(client, world["agent"])
    fields = composer_fields(client, f"/threads/{world['thread'].id}")
    response = client.post(f"/threads/{world['foreign'].id}/reply", data=fields)
    assert response.status_code == 404
    assert session.query(OutboxItem).count() == 0


@pytest.mark.parametrize("path", ["/threads/1/reply", "/threads/1/presence", "/outbox/failed"])
def test_reply_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def _failed_item(session, runtime, world, thread_key="thread", status=OutboxStatus.FAILED, key="f"):
    message = queue_reply(session, runtime, world[thread_key], world["agent"], make_draft(key=key, confirm=True))
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
    item.status, item.last_error = status, "The SMTP server answered 550: no such user"
    session.flush()
    return item


def test_failed_sends_page_lists_only_my_mailboxes_and_sends_again(client, session, runtime, world):
    mine = _failed_item(session, runtime, world)
    foreign = _failed_item(session, runtime, world, "foreign", key="g")
    login_as(client, world["agent"])
    page = client.get("/outbox/failed").get_data(as_text=True)
    assert "送信失敗" in page and "no such user" in page and f"#{world['thread'].id}" in page
    assert f'data-item-id="{foreign.id}"' not in page
    token = csrf_token(client, "/outbox/failed")
    assert client.post(f"/outbox/{foreign.id}/resend", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/outbox/{mine.id}/resend", data={"csrf_token": token}).status_code == 302
    session.refresh(mine)
    assert mine.status == OutboxStatus.QUEUED and mine.attempts == 0


def test_an_unknown_send_can_be_marked_as_sent_from_the_thread(client, session, runtime, world):
    item = _failed_item(session, runtime, world, status=OutboxStatus.UNKNOWN)
    login_as(client, world["agent"])
    page = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert "送信結果不明" in page and "送信済みにする" in page
    token = csrf_token(client, f"/threads/{world['thread'].id}")
    response = client.post(
        f"/outbox/{item.id}/mark-sent", data={"csrf_token": token, "next": f"/threads/{world['thread'].id}"}
    )
    assert response.headers["Location"] == f"/threads/{world['thread'].id}"
    session.refresh(item)
    assert item.status == OutboxStatus.SENT
    assert client.post(f"/outbox/{item.id}/mark-sent", data={"csrf_token": token}).status_code == 400


def test_failed_sends_page_for_a_lead_without_failures_says_so(client, session, world):
    login_as(client, make_user(session, Role.LEAD, mailboxes=[world["mailbox"]]))
    assert "送信失敗はありません" in client.get("/outbox/failed").get_data(as_text=True)


def test_send_time_is_stored_as_utc_now(client, session, world):
    login_as(client, world["agent"])
    thread = world["thread"]
    fields = composer_fields(client, f"/threads/{thread.id}")
    fields["body"] = "ご連絡ありがとうございます。\n" + fields["body"]
    before = utcnow()
    client.post(f"/threads/{thread.id}/reply", data=fields)
    item = session.scalar(select(OutboxItem).where(OutboxItem.thread_id == thread.id))
    assert before - timedelta(seconds=1) <= item.next_attempt_at <= utcnow()


def test_an_untouched_composer_is_refused_in_japanese_and_the_deadline_stays(client, session, world):
    login_as(client, world["agent"])
    thread = world["thread"]
    due = utcnow() + timedelta(days=1)
    thread.due_at = due
    session.flush()
    fields = composer_fields(client, f"/threads/{thread.id}")
    response = client.post(f"/threads/{thread.id}/reply", data=fields)
    assert response.status_code == 422
    assert "返信本文を書いてから送信してください。署名と引用しかありません。" in response.get_data(as_text=True)
    assert session.scalar(select(OutboxItem).where(OutboxItem.thread_id == thread.id)) is None
    session.expire_all()
    assert thread.due_at == due


def test_the_attachment_limit_is_stated_and_an_oversize_upload_gets_our_page(client, app, world):
    login_as(client, world["agent"])
    thread = world["thread"]
    fields = composer_fields(client, f"/threads/{thread.id}")
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert 'data-testid="attachment-limit">合計 20 MB まで。</p>' in page
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    parts = [f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(b'--b\r\nContent-Disposition: form-data; name="attachments"; filename="big.pdf"\r\n'
                 b"Content-Type: application/pdf\r\n\r\n" + b"x" * (2 * 1024 * 1024) + b"\r\n--b--\r\n")
    response = client.post(f"/threads/{thread.id}/reply", data=b"".join(parts),
                           content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "1 MB を超えています" in body and "<html" in body and "Request Entity Too Large" not in body


def test_a_failed_reply_shows_red_badges_counts_and_one_click_fixes(app, session, runtime, world):
    from inbox.services import outbox

    thread = world["thread"]
    lead = make_user(session, Role.LEAD, mailboxes=[world["mailbox"]])
    thread.assignee_id = lead.id
    message = queue_reply(session, runtime, thread, world["agent"], make_draft(opened_at=utcnow()))
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
    item.status = OutboxStatus.SENDING
    outbox.record(session, item, outbox.DeliveryOutcome(
        OutboxStatus.FAILED, "The SMTP server 127.0.0.1:25 answered 550: 5.1.1 No such user"),
        now=utcnow())
    session.flush()
    for user in (lead, world["agent"]):
        client = app.test_client()
        login_as(client, user)
        queue = client.get("/").get_data(as_text=True)
        assert 'data-testid="failed-sends-badge"' in queue
        row = re.search(rf'<tr data-thread-id="{thread.id}">.*?</tr>', queue, re.S).group(0)
        assert 'data-testid="send-failed-badge">送信失敗</span>' in row
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert 'data-testid="send-state"><span class="send-badge send-failing"' in page
    assert 'data-testid="reply-failed-label">返信未送信</span>' in page
    assert "メールサーバーがメッセージまたは宛先を拒否しました。" in page
    assert f'data-testid="resend-{item.id}"' in page and f'data-testid="edit-resend-{item.id}"' in page
    composer = client.get(f"/threads/{thread.id}/reply?edit={item.id}").get_data(as_text=True)
    assert f'name="replaces" value="{item.id}"' in composer and message.text.split("\n")[0] in composer


def test_failed_sends_page_says_when_an_unknown_send_had_begun(client, session, runtime, world):
    from inbox.services import outbox

    message = queue_reply(session, runtime, world["thread"], world["agent"], make_draft(opened_at=utcnow()))
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
    item.status, item.claimed_by = OutboxStatus.SENDING, "gone"
    item.claimed_until, item.attempt_started_at = utcnow() - timedelta(minutes=1), utcnow() - timedelta(minutes=6)
    session.flush()
    assert outbox.expire_stale(session, now=utcnow()) == {"requeued": 0, "unknown": 1}
    session.flush()
    login_as(client, world["agent"])
    page = client.get("/outbox/failed").get_data(as_text=True)
    assert 'data-testid="attempt-started">' in page and "に送信を開始しました。" in page
    assert "お客様に届いている可能性があります" in page
    assert "自動的に送信待ちに戻るため、ここには表示されません" in page
    history = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert "返信が送信されていない可能性があります（送信結果不明）" in history

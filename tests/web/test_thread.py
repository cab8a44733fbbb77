"""The thread page and its actions over HTTP: what it shows, who may act, and stale forms (409)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import (
    Attachment,
    Contact,
    Direction,
    Event,
    Message,
    MessageKind,
    Role,
    Status,
    Thread,
)
from tests.factories import csrf_token, login_as, logout, make_mailbox, make_thread, make_user


@pytest.fixture
def world(session):
    box = make_mailbox(session, "support")
    other = make_mailbox(session, "other")
    thread = make_thread(session, box, "返品について", customer="kato@example.jp")
    return {
        "box": box,
        "other": other,
        "thread": thread,
        "foreign": make_thread(session, other, "見えない件", customer="kato@example.jp"),
        "agent": make_user(session, Role.AGENT, mailboxes=[box], name="エージェント", email="agent@example.test"),
        "colleague": make_user(session, Role.AGENT, mailboxes=[box], name="同僚", email="colleague@example.test"),
        "lead": make_user(session, Role.LEAD, mailboxes=[box], name="リーダー"),
        "stranger": make_user(session, Role.AGENT, mailboxes=[other], name="部外者"),
    }


def add_message(session, thread, **kw):
    fields = {
        "thread_id": thread.id,
        "mailbox_id": thread.mailbox_id,
        "direction": Direction.INBOUND,
        "from_address": "kato@example.jp",
        "received_at": utcnow(),
        "text": "",
        "new_text": "",
    }
    fields.update(kw)
    message = Message(**fields)
    session.add(message)
    session.flush()
    return message


def post(client, path, data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/settings"), **data})


def test_page_shows_new_text_and_folds_quoted_history(client, session, world):
    add_message(
        session,
        world["thread"],
        text="交換をお願いします。\n\n> 以前のメール本文\n> 二行目",
        new_text="交換をお願いします。",
    )
    login_as(client, world["agent"])
    html = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    body = re.search(r'<pre class="body">交換をお願いします。</pre>\s*<details class="folded">'
                     r"<summary>(.*?)</summary><pre class=\"body\">(.*?)</pre>", html, re.S)
    assert body, html
    assert body.group(1) == "引用・署名を表示"
    assert body.group(2) == "&gt; 以前のメール本文\n&gt; 二行目"


def test_times_are_shown_in_the_users_timezone(client, session, world):
    from datetime import UTC, datetime

    add_message(session, world["thread"], received_at=datetime(2024, 6, 3, 15, 30, tzinfo=UTC), text="x", new_text="x")
    login_as(client, world["agent"])  # Asia/Tokyo by default: +9h
    assert "2024-06-04 00:30" in client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)


def test_auto_reply_bounce_and_bulk_are_labelled_and_warnings_shown(client, session, world):
    t = world["thread"]
    add_message(session, t, kind=MessageKind.AUTO_REPLY, text="不在です", new_text="不在です")
    add_message(session, t, kind=MessageKind.BOUNCE, text="Undelivered", new_text="Undelivered")
    add_message(session, t, kind=MessageKind.BULK, text="セール", new_text="セール",
                parse_warnings=["文字コードを推測しました (Shift_JIS)",
                                "MIME nesting is too deep; deeper parts were skipped."])
    login_as(client, world["agent"])
    html = client.get(f"/threads/{t.id}").get_data(as_text=True)
    labels = re.findall(r'data-testid="kind-label">([^<]+)<', html)
    assert labels == ["自動応答", "配信エラー", "一斉配信メール"]
    assert "文字コードを推測しました (Shift_JIS)" in html
    # a warning of the reader's own writing is shown in the reader's language
    assert "MIME の入れ子が深すぎるため、深い部分は読み飛ばしました。" in html and "MIME nesting" not in html


def test_attachments_are_listed_with_download_links(client, session, world):
    m = add_message(session, world["thread"], text="添付します", new_text="添付します")
    session.add(Attachment(message_id=m.id, filename="見積書.pdf", content_type="application/pdf", size=12345, sha256="a" * 64))
    session.flush()
    aid = session.scalar(select(Attachment.id).where(Attachment.message_id == m.id))
    login_as(client, world["agent"])
    html = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert f'href="/threads/{world["thread"].id}/attachments/{aid}" download>見積書.pdf</a>' in html
    assert "12,345 B" in html


def test_customer_panel_lists_other_visible_threads_newest_first_max_ten(client, session, world):
    box = world["box"]
    now = utcnow()
    for i in range(12):
        make_thread(session, box, f"過去の件{i:02d}", customer="kato@example.jp", at=now - timedelta(days=i + 1))
    login_as(client, world["agent"])
    html = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    panel = html[html.index('data-testid="customer"'):]
    subjects = re.findall(r"#\d+ (過去の件\d\d)</a>", panel)
    assert subjects == [f"過去の件{i:02d}" for i in range(10)]
    assert "kato@example.jp" in panel
    assert "見えない件" not in panel  # same contact, but in a mailbox the agent cannot see
    assert "返品について</a>" not in panel  # not the thread itself


def test_assign_to_me_sets_assignee_records_event_and_shows_history(client, session, world):
    t, agent = world["thread"], world["agent"]
    login_as(client, agent)
    response = post(client, f"/threads/{t.id}/assign", {"assignee": "me", "version": t.version})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Thread, t.id).assignee_id == agent.id
    html = client.get(f"/threads/{t.id}").get_data(as_text=True)
    assert '<dd data-testid="assignee">エージェント</dd>' in html
    assert "担当者を エージェント に設定" in html


def test_status_priority_tags_forms_change_the_thread(client, session, world):
    t = world["thread"]
    login_as(client, world["agent"])
    assert post(client, f"/threads/{t.id}/status", {"status": "waiting", "version": 1}).status_code == 302
    assert post(client, f"/threads/{t.id}/priority", {"priority": "high", "version": 2}).status_code == 302
    assert post(client, f"/threads/{t.id}/tags", {"tags": "返品、VIP, ", "version": 3}).status_code == 302
    session.expire_all()
    t = session.get(Thread, t.id)
    assert (t.status, t.priority.value, [x.tag for x in t.tags]) == (Status.WAITING, "high", ["VIP", "返品"])
    html = client.get(f"/threads/{t.id}").get_data(as_text=True)
    assert '<dd data-testid="status">保留</dd>' in html
    assert "ステータスを 未対応 から 保留 に変更" in html


def test_stale_version_gets_409_with_the_current_state_and_nothing_saved(client, session, world):
    t = world["thread"]
    login_as(client, world["agent"])
    post(client, f"/threads/{t.id}/status", {"status": "open", "version": 1})
    response = post(client, f"/threads/{t.id}/status", {"status": "resolved", "version": 1})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "ほかの人がこのスレッドを変更したため、あなたの変更は保存されていません" in html
    assert '<dd data-testid="status">対応中</dd>' in html
    session.expire_all()
    assert session.get(Thread, t.id).status == Status.OPEN


def test_agent_assigning_a_colleague_is_refused_but_a_lead_may(client, session, world):
    t = world["thread"]
    login_as(client, world["agent"])
    response = post(client, f"/threads/{t.id}/assign", {"assignee": world["colleague"].id, "version": 1})
    assert response.status_code == 403
    assert "自分にしか割り当てられません" in response.get_data(as_text=True)
    logout(client)
    login_as(client, world["lead"])
    html = client.get(f"/threads/{t.id}").get_data(as_text=True)
    assert f'<option value="{world["colleague"].id}"' in html
    assert world["stranger"].name not in html  # only people with access are offered
    assert post(client, f"/threads/{t.id}/assign", {"assignee": world["colleague"].id, "version": 1}).status_code == 302
    session.expire_all()
    assert session.get(Thread, t.id).assignee_id == world["colleague"].id


def test_invalid_status_and_missing_version_are_400(client, session, world):
    t = world["thread"]
    login_as(client, world["agent"])
    assert post(client, f"/threads/{t.id}/status", {"status": "done", "version": 1}).status_code == 400
    assert post(client, f"/threads/{t.id}/status", {"status": "open"}).status_code == 400


def test_note_with_mention_appears_in_the_thread_and_the_mentions_page(client, session, world):
    t = world["thread"]
    login_as(client, world["agent"])
    response = post(client, f"/threads/{t.id}/notes", {"body": "@colleague 在庫を確認してください"})
    assert response.status_code == 302
    note = session.scalar(select(Message).where(Message.direction == Direction.NOTE))
    assert response.headers["Location"].endswith(f"/threads/{t.id}#m{note.id}")
    html = client.get(f"/threads/{t.id}").get_data(as_text=True)
    assert "在庫を確認してください" in html and "message-note" in html
    logout(client)
    login_as(client, world["colleague"])
    assert 'data-testid="mention-badge">1<' in client.get("/settings").get_data(as_text=True)
    first = client.get("/mentions").get_data(as_text=True)
    assert 'data-unseen="true"' in first and "在庫を確認してください" in first
    second = client.get("/mentions").get_data(as_text=True)
    assert 'data-unseen="false"' in second and 'data-unseen="true"' not in second
    assert "mention-badge" not in second


def test_history_lists_who_did_what(client, session, world):
    t = world["thread"]
    session.add(Event(thread_id=t.id, actor_id=world["lead"].id, kind="status_changed", data={"from": "new", "to": "resolved"}))
    session.flush()
    login_as(client, world["agent"])
    html = client.get(f"/threads/{t.id}").get_data(as_text=True)
    history = html[html.index('data-testid="history"'):]
    assert "リーダー" in history and "ステータスを 未対応 から 対応完了 に変更" in history


# --- permissions: every endpoint of this area is closed to a non-member ------------------------

def _paths(world, session):
    t = world["foreign"]
    m = add_message(session, t, html="<p>秘密</p>", text="秘密", new_text="秘密")
    session.add(Attachment(message_id=m.id, filename="a.txt", content_type="text/plain", size=1, sha256="b" * 64))
    session.flush()
    aid = session.scalar(select(Attachment.id).where(Attachment.message_id == m.id))
    return t, m, aid


def test_non_member_gets_404_for_page_frame_and_attachment(client, session, world):
    t, m, aid = _paths(world, session)
    login_as(client, world["agent"])
    for path in (f"/threads/{t.id}", f"/threads/{t.id}/messages/{m.id}/html", f"/threads/{t.id}/attachments/{aid}",
                 f"/threads/{t.id}/attachments/{aid}?inline=1", f"/threads/{t.id}/messages/{m.id}/html?remote=1"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "秘密" not in response.get_data(as_text=True)


@pytest.mark.parametrize("action,data", [
    ("assign", {"assignee": "me"}),
    ("unassign", {}),
    ("status", {"status": "resolved"}),
    ("priority", {"priority": "urgent"}),
    ("tags", {"tags": "x"}),
    ("notes", {"body": "見えるかな"}),
])
def test_non_member_gets_404_for_every_action_and_nothing_changes(client, session, world, action, data):
    t = world["foreign"]
    login_as(client, world["agent"])
    response = post(client, f"/threads/{t.id}/{action}", {"version": 1, **data})
    assert response.status_code == 404
    session.expire_all()
    fresh = session.get(Thread, t.id)
    assert (fresh.version, fresh.assignee_id, fresh.tags) == (1, None, [])
    assert session.scalar(select(Message).where(Message.thread_id == t.id, Message.direction == Direction.NOTE)) is None


def test_message_of_another_thread_is_404_through_a_visible_thread(client, session, world):
    _, m, aid = _paths(world, session)
    login_as(client, world["agent"])
    mine = world["thread"].id
    assert client.get(f"/threads/{mine}/messages/{m.id}/html").status_code == 404
    assert client.get(f"/threads/{mine}/attachments/{aid}").status_code == 404


@pytest.mark.parametrize("path", ["/mentions", "/threads/1/messages/1/html", "/threads/1/attachments/1"])
def test_new_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_contact_name_is_shown_in_the_panel(client, session, world):
    contact = session.scalar(select(Contact).where(Contact.address == "kato@example.jp"))
    contact.name = "加藤 様"
    session.flush()
    login_as(client, world["agent"])
    assert "<strong>加藤 様</strong>" in client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)


def test_the_same_mail_in_another_mailbox_is_pointed_out_and_linked_only_for_its_members(
    client, session, world
):
    t, foreign = world["thread"], world["foreign"]
    mine = session.scalar(select(Message).where(Message.thread_id == t.id))
    copy = session.scalar(select(Message).where(Message.thread_id == foreign.id))
    copy.message_id = mine.message_id  # one mail sent to both shared addresses
    both = make_user(session, Role.LEAD, mailboxes=[world["box"], world["other"]], email="both@example.test")
    session.flush()

    login_as(client, world["agent"])
    html = client.get(f"/threads/{t.id}").get_data(as_text=True)
    assert 'data-testid="same-mail-elsewhere"' in html
    assert "閲覧権限のないメールボックス" in html
    assert f"/threads/{foreign.id}" not in html and "(other)" not in html
    logout(client)

    login_as(client, both)
    html = client.get(f"/threads/{foreign.id}").get_data(as_text=True)
    assert f'href="/threads/{t.id}">#{t.id}</a> (support)' in html
    html = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert f'href="/threads/{foreign.id}">#{foreign.id}</a> (other)' in html


def test_a_thread_without_copies_elsewhere_shows_no_such_notice(client, world):
    login_as(client, world["agent"])
    html = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert 'data-testid="same-mail-elsewhere"' not in html

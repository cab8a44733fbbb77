"""Merge, split and undo through the web (thread page and queue selection), with hostile input;
reply drafts saved through the autosave endpoint, restored, shown to others, dropped on send."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from inbox.models import Message, OutboxItem, ReplyDraft, Role, Thread, ThreadOperation
from tests.factories import csrf_token, login_as, logout, make_mailbox, make_thread, make_user


@pytest.fixture
def world(session):
    box, other_box = make_mailbox(session, "support"), make_mailbox(session, "sales")
    agent = make_user(session, mailboxes=[box], name="鈴木")
    colleague = make_user(session, mailboxes=[box], name="佐藤")
    lead = make_user(session, Role.LEAD, mailboxes=[box, other_box], name="田中")
    a, b = make_thread(session, box), make_thread(session, box)
    elsewhere = make_thread(session, other_box)
    hidden = make_thread(session, make_mailbox(session, "secret"))
    mall_a = make_thread(session, box, external_ref="inq-1")
    mall_b = make_thread(session, box, external_ref="inq-2")
    session.flush()
    return locals()


def post(client, path, data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/settings"), **data})


def page(client, response) -> str:
    assert response.status_code in (302, 303), response.status_code
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_merge_from_the_thread_page_redirects_the_merged_thread_and_undo_restores(
    client, session, world
):
    a, b = world["a"], world["b"]
    login_as(client, world["agent"])
    html = page(client, post(client, f"/threads/{a.id}/merge", {"threads": f"#{b.id}"}))
    assert "1 件のスレッドをこのスレッドに統合しました。" in html
    assert f"#{b.id} をこのスレッドに統合" in html
    session.expire_all()
    assert session.get(Thread, b.id).merged_into_id == a.id
    response = client.get(f"/threads/{b.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/threads/{a.id}")
    html = client.get(f"/threads/{a.id}").get_data(as_text=True)
    assert html.count('data-testid="message"') == 2
    assert 'data-testid="history-merged-from">#' + str(b.id) in html  # b's own history is shown
    assert 'data-testid="undo-op"' in html
    op = session.scalar(select(ThreadOperation).where(ThreadOperation.thread_id == a.id))
    html = page(client, post(client, f"/threads/{a.id}/undo/{op.id}", {}))
    assert "元に戻しました。" in html
    session.expire_all()
    assert session.get(Thread, b.id).merged_into_id is None
    assert client.get(f"/threads/{b.id}").status_code == 200
    again = page(client, post(client, f"/threads/{a.id}/undo/{op.id}", {}))
    assert "この操作はすでに取り消されています。" in again


@pytest.mark.parametrize(
    "value, says",
    [
        ("self", "スレッドを自分自身に統合することはできません。"),
        ("elsewhere", "は存在しないか、担当外のメールボックスにあります。"),
        ("hidden", "は存在しないか、担当外のメールボックスにあります。"),
        ("9" * 40, "はスレッド番号ではありません。"),
        (str(2**63), "はスレッド番号ではありません。"),
        ("abc\x00", "はスレッド番号ではありません。"),
        ("", "統合するスレッドを1つ以上指定してください。"),
        ("99999999", "スレッド #99999999 は存在しないか"),
    ],
)
def test_hostile_merges_say_why_in_japanese_and_change_nothing(client, session, world, value, says):
    a = world["a"]
    login_as(client, world["agent"])
    threads = {
        "self": str(a.id),
        "elsewhere": str(world["elsewhere"].id),
        "hidden": str(world["hidden"].id),
    }
    html = page(
        client, post(client, f"/threads/{a.id}/merge", {"threads": threads.get(value, value)})
    )
    assert says in html
    assert session.scalar(select(func.count()).select_from(ThreadOperation)) == 0


def test_a_lead_is_told_why_across_mailboxes_and_mall_inquiries(client, session, world):
    login_as(client, world["lead"])
    a, elsewhere, mall_a, mall_b = world["a"], world["elsewhere"], world["mall_a"], world["mall_b"]
    html = page(client, post(client, f"/threads/{a.id}/merge", {"threads": str(elsewhere.id)}))
    assert f"スレッド #{a.id} と #{elsewhere.id} はメールボックスが異なります。" in html
    html = page(client, post(client, f"/threads/{mall_a.id}/merge", {"threads": str(mall_b.id)}))
    assert "別々のモール問い合わせです" in html
    html = page(client, post(client, f"/threads/{mall_a.id}/split", {"message": "1"}))
    assert "分割できません" in html


def test_operations_on_a_thread_the_user_may_not_see_are_not_found(client, world):
    hidden = world["hidden"]
    login_as(client, world["agent"])
    assert (
        post(client, f"/threads/{hidden.id}/merge", {"threads": str(world["a"].id)}).status_code
        == 404
    )
    assert post(client, f"/threads/{hidden.id}/split", {"message": "1"}).status_code == 404
    assert client.get(f"/threads/{hidden.id}").status_code == 404
    response = post(client, "/threads/merge", {"thread": [str(world["a"].id), str(hidden.id)]})
    assert response.status_code == 404
    assert "は存在しないか" in response.get_data(as_text=True)


def test_split_from_the_thread_page_and_hostile_split_choices(client, session, world):
    a, b = world["a"], world["b"]
    login_as(client, world["agent"])
    first = session.scalar(select(Message.id).where(Message.thread_id == a.id))
    for value, says in [(str(first), "2通目以降のメッセージを選んでください"),
                        (str(2**70), "分割の起点にするメッセージを選んでください。"),
                        ("x", "分割の起点にするメッセージを選んでください。"),
                        ("123456789", "はスレッド")]:  # fmt: skip
        assert says in page(client, post(client, f"/threads/{a.id}/split", {"message": value}))
    page(client, post(client, f"/threads/{a.id}/merge", {"threads": str(b.id)}))
    moved = session.scalar(
        select(Message.id).where(Message.thread_id == a.id).order_by(Message.received_at.desc())
    )
    response = post(client, f"/threads/{a.id}/split", {"message": str(moved)})
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    session.expire_all()
    assert session.get(Thread, new_id).message_count == 1
    assert session.get(Thread, a.id).message_count == 1


def test_bulk_merge_from_the_queue_goes_into_the_oldest(client, session, world):
    a, b = world["a"], world["b"]
    login_as(client, world["agent"])
    response = post(client, "/threads/merge", {"thread": [str(b.id), str(a.id)]})
    low, high = sorted((a.id, b.id))
    assert response.headers["Location"].endswith(f"/threads/{low}")
    session.expire_all()
    assert session.get(Thread, high).merged_into_id == low
    assert post(client, "/threads/merge", {"thread": [str(low)]}).status_code == 400
    queue = client.get("/").get_data(as_text=True)
    assert f'value="{high}"' not in queue and f'value="{low}"' in queue


def draft_post(client, thread_id, body, token=None):
    token = token or csrf_token(client, f"/threads/{thread_id}")
    return client.post(f"/threads/{thread_id}/draft", json=body, headers={"X-CSRFToken": token})


def test_drafts_are_saved_restored_shown_to_others_and_dropped_on_send(client, session, world):
    a = world["a"]
    login_as(client, world["agent"])
    assert client.post(f"/threads/{a.id}/draft", json={"body": "x"}).status_code == 400  # no CSRF
    assert draft_post(
        client, a.id, {"body": "途中まで\x00書いた返信", "subject": "Re: 件"}
    ).get_json() == {"saved": True}
    assert draft_post(client, a.id, {"body": ["x"]}).status_code == 400
    assert draft_post(client, a.id, {"body": "x" * 200_001}).status_code == 400
    assert draft_post(client, world["hidden"].id, {"body": "x"}).status_code == 404
    html = client.get(f"/threads/{a.id}").get_data(as_text=True)
    assert "途中まで書いた返信</textarea>" in html and "保存された下書きを復元しました。" in html
    assert (
        session.scalar(select(func.count()).select_from(OutboxItem)) == 0
    )  # never sends by itself

    logout(client)
    login_as(client, world["colleague"])
    html = client.get(f"/threads/{a.id}").get_data(as_text=True)
    assert 'data-testid="draft-by">下書き: <strong>鈴木</strong>' in html
    assert "途中まで書いた返信" not in html

    logout(client)
    login_as(client, world["agent"])
    page_html = client.get(f"/threads/{a.id}").get_data(as_text=True)
    fields = dict(re.findall(r'name="(reply_key|opened_at)" value="([^"]+)"', page_html))
    response = client.post(f"/threads/{a.id}/reply", data={
        "csrf_token": csrf_token(client, f"/threads/{a.id}"), "to": "customer@example.test",
        "subject": "Re: 件", "body": "お待たせしました。", **fields,
    })  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert session.scalar(select(func.count()).select_from(ReplyDraft)) == 0
    assert draft_post(client, a.id, {"body": "   "}).get_json() == {"saved": False}


def test_a_merged_thread_takes_no_reply_of_its_own(client, session, world):
    a, b = world["a"], world["b"]
    login_as(client, world["agent"])
    page(client, post(client, f"/threads/{a.id}/merge", {"threads": str(b.id)}))
    assert (
        client.get(f"/threads/{b.id}/reply").headers["Location"].endswith(f"/threads/{a.id}#reply")
    )
    response = client.post(f"/threads/{b.id}/reply", data={
        "csrf_token": csrf_token(client, "/settings"), "to": "customer@example.test", "subject": "Re",
        "body": "返信", "reply_key": "k1", "opened_at": "2026-06-01T00:00:00+00:00",
    })  # fmt: skip
    assert response.status_code == 400
    assert f"スレッド #{b.id} は #{a.id} に統合されました。" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0

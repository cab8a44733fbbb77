"""Polling Rakuten R-Messe against the loopback stub: windows, pages, follow-ups, deletions, files, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import Direction, Event, Mailbox, SourceCursor, Status, Thread
from inbox.sources.rakuten import jst
from tests.malls import add_channel, cursor_state, fast_env, keys, mailbox, mall_runtime, threads
from tests.support.mall_stubs import RakutenStub


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as rt:
        yield rt


@pytest.fixture
def stub():
    with RakutenStub() as s:
        yield s


def ago(**kw) -> datetime:
    return (utcnow() - timedelta(**kw)).replace(microsecond=0)


def test_each_inquiry_becomes_one_thread_with_messages_keyed_by_the_mall(runtime, stub):
    stub.add_inquiry("999999-20240101-0001", "サイズ交換できますか？\n注文済みです。", ago(days=2),
                     orderNumber="999999-20240101-00000001", itemName="有田焼 マグカップ",
                     itemUrl="https://item.rakuten.co.jp/shop/mug/", userName="楽天 花子")
    stub.add_reply("999999-20240101-0001", "ご連絡ありがとうございます。", ago(days=1), sender="merchant")
    stub.add_reply("999999-20240101-0001", "よろしくお願いします。", ago(hours=5), sender="user")
    stub.add_inquiry("999999-20240101-0002", "在庫はありますか", ago(hours=3))
    box = add_channel(runtime, "rakuten", stub)

    result = Poller(runtime).poll(box)

    assert result.error is None and result.counts.imported == 4
    assert keys(runtime, box) == [
        ("999999-20240101-0001#r0", "outbound"),
        ("999999-20240101-0001#r1", "inbound"),
        ("999999-20240101-0001#root", "inbound"),
        ("999999-20240101-0002#root", "inbound"),
    ]
    first = threads(runtime, box)[0]
    assert first.subject == "サイズ交換できますか？"
    assert first.contact.address == "0001@pc.fw.rakuten.ne.jp" and first.contact.name == "楽天 花子"
    assert first.external_meta["order_number"] == "999999-20240101-00000001"
    assert first.external_meta["item_name"] == "有田焼 マグカップ"
    assert first.external_meta["item_url"] == "https://item.rakuten.co.jp/shop/mug/"
    assert "orderNumber=999999-20240101-00000001" in first.external_meta["order_url"]
    assert first.due_at is not None  # the customer's messages set the reply deadline
    # The list is asked in naive JST, within 31 days.
    call = stub.calls("/inquiries", "GET")[0]
    assert "+" not in call.params["fromDate"] and "T" in call.params["toDate"]


def test_polling_again_adds_nothing_and_moves_the_cursor(runtime, stub):
    stub.add_inquiry("999999-20240101-0001", "質問です", ago(hours=2))
    box = add_channel(runtime, "rakuten", stub)
    first = Poller(runtime).poll(box)
    since = cursor_state(runtime, box)["since"]
    second = Poller(runtime).poll(box)
    assert (first.counts.imported, second.counts.imported) == (1, 0)
    assert second.counts.duplicates >= 1  # the overlap hands the same inquiry back
    assert len(keys(runtime, box)) == 1
    assert cursor_state(runtime, box)["since"] > since


def test_a_backlog_longer_than_31_days_is_listed_in_windows_and_the_cursor_follows(runtime, stub):
    stub.add_inquiry("999999-20240101-0001", "古い質問", ago(days=70))
    stub.add_inquiry("999999-20240101-0002", "新しい質問", ago(days=1))
    box = add_channel(runtime, "rakuten", stub)
    with runtime.Session() as s:
        s.add(SourceCursor(mailbox_id=box, name="mall", last_uid=0,
                           state={"since": ago(days=80).isoformat(), "deep_at": ago(hours=1).isoformat()}))
        s.commit()

    assert Poller(runtime).poll(box).counts.imported == 2
    spans = [datetime.fromisoformat(c.params["toDate"]) - datetime.fromisoformat(c.params["fromDate"])
             for c in stub.calls("/inquiries", "GET")]
    assert len(spans) == 3 and max(spans) <= timedelta(days=31)


def test_a_window_over_the_result_cap_is_split_until_each_part_fits(runtime, stub):
    stub.max_results = 4
    for i in range(10):
        stub.add_inquiry(f"999999-20240101-{i:04d}", f"質問 {i}", ago(days=i + 1))
    box = add_channel(runtime, "rakuten", stub, page_limit=2, max_results=4)

    result = Poller(runtime).poll(box)

    assert result.error is None and result.counts.imported == 10
    pages = stub.calls("/inquiries", "GET")
    assert all(int(c.params["limit"]) * int(c.params["page"]) <= 4 for c in pages)
    assert len({(c.params["fromDate"], c.params["toDate"]) for c in pages}) > 1


def test_every_page_of_a_window_is_read(runtime, stub):
    for i in range(5):
        stub.add_inquiry(f"999999-20240101-{i:04d}", f"質問 {i}", ago(hours=i + 1))
    box = add_channel(runtime, "rakuten", stub, page_limit=2)
    assert Poller(runtime).poll(box).counts.imported == 5
    calls = stub.calls("/inquiries", "GET")
    last = max(c.params["toDate"] for c in calls)  # the first poll looks back 31 days + overlap
    assert [int(c.params["page"]) for c in calls if c.params["toDate"] == last] == [1, 2, 3]


def test_a_follow_up_on_an_old_inquiry_is_found_and_reopens_the_thread(runtime, stub):
    stub.add_inquiry("999999-20240101-0001", "届きません", ago(days=20))
    box = add_channel(runtime, "rakuten", stub)
    Poller(runtime).poll(box)
    with runtime.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        thread.status, thread.due_at = Status.WAITING, None
        s.commit()
    stub.add_reply("999999-20240101-0001", "まだ届きません！", ago(minutes=5), sender="user")

    assert Poller(runtime).poll(box).counts.imported == 1
    [thread] = threads(runtime, box)
    assert thread.status == Status.OPEN and thread.due_at is not None
    assert [m.text for m in thread.messages] == ["届きません", "まだ届きません！"]
    assert stub.calls("/inquiry/999999-20240101-0001", "GET")  # found by re-checking the open thread
    with runtime.Session() as s:
        kinds = list(s.scalars(select(Event.kind).where(Event.thread_id == thread.id)))
        assert "status_changed" in kinds


def test_messages_the_mall_deletes_are_kept_blank_and_marked(runtime, stub):
    stub.add_inquiry("999999-20240101-0001", "個人情報を書いてしまいました", ago(hours=3))
    stub.add_reply("999999-20240101-0001", "電話番号は 090-...", ago(hours=2))
    box = add_channel(runtime, "rakuten", stub)
    Poller(runtime).poll(box)
    inq = stub.inquiries["999999-20240101-0001"]
    inq["replies"][0].update(isMessageDeleted=True, message="")
    inq.update(isMessageDeleted=True, message="", attachments=[])

    Poller(runtime).poll(box)

    [thread] = threads(runtime, box)
    assert [(m.source_key, m.text, m.deleted_by_source) for m in thread.messages] == [
        ("999999-20240101-0001#root", "", True),
        ("999999-20240101-0001#r0", "", True),
    ]


def test_attachments_are_downloaded_into_the_blob_store(runtime, stub):
    stub.add_file("2024/05/18/999999/122905_ab", b"\x89PNG photo")
    stub.add_inquiry("999999-20240101-0001", "破損していました", ago(hours=1),
                     attachments=[{"label": "破損.png", "path": "2024/05/18/999999/122905_ab"}])
    box = add_channel(runtime, "rakuten", stub)
    Poller(runtime).poll(box)
    Poller(runtime).poll(box)
    [att] = threads(runtime, box)[0].messages[0].attachments
    assert (att.filename, att.content_type, att.size) == ("破損.png", "image/png", 10)
    assert runtime.blobs.get(att.sha256) == b"\x89PNG photo"
    assert len(stub.calls("/attachment", "GET")) == 1  # not fetched again for a stored message


@pytest.mark.parametrize("breakage", ["missing_list", "bad_date"])
def test_a_contract_breaking_answer_fails_the_poll_and_keeps_the_cursor(runtime, stub, breakage):
    stub.add_inquiry("999999-20240101-0001", "質問", ago(hours=1))
    box = add_channel(runtime, "rakuten", stub)
    Poller(runtime).poll(box)
    before = cursor_state(runtime, box)
    stub.add_inquiry("999999-20240101-0002", "次の質問", ago(minutes=1))
    stub.contract_break = breakage

    result = Poller(runtime).poll(box)

    assert result.error and "Rakuten" in result.error
    assert cursor_state(runtime, box) == before
    assert mailbox(runtime, box).last_error == result.error
    assert len(keys(runtime, box)) == 1


def test_429_and_503_are_retried_with_growing_waits(runtime, stub):
    sleeps: list[float] = []
    runtime.mall_env = fast_env(sleeps, backoff=1.0)
    stub.add_inquiry("999999-20240101-0001", "質問", ago(hours=1))
    stub.fail_next("/inquiries", 429, {"error": {"code": "X", "message": "Too Many Requests"}})
    stub.fail_next("/inquiries", 503, {"error": {"code": "X", "message": "Temporary Unavailable"}})
    box = add_channel(runtime, "rakuten", stub)
    result = Poller(runtime).poll(box)
    assert result.error is None and result.counts.imported == 1
    assert sleeps == [1.0, 2.0]


def test_expired_key_stops_polling_with_a_banner_and_a_new_key_resumes_from_the_cursor(runtime, stub):
    from inbox.services.mall_credentials import replace_secrets

    stub.add_inquiry("999999-20240101-0001", "質問", ago(hours=2))
    box = add_channel(runtime, "rakuten", stub)
    Poller(runtime).poll(box)
    since = cursor_state(runtime, box)["since"]
    stub.expire_key()
    stub.add_inquiry("999999-20240101-0002", "期限切れ中の質問", ago(minutes=1))

    failed = Poller(runtime).poll(box)
    assert "licence key" in failed.error
    assert mailbox(runtime, box).settings["credentials_state"] == "expired"
    calls = len(stub.requests)
    assert Poller(runtime).poll(box).error == failed.error
    assert len(stub.requests) == calls  # stopped: the mall is not asked again
    assert cursor_state(runtime, box)["since"] == since

    stub.license_key = "lic-key-2"
    with runtime.Session() as s:
        replace_secrets(s, runtime.secrets, s.get(Mailbox, box), {"license_key": "lic-key-2"},
                        now=datetime.now(UTC))
        s.commit()
    before = len(stub.requests)
    resumed = Poller(runtime).poll(box)

    assert resumed.error is None and resumed.counts.imported == 1
    assert "credentials_state" not in mailbox(runtime, box).settings
    first_list = next(r for r in stub.requests[before:] if r.path.endswith("/inquiries"))
    assert first_list.params["fromDate"] == jst(datetime.fromisoformat(since) - timedelta(hours=1))


def test_an_error_mid_poll_repeats_nothing_on_the_next_poll(runtime, stub, monkeypatch):
    import inbox.jobs.mall_poll as mall

    for i in range(4):
        stub.add_inquiry(f"999999-20240101-{i:04d}", f"質問 {i}", ago(hours=i + 1))
    box = add_channel(runtime, "rakuten", stub, page_limit=2)
    real = mall.store_conversation
    seen = []

    def crash_on_third(session, mb, conv, ctx):
        seen.append(conv.ref)
        if len(seen) == 3:
            raise RuntimeError("process killed")
        return real(session, mb, conv, ctx)

    monkeypatch.setattr(mall, "store_conversation", crash_on_third)
    assert Poller(runtime).poll(box).error == "process killed"
    assert len(keys(runtime, box)) == 2
    # Only the empty oldest window was completed; the window being stored did not move the cursor.
    state = cursor_state(runtime, box)
    assert "deep_at" not in state and datetime.fromisoformat(state["since"]) < ago(days=30)
    monkeypatch.setattr(mall, "store_conversation", real)
    again = Poller(runtime).poll(box)
    assert again.counts.imported == 2 and len(keys(runtime, box)) == 4


def test_direction_comes_from_the_sender_field_and_unknown_senders_fail_loudly(runtime, stub):
    stub.add_inquiry("999999-20240101-0001", "ご注文の件でご連絡します", ago(hours=2), type="店舗からの問い合わせ")
    stub.add_reply("999999-20240101-0001", "承知しました", ago(hours=1), sender="user")
    box = add_channel(runtime, "rakuten", stub)
    Poller(runtime).poll(box)
    [thread] = threads(runtime, box)
    assert [m.direction for m in thread.messages] == [Direction.OUTBOUND, Direction.INBOUND]
    stub.add_reply("999999-20240101-0001", "?", ago(minutes=1), sender="robot")
    assert "unknown replyFrom" in Poller(runtime).poll(box).error

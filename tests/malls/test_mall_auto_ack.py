"""Auto-acknowledgement in the malls: posted once through the mall API within the mall's limits, matched by the next poll."""

from __future__ import annotations

from sqlalchemy import select

import inbox.senders  # noqa: F401  (registers the deliverers and the mall reply channels)
from inbox.jobs.poll import Poller
from inbox.models import Event, MessageKind, Status, Thread
from tests.malls import INQ, add_channel, threads
from tests.malls.test_mall_replies import deliver, runtime  # noqa: F401  (fixture)

TEXT = "お問い合わせありがとうございます。受付番号 {ticket} で承りました。"


def test_a_new_rakuten_inquiry_is_acknowledged_once_through_the_mall(runtime, rakuten):  # noqa: F811
    box = add_channel(runtime, "rakuten", rakuten, auto_ack_enabled=True, auto_ack_open_text=TEXT,
                      auto_ack_closed_text=TEXT)
    Poller(runtime).poll(box)
    [thread] = threads(runtime, box)

    assert deliver(runtime) == {"sent": 1}
    assert [(p["inquiryNumber"], p["message"]) for p in rakuten.posted] == [
        (INQ, f"お問い合わせありがとうございます。受付番号 [#{thread.id}] で承りました。")]
    Poller(runtime).poll(box)  # the mall's copy is matched to our row: no second bubble, no second ack
    assert deliver(runtime) == {}
    [thread] = threads(runtime, box)
    outbound = [m for m in thread.messages if m.direction.value == "outbound"]
    assert [(m.kind, m.source_key) for m in outbound] == [(MessageKind.AUTO_REPLY, f"{INQ}#r0")]
    assert len(rakuten.posted) == 1
    assert thread.status == Status.NEW and thread.due_at is not None  # no answer


def test_a_text_the_mall_would_refuse_is_not_posted_and_the_thread_says_why(runtime, rakuten):  # noqa: F811
    box = add_channel(runtime, "rakuten", rakuten, auto_ack_enabled=True,
                      auto_ack_open_text="詳しくは http://example.com/faq をご覧ください。",
                      auto_ack_closed_text="詳しくは http://example.com/faq をご覧ください。")
    Poller(runtime).poll(box)
    assert deliver(runtime) == {}
    assert rakuten.posted == []
    with runtime.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        skipped = s.scalar(select(Event).where(Event.thread_id == thread.id, Event.kind == "auto_ack_skipped"))
        assert skipped.data["reason"] == "mall limits"
        assert "https links" in skipped.data["problems"][0]
        assert thread.status == Status.NEW


def test_a_yahoo_question_is_acknowledged_too(runtime, yahoo):  # noqa: F811
    box = add_channel(runtime, "yahoo", yahoo, auto_ack_enabled=True, auto_ack_open_text=TEXT,
                      auto_ack_closed_text=TEXT)
    Poller(runtime).poll(box)
    assert deliver(runtime) == {"sent": 1}
    [thread] = threads(runtime, box)
    assert [p["topicId"] for p in yahoo.posted] == ["topic-1"]
    assert f"[#{thread.id}]" in str(yahoo.posted[0])

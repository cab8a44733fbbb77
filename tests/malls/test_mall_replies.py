"""Replies through the malls: rules checked first, posted once, matched to the mall's copy (no double post, no double bubble)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

import inbox.senders  # noqa: F401  (registers the deliverers and the mall reply channels)
from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import Message, OutboxItem, OutboxStatus, Role, Thread
from inbox.services import outbox
from inbox.services.mall_replies import RAKUTEN_RULES, YAHOO_RULES, check_reply
from inbox.services.replies import Draft, StagedAttachment, send_reply
from tests.factories import make_user
from tests.malls import INQ, add_channel, fast_env, mall_runtime, threads


def png(name: str = "photo.png", size: int = 10) -> StagedAttachment:
    return StagedAttachment(name, "image/png", size, "0" * 64)


# -- the malls' rules, before anything is queued ----------------------------------------------


def test_rakuten_rules_are_checked_with_the_reason_shown():
    assert check_reply(RAKUTEN_RULES, "ご確認ください https://item.rakuten.co.jp/shop/a/", []) == []
    problems = check_reply(
        RAKUTEN_RULES,
        "あ" * 301 + "\nhttp://item.rakuten.co.jp/x\nhttps://example.com/a\n" + "い" * 1700,
        [png("a.png"), png("b.bmp", 6 * 1024 * 1024)],
    )
    texts = [p % p.params for p in problems]
    assert texts == [
        "Rakuten accepts at most 2000 characters; this reply has 2052.",
        "Line 1 has 301 characters; Rakuten allows 300 per line.",
        "Line 4 has 1700 characters; Rakuten allows 300 per line.",
        "Rakuten allows only https links to its own sites (such as rakuten.co.jp): http://item.rakuten.co.jp/x",
        "Rakuten allows only https links to its own sites (such as rakuten.co.jp): https://example.com/a",
        "Rakuten allows 1 attachment per reply.",
        "Rakuten accepts only PNG, JPEG, GIF and PDF files: b.bmp",
        "b.bmp is larger than 5 MB.",
    ]


def test_yahoo_rules_limit_the_length_and_the_attachments():
    assert check_reply(YAHOO_RULES, "x" * 2000, [png("a.png"), png("b.pdf"), png("c.jpg")]) == []
    texts = [p % p.params for p in check_reply(YAHOO_RULES, "x" * 2001, [
        png("a.png"), png("b.bmp"), png("c.png", 6 * 1024 * 1024), png("[d].png")])]
    assert texts == ["Yahoo! accepts at most 2000 characters; this reply has 2001.",
                     "Yahoo! allows at most 3 attachments per reply.",
                     "Yahoo! accepts only PNG, JPEG, GIF and PDF files: b.bmp",
                     "c.png is larger than 5 MB.",
                     "Rename [d].png: at most 100 characters and no square brackets."]
    assert [str(p) for p in check_reply(YAHOO_RULES, "  \n", [])] == ["Write a message before sending."]


# -- posting, end to end against the stubs ------------------------------------------------------


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as rt:
        yield rt




def reply(runtime, box: int, text: str, attachments=()) -> int:
    """An agent sends ``text`` on the channel's only thread; returns the outbox item id."""
    with runtime.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        agent = make_user(s, Role.AGENT, mailboxes=[thread.mailbox])
        message = send_reply(s, thread, agent, Draft("", "", "", "", text, uuid.uuid4().hex, utcnow(),
                                                     list(attachments)),
                             now=utcnow(), settings=runtime.settings, blobs=runtime.blobs)
        s.commit()
        return s.scalar(select(OutboxItem.id).where(OutboxItem.message_row_id == message.id))


def deliver(runtime) -> dict[str, int]:
    return outbox.deliver_due(runtime.Session, runtime, owner="test", now=utcnow)


def item(runtime, item_id: int) -> OutboxItem:
    with runtime.Session() as s:
        return s.get(OutboxItem, item_id)


def outbound(runtime, box: int) -> list[tuple[str, str]]:
    return [(m.source_key, m.text) for t in threads(runtime, box) for m in t.messages
            if m.direction.value == "outbound"]


def test_a_rakuten_reply_is_posted_once_and_the_next_poll_adds_no_second_bubble(runtime, rakuten):
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    sent = reply(runtime, box, "交換を承ります。\n返送先をご案内します。")

    assert deliver(runtime) == {"sent": 1}
    assert [(p["inquiryNumber"], p["message"]) for p in rakuten.posted] == [
        (INQ, "交換を承ります。\n返送先をご案内します。")]
    assert outbound(runtime, box) == [(f"{INQ}#r0", "交換を承ります。\n返送先をご案内します。")]
    assert Poller(runtime).poll(box).counts.imported == 0
    assert outbound(runtime, box) == [(f"{INQ}#r0", "交換を承ります。\n返送先をご案内します。")]
    assert item(runtime, sent).status == OutboxStatus.SENT


def test_a_rakuten_409_is_matched_to_the_existing_copy_and_not_posted_again(runtime, rakuten):
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    sent = reply(runtime, box, "確認いたします。")
    rakuten.conflict_next = True  # the mall holds the reply already and answers 409

    assert deliver(runtime) == {"sent": 1}
    assert len(rakuten.posted) == 1 and len(rakuten.inquiries[INQ]["replies"]) == 1
    assert outbound(runtime, box) == [(f"{INQ}#r0", "確認いたします。")]
    assert item(runtime, sent).status == OutboxStatus.SENT


def test_a_timed_out_rakuten_reply_is_unconfirmed_never_retried_and_matched_by_the_next_poll(runtime, rakuten):
    runtime.mall_env = fast_env(timeout=0.3)
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    sent = reply(runtime, box, "本日発送しました。")
    rakuten.reply_delay = 1.0  # the mall stores it, but answers too late

    assert deliver(runtime) == {"unknown": 1}
    assert "Unconfirmed" in item(runtime, sent).last_error
    rakuten.reply_delay = 0
    assert deliver(runtime) == {}  # unknown is never sent again automatically
    assert len(rakuten.posted) == 1

    Poller(runtime).poll(box)

    assert item(runtime, sent).status == OutboxStatus.SENT
    assert outbound(runtime, box) == [(f"{INQ}#r0", "本日発送しました。")]
    assert len(rakuten.posted) == 1


def test_a_rakuten_reply_with_one_attachment_uploads_it_first(runtime, rakuten):
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    sha = runtime.blobs.put(b"\x89PNG label")
    reply(runtime, box, "返送ラベルです。", [StagedAttachment("label.png", "image/png", 10, sha)])
    assert deliver(runtime) == {"sent": 1}
    [(path, data)] = [(p, d) for p, d in rakuten.files.items()]
    assert data == b"\x89PNG label"
    assert rakuten.posted[0]["attachments"] == [{"label": "label.png", "path": path}]


def test_a_refused_rakuten_reply_is_rejected_with_the_malls_reason(runtime, rakuten):
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    sent = reply(runtime, box, "お待たせしました。")
    rakuten.fail_next("inquiry/reply", 400, {"error": {"code": "IE001", "message": "bad parameter",
                                                      "targets": {"message": "forbidden word"}}})
    assert deliver(runtime) == {"rejected": 1}
    assert "IE001" in item(runtime, sent).last_error and "forbidden word" in item(runtime, sent).last_error
    assert rakuten.posted == []


def test_a_yahoo_reply_takes_the_message_id_the_mall_returns(runtime, yahoo):
    box = add_channel(runtime, "yahoo", yahoo)
    Poller(runtime).poll(box)
    reply(runtime, box, "対応いたします。")
    assert deliver(runtime) == {"sent": 1}
    assert [(p["topicId"], p["body"]) for p in yahoo.posted] == [("topic-1", "対応いたします。")]
    assert outbound(runtime, box) == [("topic-1#m2", "対応いたします。")]
    Poller(runtime).poll(box)
    assert outbound(runtime, box) == [("topic-1#m2", "対応いたします。")]


def test_a_timed_out_yahoo_reply_is_matched_by_the_next_poll_and_never_posted_twice(runtime, yahoo):
    runtime.mall_env = fast_env(timeout=0.3)
    box = add_channel(runtime, "yahoo", yahoo)
    Poller(runtime).poll(box)
    sent = reply(runtime, box, "確認中です。")
    yahoo.add_delay = 1.0

    assert deliver(runtime) == {"unknown": 1}
    yahoo.add_delay = 0
    assert deliver(runtime) == {}
    Poller(runtime).poll(box)

    assert item(runtime, sent).status == OutboxStatus.SENT
    assert outbound(runtime, box) == [("topic-1#m2", "確認中です。")]
    assert len(yahoo.posted) == 1


def test_a_resend_by_hand_finds_the_earlier_copy_instead_of_posting_again(runtime, yahoo):
    runtime.mall_env = fast_env(timeout=0.3)
    box = add_channel(runtime, "yahoo", yahoo)
    Poller(runtime).poll(box)
    sent = reply(runtime, box, "ありがとうございます。")
    yahoo.add_delay = 1.0
    deliver(runtime)
    yahoo.add_delay = 0
    with runtime.Session() as s:
        outbox.resend(s, s.get(OutboxItem, sent), now=utcnow(), actor_id=None)
        s.commit()

    assert deliver(runtime) == {"sent": 1}
    assert len(yahoo.posted) == 1
    with runtime.Session() as s:
        assert s.scalar(select(Message.source_key).where(Message.id == s.get(OutboxItem, sent).message_row_id)) == "topic-1#m2"


def test_after_a_crash_a_mall_reply_never_posted_is_queued_again_and_posted_once(runtime, rakuten):
    from datetime import timedelta

    from inbox.senders import mall_reply

    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    first, second = reply(runtime, box, "一通目です。"), reply(runtime, box, "二通目です。")
    with runtime.Session() as s:  # one claim for both, then the worker dies while posting the first
        assert outbox.claim_due(s, owner="dying", now=utcnow()) == [first, second]
        s.commit()
        claimed = s.get(OutboxItem, first)
        s.expunge(claimed)
    assert mall_reply.deliver(claimed, runtime).status == OutboxStatus.SENT
    with runtime.Session() as s:
        assert s.get(OutboxItem, second).attempt_started_at is None
        for dead in s.scalars(select(OutboxItem).where(OutboxItem.claimed_by == "dying")):
            dead.claimed_until = utcnow() - timedelta(seconds=1)  # the lease ran out
        counts = outbox.expire_stale(s, now=utcnow())
        s.commit()
    assert counts == {"requeued": 1, "unknown": 1}
    assert item(runtime, first).status == OutboxStatus.UNKNOWN
    assert deliver(runtime) == {"sent": 1}
    assert [p["message"] for p in rakuten.posted] == ["一通目です。", "二通目です。"]

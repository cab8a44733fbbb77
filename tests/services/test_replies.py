"""Replies: composer defaults, threading headers, subject token, charsets, double replies, status after reply."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from inbox.ingest.parse import parse_message
from inbox.models import (
    Direction,
    Event,
    MailboxKind,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    Role,
    Status,
)
from inbox.outgoing.compose import reply_subject, thread_of_message_id
from inbox.services import delivery, outbox, replies
from tests.factories import make_mailbox, make_thread, make_user

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # Friday 10:00 in Tokyo


def customer_thread(session, mailbox, subject="配送について", *, at=T0, **fields):
    thread = make_thread(session, mailbox, subject, customer="yamada@example.jp", at=at)
    msg = session.scalar(select(Message).where(Message.thread_id == thread.id))
    msg.from_name, msg.sent_at, msg.message_id = "山田 太郎", at, "c1@example.jp"
    msg.references = ["root@example.jp"]
    msg.text = msg.new_text = "商品がまだ届きません。\n注文番号は 12345 です。"
    for key, value in fields.items():
        setattr(msg, key, value)
    session.flush()
    return thread, msg


def make_draft(text="ご連絡ありがとうございます。", *, to="yamada@example.jp", opened_at=T0, **kw):
    values = dict(to=to, cc="", bcc="", subject="", text=text, reply_key=kw.pop("key", "k1"))
    values.update(kw)
    return replies.Draft(opened_at=opened_at, **values)


def queue_reply(session, runtime, thread, user, draft=None, *, now=T0 + timedelta(hours=1)):
    return replies.send_reply(
        session, thread, user, draft or make_draft(), now=now,
        settings=runtime.settings, blobs=runtime.blobs,
    )


def item_of(session, message) -> OutboxItem:
    return session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))


def composer(session, runtime, thread, **kw):
    return replies.composer_defaults(
        session, thread, settings=runtime.settings, now=T0, reply_key="k", **kw
    )


def test_composer_answers_reply_to_and_copies_cc_without_our_own_addresses(session, runtime):
    mailbox = make_mailbox(session, address="support@example.test")
    colleague = make_user(session, email="tanaka@example.test")
    thread, _ = customer_thread(
        session, mailbox,
        reply_to=[{"name": "山田 太郎", "address": "taro@home.example.jp"}],
        cc=[{"name": "", "address": "support@example.test"},
            {"name": "", "address": colleague.email},
            {"name": "佐藤", "address": "sato@example.jp"}],
    )
    c = composer(session, runtime, thread)
    assert c.to == "山田 太郎 <taro@home.example.jp>"
    assert c.cc == "佐藤 <sato@example.jp>"
    assert c.subject == f"Re: 配送について [#{thread.id}]"


def test_composer_quotes_the_customer_under_a_japanese_header_in_the_mailbox_zone(session, runtime):
    mailbox = make_mailbox(session, signature="株式会社サンプル サポート窓口")
    thread, _ = customer_thread(session, mailbox)
    c = composer(session, runtime, thread)
    assert c.text == (
        "\n\n株式会社サンプル サポート窓口\n\n"
        "2026年11月20日(金) 10:00 山田 太郎 様:\n"
        "> 商品がまだ届きません。\n"
        "> 注文番号は 12345 です。\n"
    )


def test_composer_of_a_mall_channel_starts_without_a_quote(session, runtime):
    for kind in (MailboxKind.RAKUTEN, MailboxKind.YAHOO):
        mailbox = make_mailbox(session, kind=kind, signature="サンプル商店")
        thread, _ = customer_thread(session, mailbox)
        c = composer(session, runtime, thread)
        assert c.text == "\n\nサンプル商店\n"
        assert c.parent is not None  # still answering the customer's last message


def test_composer_never_addresses_an_auto_reply_or_bounce_sender(session, runtime):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    for kind, sender in [(MessageKind.AUTO_REPLY, "auto@example.jp"),
                         (MessageKind.BOUNCE, "mailer-daemon@example.jp")]:
        session.add(Message(
            thread_id=thread.id, mailbox_id=mailbox.id, direction=Direction.INBOUND, kind=kind,
            from_address=sender, received_at=T0 + timedelta(minutes=5), text="不在です",
        ))
    session.flush()
    c = composer(session, runtime, thread)
    assert c.to == "山田 太郎 <yamada@example.jp>"
    assert c.parent.from_address == "yamada@example.jp"


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("配送について", "Re: 配送について [#42]"),
        ("Re: 配送について [#42]", "Re: 配送について [#42]"),
        ("RE: Re: 返信: 配送について", "Re: 配送について [#42]"),
        ("Ｒｅ：配送について [#42]", "Re: 配送について [#42]"),
        ("配送について [#7]", "Re: 配送について [#7] [#42]"),
    ],
)
def test_reply_subject_has_one_re_and_the_ticket_token_once(subject, expected):
    assert reply_subject(subject, "[#42]", r"\[#(\d+)\]") == expected


def test_sent_subject_keeps_a_typed_token_and_adds_a_missing_one_once(session, runtime):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    user = make_user(session, mailboxes=[mailbox])
    typed = queue_reply(session, runtime, thread, user, make_draft(subject=f"Re: 配送 [#{thread.id}]"))
    bare = queue_reply(session, runtime, thread, user, make_draft(subject="Re: 配送", key="k2", confirm=True))
    for message in (typed, bare):
        raw = item_of(session, message).raw
        assert parse_message(raw).subject == f"Re: 配送 [#{thread.id}]"


def test_a_reply_is_recorded_at_once_and_queued_with_threading_headers(session, runtime):
    mailbox = make_mailbox(session, address="support@shop.example.jp", display_name="サポート")
    thread, _ = customer_thread(session, mailbox)
    user = make_user(session, mailboxes=[mailbox], name="鈴木")
    draft = make_draft(to="山田 太郎 <yamada@example.jp>", cc="sato@example.jp", bcc="boss@shop.example.jp")
    message = queue_reply(session, runtime, thread, user, draft)

    item = item_of(session, message)
    assert item.status == OutboxStatus.QUEUED and item.kind == "reply"
    assert item.recipients == ["yamada@example.jp", "sato@example.jp", "boss@shop.example.jp"]
    assert item.mail_from == "support@shop.example.jp"
    assert message.direction == Direction.OUTBOUND and message.author_id == user.id
    assert message.source_key == f"out:{item.id}"
    mail = email.message_from_bytes(item.raw, policy=email.policy.default)
    mid = mail["Message-ID"].strip("<>")
    assert re.fullmatch(rf"inbox\.{thread.id}\.[0-9a-f]+\.[0-9a-f]{{8}}@shop\.example\.jp", mid)
    assert thread_of_message_id(mid, runtime.settings.secret_key) == thread.id
    assert thread_of_message_id(mid, "another-secret-key-123") is None
    assert message.message_id == mid
    assert mail["In-Reply-To"] == "<c1@example.jp>"
    assert mail["References"] == "<root@example.jp> <c1@example.jp>"
    assert mail["Subject"] == f"Re: 配送について [#{thread.id}]"
    assert mail["To"] == "山田 太郎 <yamada@example.jp>"
    for absent in ("Bcc", "Auto-Submitted", "X-Auto-Response-Suppress"):
        assert mail[absent] is None
    assert runtime.blobs.get(message.raw_sha256) == item.raw
    assert thread.status == Status.NEW  # until the reply is delivered
    kinds = set(session.scalars(select(Event.kind).where(Event.thread_id == thread.id)))
    assert "reply_queued" in kinds and "status_changed" not in kinds


def delivered(session, message, at=T0 + timedelta(hours=2)):
    """Record the reply's item as sent, as the outbox does when the server accepted it."""
    item = item_of(session, message)
    item.status = OutboxStatus.SENDING
    outbox.record(session, item, outbox.DeliveryOutcome(OutboxStatus.SENT), now=at)
    session.flush()
    return item


def test_status_after_reply_follows_the_mailbox_setting_once_delivered(session, runtime):
    mailbox = make_mailbox(session, status_after_reply=Status.RESOLVED)
    thread, _ = customer_thread(session, mailbox)
    message = queue_reply(session, runtime, thread, make_user(session, mailboxes=[mailbox]))
    assert thread.status == Status.NEW
    version = thread.version
    delivered(session, message)
    assert thread.status == Status.RESOLVED
    assert thread.version == version  # pages open on the thread see no false conflict


def test_a_delivered_reply_clears_the_rule_deadline_but_keeps_one_set_by_hand(session, runtime):
    mailbox = make_mailbox(session)
    by_rule, _ = customer_thread(session, mailbox)
    by_rule.due_at = T0 + timedelta(days=1)
    by_hand, _ = customer_thread(session, mailbox, "別件")
    by_hand.due_at, by_hand.due_set_by_hand = T0 + timedelta(days=2), True
    user = make_user(session, mailboxes=[mailbox])
    first = queue_reply(session, runtime, by_rule, user)
    second = queue_reply(session, runtime, by_hand, user, make_draft(key="k2"))
    assert by_rule.due_at == T0 + timedelta(days=1)  # queued is not answered
    delivered(session, first)
    delivered(session, second)
    assert by_rule.due_at is None and by_rule.status == Status.WAITING
    assert by_hand.due_at == T0 + timedelta(days=2)


def test_a_failed_reply_leaves_status_and_deadline_and_counts_for_author_and_assignee(
    session, runtime
):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    thread.due_at = T0 + timedelta(days=1)
    author = make_user(session, mailboxes=[mailbox])
    assignee = make_user(session, mailboxes=[mailbox])
    bystander = make_user(session, mailboxes=[mailbox])
    thread.assignee_id = assignee.id
    message = queue_reply(session, runtime, thread, author)
    assert delivery.send_states(session, [thread.id]) == {thread.id: delivery.SENDING}
    item = item_of(session, message)
    item.status = OutboxStatus.SENDING
    outbox.record(session, item, outbox.DeliveryOutcome(OutboxStatus.FAILED, "The SMTP server"
                  " 127.0.0.1:25 answered 554: 5.7.1 Rejected"), now=T0 + timedelta(hours=2))
    session.flush()
    assert thread.status == Status.NEW and thread.due_at == T0 + timedelta(days=1)
    assert delivery.send_states(session, [thread.id]) == {thread.id: delivery.FAILING}
    assert [delivery.failed_count(session, u) for u in (author, assignee, bystander)] == [1, 1, 0]
    assert delivery.reason(item) == "The mail server refused the message or a recipient."

    replies.send_again(session, item, now=T0 + timedelta(hours=3), actor_id=author.id)
    assert delivery.failed_count(session, author) == 0
    delivered(session, message)
    assert thread.status == Status.WAITING and thread.due_at is None
    assert delivery.send_states(session, [thread.id]) == {}


def test_a_status_set_by_hand_while_the_reply_was_queued_is_kept(session, runtime):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    message = queue_reply(session, runtime, thread, make_user(session, mailboxes=[mailbox]))
    thread.status = Status.RESOLVED
    session.flush()
    delivered(session, message)
    assert thread.status == Status.RESOLVED


def test_the_same_composer_sent_twice_queues_one_reply(session, runtime):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    user = make_user(session, mailboxes=[mailbox])
    first = queue_reply(session, runtime, thread, user)
    second = queue_reply(session, runtime, thread, user)
    assert first.id == second.id
    assert session.query(OutboxItem).filter_by(thread_id=thread.id).count() == 1


def test_a_colleagues_reply_after_the_composer_opened_needs_confirmation(session, runtime):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    alice = make_user(session, mailboxes=[mailbox], name="Alice")
    bob = make_user(session, mailboxes=[mailbox], name="Bob")
    opened = T0 + timedelta(minutes=1)
    queue_reply(session, runtime, thread, alice, make_draft("Aliceの返信", key="a", opened_at=opened),
                now=T0 + timedelta(minutes=2))
    with pytest.raises(replies.ReplyConflict) as caught:
        queue_reply(session, runtime, thread, bob, make_draft("Bobの返信", key="b", opened_at=opened),
                    now=T0 + timedelta(minutes=3))
    assert [m.text for m in caught.value.replies] == ["Aliceの返信"]
    sent = queue_reply(session, runtime, thread, bob,
                       make_draft("Bobの返信", key="b", opened_at=opened, confirm=True),
                       now=T0 + timedelta(minutes=3))
    assert sent.text == "Bobの返信"
    # a composer opened after Alice's reply does not warn
    queue_reply(session, runtime, thread, bob,
                make_draft("追伸", key="c", opened_at=T0 + timedelta(minutes=4)),
                now=T0 + timedelta(minutes=5))


def test_problems_are_reported_before_anything_is_recorded(session, runtime):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    user = make_user(session, mailboxes=[mailbox])
    with pytest.raises(replies.ReplyProblems) as caught:
        queue_reply(session, runtime, thread, user, make_draft("  ", to="", cc="not-an-address"))
    assert [str(p) for p in caught.value.problems] == [
        "Write a message before sending.",
        "Not a valid mail address: %(address)s",
        "Give at least one address in To.",
    ]
    assert caught.value.problems[1].params == {"address": "not-an-address"}
    assert session.query(OutboxItem).filter_by(thread_id=thread.id).count() == 0


JAPANESE = "山田様\n\nいつもご利用ありがとうございます。〜全角スペース　も含みます。\n\n> 引用"


def test_iso_2022_jp_mail_parses_back_to_the_same_subject_and_body(session, runtime):
    mailbox = make_mailbox(session, outbound_charset="iso-2022-jp")
    thread, _ = customer_thread(session, mailbox, subject="返品と交換のお願い")
    user = make_user(session, mailboxes=[mailbox])
    item = item_of(session, queue_reply(session, runtime, thread, user, make_draft(JAPANESE)))
    assert item.raw.isascii()
    assert b'charset="ISO-2022-JP"' in item.raw and b"Content-Transfer-Encoding: 7bit" in item.raw
    assert b"=?iso-2022-jp?b?" in item.raw  # the subject
    parsed = parse_message(item.raw)
    assert parsed.subject == f"Re: 返品と交換のお願い [#{thread.id}]"
    assert parsed.text == JAPANESE
    assert item.payload["charset"] == "iso-2022-jp" and item.payload["charset_note"] is None


def test_characters_outside_jis_x_0208_fall_back_to_utf8_intact_and_say_why(session, runtime):
    mailbox = make_mailbox(session, outbound_charset="iso-2022-jp")
    thread, _ = customer_thread(session, mailbox, subject="①番の髙橋様の件")
    user = make_user(session, mailboxes=[mailbox])
    text = "髙橋様\n①の商品は本日発送しました。"
    item = item_of(session, queue_reply(session, runtime, thread, user, make_draft(text)))
    parsed = parse_message(item.raw)
    assert parsed.subject == f"Re: ①番の髙橋様の件 [#{thread.id}]"
    assert parsed.text == text
    assert item.payload["charset"] == "utf-8"
    assert "①" in item.payload["charset_note"] and "髙" in item.payload["charset_note"]
    event = session.scalar(select(Event).where(Event.kind == "reply_charset_fallback"))
    assert event.thread_id == thread.id and "髙" in event.data["reason"]


def test_attachments_go_out_from_the_blob_store(session, runtime):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    user = make_user(session, mailboxes=[mailbox])
    data = b"%PDF-1.4 invoice"
    staged = replies.StagedAttachment("請求書.pdf", "application/pdf", len(data), runtime.blobs.put(data))
    message = queue_reply(session, runtime, thread, user, make_draft(attachments=[staged]))
    parsed = parse_message(item_of(session, message).raw)
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("請求書.pdf", "application/pdf", data)
    ]
    assert [a.filename for a in message.attachments] == ["請求書.pdf"]


def test_failed_replies_lists_only_the_given_mailboxes(session, runtime):
    mine, other = make_mailbox(session), make_mailbox(session)
    user = make_user(session, Role.LEAD, mailboxes=[mine])
    for box in (mine, other):
        thread, _ = customer_thread(session, box)
        item_of(session, queue_reply(session, runtime, thread, user)).status = OutboxStatus.FAILED
    rows = replies.failed_replies(session, [mine.id])
    assert [r.thread.mailbox_id for r in rows] == [mine.id]


def test_an_untouched_composer_is_refused_and_changes_nothing(session, runtime):
    mailbox = make_mailbox(session, signature="株式会社サンプル\nサポート窓口")
    thread, _ = customer_thread(session, mailbox)
    thread.due_at = T0 + timedelta(days=1)
    user = make_user(session, mailboxes=[mailbox])
    untouched = composer(session, runtime, thread).text
    assert "サポート窓口" in untouched and "> " in untouched
    with pytest.raises(replies.ReplyProblems) as caught:
        queue_reply(session, runtime, thread, user, make_draft(untouched))
    assert [str(p) for p in caught.value.problems] == [
        "Write your reply before sending: the message holds only the signature and the quoted mail."
    ]
    assert session.query(OutboxItem).filter_by(thread_id=thread.id).count() == 0
    assert thread.due_at == T0 + timedelta(days=1)
    message = queue_reply(session, runtime, thread, user, make_draft("承知しました。\n" + untouched))
    assert message.text.startswith("承知しました。")


def test_a_signature_typed_twice_goes_out_once():
    sig = "株式会社サンプル\nサポート窓口"
    text = f"山田様\n\nお待たせしました。\n\n{sig}\n\n{sig}\n\n2026年11月20日 山田 様:\n> 届きません"
    once = replies.single_signature(text, sig)
    assert once.count(sig) == 1 and once.startswith("山田様") and once.endswith("> 届きません")
    assert replies.single_signature("本文\n\n" + sig, sig) == "本文\n\n" + sig


def test_a_failed_reply_edited_and_sent_again_is_replaced_and_never_sent(session, runtime):
    mailbox = make_mailbox(session)
    thread, _ = customer_thread(session, mailbox)
    user = make_user(session, mailboxes=[mailbox])
    first = queue_reply(session, runtime, thread, user)
    old = item_of(session, first)
    old.status, old.last_error = OutboxStatus.REJECTED, "554 refused"
    session.flush()
    draft = replies.edit_draft(session, thread, old.id, now=T0 + timedelta(hours=2), reply_key="k2")
    assert draft.to == "yamada@example.jp" and draft.text == first.text and draft.replaces == old.id
    draft.text = "訂正した返信です。"
    second = queue_reply(session, runtime, thread, user, draft, now=T0 + timedelta(hours=2))
    assert old.status == OutboxStatus.REPLACED and item_of(session, second).status == OutboxStatus.QUEUED
    assert delivery.send_states(session, [thread.id]) == {thread.id: delivery.SENDING}
    assert replies.edit_draft(session, thread, old.id, now=T0, reply_key="k3") is None

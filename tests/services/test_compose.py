"""Forward, new mail and scheduled send (issue #19): through the outbox, with a controlled clock."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

import inbox.senders  # noqa: F401  (the "reply" deliverer)
from inbox.ingest.store import IngestOptions, ingest_message
from inbox.models import Message, MessageKind, OutboxItem, OutboxStatus, Status, Thread
from inbox.services import forwarding, new_mail, outbox, replies, send_later
from inbox.services.deadlines import calendar_for
from inbox.services.errors import InvalidInput, NotFound
from tests.factories import make_mailbox, make_thread, make_user
from tests.ingest.test_store import mail

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # Friday 10:00 in Tokyo


def smtp_box(session, port=2525):
    return make_mailbox(
        session,
        address="support@example.test",
        signature="サンプル商店",
        settings={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "plain"},
    )


def customer_thread(session, runtime, box):
    raw = mail(mid="c1@example.jp", body="商品がまだ届きません。")
    result = ingest_message(
        session,
        runtime.blobs,
        box,
        raw,
        source_key="k1",
        received_at=T0,
        now=T0,
        options=IngestOptions(),
    )
    return result.thread, result.message


def deliver(runtime, at):
    return outbox.deliver_due(runtime.Session, runtime, owner="t", now=lambda: at)


def draft(key="k1", **kw):
    values = dict(
        to="yamada@example.jp",
        cc="",
        bcc="",
        subject="",
        text="ご連絡ありがとうございます。",
        reply_key=key,
        opened_at=T0,
    )
    values.update(kw)
    return replies.Draft(**values)


# --- forward -----------------------------------------------------------------------------------


def test_a_forward_attaches_the_original_and_leaves_status_and_deadline_alone(
    session, runtime, smtp_server
):
    box = smtp_box(session, smtp_server.port)
    thread, original = customer_thread(session, runtime, box)
    agent = make_user(session, mailboxes=[box])
    status, due = thread.status, thread.due_at
    form = forwarding.Forward(
        to="倉庫 <warehouse@example.org>",
        note="在庫をご確認ください。",
        mode="attach",
        message_id=original.id,
        key="f1",
    )
    sent = forwarding.forward(
        session, thread, agent, form, now=T0, settings=runtime.settings, blobs=runtime.blobs
    )
    again = forwarding.forward(
        session, thread, agent, form, now=T0, settings=runtime.settings, blobs=runtime.blobs
    )
    assert again.id == sent.id and sent.kind == MessageKind.FORWARD
    session.flush()
    assert deliver(runtime, T0 + timedelta(minutes=1)) == {"sent": 1}
    [received] = smtp_server.messages
    assert (
        received.rcpt_tos == ["warehouse@example.org"]
        and received.mail_from == "support@example.test"
    )
    msg = received.message()
    assert msg["Subject"] == f"Fwd: 配送について [#{thread.id}]"
    assert msg["In-Reply-To"] == "<c1@example.jp>"
    [part] = list(msg.iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    inner = part.get_content()
    assert inner["Message-ID"] == "<c1@example.jp>" and inner["From"] == "山田 <yamada@example.jp>"
    session.expire_all()
    thread = session.get(Thread, thread.id)
    assert (thread.status, thread.due_at) == (status, due)
    # the forwarded party's answer threads back in
    answer = mail(
        "Re: Fwd: 配送について",
        mid="w1@example.org",
        frm="warehouse@example.org",
        in_reply_to=msg["Message-ID"].strip("<>"),
    )
    result = ingest_message(
        session,
        runtime.blobs,
        box,
        answer,
        source_key="k2",
        received_at=T0,
        now=T0,
        options=IngestOptions(),
    )
    assert result.thread.id == thread.id


def test_a_whole_thread_forwarded_inline_quotes_every_message(session, runtime):
    box = smtp_box(session)
    thread, _ = customer_thread(session, runtime, box)
    agent = make_user(session, mailboxes=[box])
    form = forwarding.Forward(
        to="boss@example.org", note="共有です。", mode="inline", message_id=None, key="f2"
    )
    sent = forwarding.forward(
        session, thread, agent, form, now=T0, settings=runtime.settings, blobs=runtime.blobs
    )
    raw = session.scalar(select(OutboxItem.raw).where(OutboxItem.message_row_id == sent.id))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert not list(msg.iter_attachments())
    assert "> 商品がまだ届きません。" in msg.get_content()


@pytest.mark.parametrize(
    "to",
    [
        "",
        "not an address",
        "a@b@c",
        "x@example.org\r\nBcc: evil@example.org",
        "山田@example.jp",
        "x@\x00example.org",
    ],
)
def test_a_forward_to_a_bad_address_is_refused(session, runtime, to):
    box = smtp_box(session)
    thread, _ = customer_thread(session, runtime, box)
    agent = make_user(session, mailboxes=[box])
    form = forwarding.Forward(to=to, note="", mode="attach", message_id=None, key="f3")
    with pytest.raises(InvalidInput):
        forwarding.forward(
            session, thread, agent, form, now=T0, settings=runtime.settings, blobs=runtime.blobs
        )
    assert session.scalar(select(func.count(OutboxItem.id))) == 0


def test_a_forward_of_a_message_of_another_thread_is_not_found(session, runtime):
    box = smtp_box(session)
    thread, _ = customer_thread(session, runtime, box)
    other = make_thread(session, box, "別件", customer="other@example.jp")
    theirs = session.scalar(select(Message.id).where(Message.thread_id == other.id))
    agent = make_user(session, mailboxes=[box])
    for mid in (theirs, 2**62):
        form = forwarding.Forward(
            to="a@example.org", note="", mode="attach", message_id=mid, key="f4"
        )
        with pytest.raises(NotFound):
            forwarding.forward(
                session, thread, agent, form, now=T0, settings=runtime.settings, blobs=runtime.blobs
            )


# --- new mail ----------------------------------------------------------------------------------


def test_new_mail_starts_one_thread_and_the_customers_answer_threads_into_it(
    session, runtime, smtp_server
):
    box = smtp_box(session, smtp_server.port)
    agent = make_user(session, mailboxes=[box])
    d = draft(
        "n1",
        to="佐藤 <sato@example.jp>",
        subject="ご注文の確認\r\nBcc: evil@example.org",
        text="ご注文ありがとうございます。\n\nサンプル商店",
    )
    first = new_mail.start(
        session, box, agent, d, now=T0, settings=runtime.settings, blobs=runtime.blobs
    )
    second = new_mail.start(
        session,
        box,
        agent,
        draft("n1", to="sato@example.jp", subject="x"),
        now=T0,
        settings=runtime.settings,
        blobs=runtime.blobs,
    )
    assert second.id == first.id
    assert session.scalar(select(func.count(Thread.id))) == 1
    assert session.scalar(select(func.count(OutboxItem.id))) == 1
    thread = session.get(Thread, first.thread_id)
    assert thread.status == Status.OPEN and thread.contact.address == "sato@example.jp"
    assert thread.subject == "ご注文の確認 Bcc: evil@example.org"  # one line: no header injected
    session.flush()
    assert deliver(runtime, T0 + timedelta(minutes=1)) == {"sent": 1}
    [received] = smtp_server.messages
    msg = received.message()
    assert received.rcpt_tos == ["sato@example.jp"] and msg["Bcc"] is None
    assert msg["Subject"] == f"ご注文の確認 Bcc: evil@example.org [#{thread.id}]"
    answer = mail(
        "Re: ご注文の確認",
        mid="s1@example.jp",
        frm="佐藤 <sato@example.jp>",
        in_reply_to=msg["Message-ID"].strip("<>"),
    )
    result = ingest_message(
        session,
        runtime.blobs,
        box,
        answer,
        source_key="k9",
        received_at=T0 + timedelta(hours=1),
        now=T0 + timedelta(hours=1),
        options=IngestOptions(),
    )
    assert result.thread.id == thread.id and result.reason == "references"


@pytest.mark.parametrize("fields", [{"to": "nobody"}, {"subject": "  "}, {"to": ""}])
def test_new_mail_with_bad_input_starts_nothing(session, runtime, fields):
    box = smtp_box(session)
    agent = make_user(session, mailboxes=[box])
    d = draft("n2", **{"subject": "件名", **fields})
    with pytest.raises(InvalidInput):
        new_mail.start(
            session, box, agent, d, now=T0, settings=runtime.settings, blobs=runtime.blobs
        )
    assert session.scalar(select(func.count(Thread.id))) == 0


def test_only_own_mail_mailboxes_with_smtp_can_start_new_mail(session):
    box = smtp_box(session)
    other = make_mailbox(
        session, "other", address="other@example.test", settings={"smtp_host": "127.0.0.1"}
    )
    agent = make_user(session, mailboxes=[box])
    assert [b.id for b in new_mail.sendable_mailboxes(session, agent)] == [box.id]
    with pytest.raises(NotFound):
        new_mail.mailbox_for(session, agent, other.id)


# --- scheduled send ----------------------------------------------------------------------------


def test_a_scheduled_reply_leaves_once_at_its_time_and_not_before(session, runtime, smtp_server):
    box = smtp_box(session, smtp_server.port)
    thread, _ = customer_thread(session, runtime, box)
    agent = make_user(session, mailboxes=[box])
    at = T0 + timedelta(hours=3)
    message = replies.send_reply(
        session,
        thread,
        agent,
        draft(send_at=at),
        now=T0,
        settings=runtime.settings,
        blobs=runtime.blobs,
    )
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
    assert item.scheduled_at == at and send_later.scheduled_items(session, thread) == [item]
    session.flush()
    assert deliver(runtime, at - timedelta(seconds=1)) == {}
    assert smtp_server.messages == []
    assert deliver(runtime, at) == {"sent": 1}
    assert deliver(runtime, at + timedelta(hours=1)) == {}
    [received] = smtp_server.messages
    assert received.message()["Date"] == "Fri, 20 Nov 2026 13:00:00 +0900"
    session.expire_all()
    assert session.get(Thread, thread.id).due_at is None  # delivered: the normal rules apply


def test_a_deadline_before_the_scheduled_time_stays_at_risk(session, runtime):
    box = smtp_box(session)
    thread, _ = customer_thread(session, runtime, box)
    agent = make_user(session, mailboxes=[box])
    later = thread.due_at + timedelta(hours=1)
    message = replies.send_reply(
        session,
        thread,
        agent,
        draft(send_at=later),
        now=T0,
        settings=runtime.settings,
        blobs=runtime.blobs,
    )
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
    assert thread.due_at is not None and send_later.deadline_before(thread, item)


def test_a_cancelled_scheduled_reply_never_leaves(session, runtime, smtp_server):
    box = smtp_box(session, smtp_server.port)
    thread, _ = customer_thread(session, runtime, box)
    agent = make_user(session, mailboxes=[box])
    at = T0 + timedelta(hours=1)
    message = replies.send_reply(
        session,
        thread,
        agent,
        draft(send_at=at),
        now=T0,
        settings=runtime.settings,
        blobs=runtime.blobs,
    )
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
    send_later.cancel(session, thread, item.id, now=T0, actor_id=agent.id)
    assert item.status == OutboxStatus.CANCELLED
    with pytest.raises(InvalidInput):  # twice: nothing left to cancel
        send_later.cancel(session, thread, item.id, now=T0, actor_id=agent.id)
    with pytest.raises(NotFound):
        send_later.cancel(session, thread, 2**62, now=T0, actor_id=agent.id)
    session.flush()
    assert deliver(runtime, at + timedelta(hours=1)) == {}
    assert smtp_server.messages == []
    # a new reply is no double reply of the cancelled one
    replies.send_reply(
        session,
        thread,
        agent,
        draft("k2", opened_at=T0),
        now=T0 + timedelta(minutes=5),
        settings=runtime.settings,
        blobs=runtime.blobs,
    )


def test_an_edited_scheduled_reply_replaces_it_and_only_the_edit_leaves(
    session, runtime, smtp_server
):
    box = smtp_box(session, smtp_server.port)
    thread, _ = customer_thread(session, runtime, box)
    agent = make_user(session, mailboxes=[box])
    at = T0 + timedelta(hours=2)
    first = replies.send_reply(
        session,
        thread,
        agent,
        draft(send_at=at),
        now=T0,
        settings=runtime.settings,
        blobs=runtime.blobs,
    )
    old = session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == first.id))
    edit = replies.edit_draft(
        session, thread, old.id, now=T0 + timedelta(minutes=10), reply_key="k2"
    )
    assert edit.send_at == at and edit.replaces == old.id
    edit.text, edit.send_at = "訂正した返信です。", at + timedelta(hours=1)
    replies.send_reply(
        session,
        thread,
        agent,
        edit,
        now=T0 + timedelta(minutes=10),
        settings=runtime.settings,
        blobs=runtime.blobs,
    )
    assert old.status == OutboxStatus.REPLACED
    session.flush()
    assert deliver(runtime, at) == {}
    assert deliver(runtime, at + timedelta(hours=1)) == {"sent": 1}
    [received] = smtp_server.messages
    assert "訂正した返信です。" in received.message().get_body(("plain",)).get_content()


def test_a_scheduled_time_in_the_past_is_refused(session, runtime):
    box = smtp_box(session)
    thread, _ = customer_thread(session, runtime, box)
    agent = make_user(session, mailboxes=[box])
    with pytest.raises(InvalidInput):
        replies.send_reply(
            session,
            thread,
            agent,
            draft(send_at=T0 - timedelta(minutes=1)),
            now=T0,
            settings=runtime.settings,
            blobs=runtime.blobs,
        )


def test_quick_picks_and_the_date_field(session):
    box = smtp_box(session)
    cal = calendar_for(box)
    friday_evening = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 19:00 Tokyo
    next_morning = send_later.next_business_morning(friday_evening, cal)
    # Monday 23 November is 勤労感謝の日: the next business morning is Tuesday's
    assert next_morning.astimezone(cal.tz).strftime("%a %d %H:%M") == "Tue 24 09:00"
    early = datetime(2026, 11, 19, 22, 0, tzinfo=UTC)  # Friday 07:00 Tokyo: this morning
    assert (
        send_later.next_business_morning(early, cal).astimezone(cal.tz).strftime("%a %H:%M")
        == "Fri 09:00"
    )
    resolve = send_later.resolve
    assert resolve("now", "", now=T0, cal=cal, zone="Asia/Tokyo") is None
    assert resolve("hour", "", now=T0, cal=cal, zone="Asia/Tokyo") == T0 + timedelta(hours=1)
    assert resolve("at", "2026-11-20T15:30", now=T0, cal=cal, zone="Asia/Tokyo") == datetime(
        2026, 11, 20, 6, 30, tzinfo=UTC
    )
    for pick, value in [
        ("at", "2026-11-20T09:00"),
        ("at", ""),
        ("at", "yesterday"),
        ("at", "9999-12-31T23:59"),
        ("soon", ""),
        ("at", "2026-11-20T15:30\x00"),
    ]:
        with pytest.raises(InvalidInput):
            resolve(pick, value, now=T0, cal=cal, zone="Asia/Tokyo")

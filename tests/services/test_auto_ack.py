"""Auto-acknowledgement (自動返信): once per new thread, through the outbox, never to automatic mail, with a loop guard."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inbox.ingest.store import IngestOptions, ingest_message
from inbox.jobs.poll import Poller
from inbox.models import (
    AutoAck,
    Direction,
    Event,
    Mailbox,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    Status,
    Thread,
)
from inbox.services import auto_ack, deadlines, outbox
from tests.factories import make_mailbox
from tests.ingest.test_store import mail

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 12:00 in Tokyo: open
EVENING = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # Tuesday 20:00 in Tokyo: closed
OPEN_TEXT = "{name} 様\nお問い合わせを受け付けました。受付番号: {ticket}\n担当者よりご連絡します。"
CLOSED_TEXT = "営業時間外のため、{next_business_open} 以降にご連絡します。\nWe will reply after {next_business_open_en}. {ticket} {unknown}"


def ack_mailbox(session, address="support@example.test", *, port=2525, path=None, **settings):
    return make_mailbox(session, address=address, settings={
        "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "plain",
        "auto_ack_enabled": True, "auto_ack_open_text": OPEN_TEXT, "auto_ack_closed_text": CLOSED_TEXT,
        "auto_ack_interval_minutes": 60, **({"path": str(path)} if path else {}), **settings,
    })


def ingest(session, runtime, box, raw, key, *, at=NOW):
    return ingest_message(session, runtime.blobs, box, raw, source_key=key, received_at=at, now=at,
                          options=IngestOptions())


def acks(session, thread=None):
    stmt = select(OutboxItem).where(OutboxItem.kind == auto_ack.KIND)
    if thread is not None:
        stmt = stmt.where(OutboxItem.thread_id == thread.id)
    return list(session.scalars(stmt.order_by(OutboxItem.id)))


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_new_thread_gets_one_acknowledgement_with_auto_submitted_and_its_ticket(session, runtime):
    box = ack_mailbox(session)
    thread = ingest(session, runtime, box, mail(mid="c1@example.jp"), "k1").thread

    [item] = acks(session, thread)
    sent = parsed(item.raw)
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["X-Auto-Response-Suppress"] == "All"
    assert sent["To"] == "山田 <yamada@example.jp>" and item.recipients == ["yamada@example.jp"]
    assert sent["In-Reply-To"] == "<c1@example.jp>"
    assert sent["Subject"] == f"Re: 配送について [#{thread.id}]"
    body = sent.get_content()
    assert body.startswith("山田 様\n") and f"受付番号: [#{thread.id}]" in body
    message = session.get(Message, item.message_row_id)
    assert (message.direction, message.kind, message.thread_id) == (Direction.OUTBOUND, MessageKind.AUTO_REPLY, thread.id)
    assert message.message_id == sent["Message-ID"].strip("<>")
    # no answer: the thread is still 未対応 with its deadline
    assert thread.status == Status.NEW and thread.due_at is not None


def test_the_ticket_in_the_acknowledgement_threads_the_customers_answer(session, runtime):
    box = ack_mailbox(session)
    thread = ingest(session, runtime, box, mail(mid="c1@example.jp"), "k1").thread
    [item] = acks(session, thread)
    answer = mail(f"Re: 配送について [#{thread.id}]", mid="c2@example.jp", in_reply_to=parsed(item.raw)["Message-ID"].strip("<>"))
    result = ingest(session, runtime, box, answer, "k2", at=NOW + timedelta(minutes=5))
    assert result.thread.id == thread.id
    assert len(acks(session)) == 1  # a follow-up is not acknowledged


def test_outside_business_hours_the_closed_text_names_the_next_opening(session, runtime):
    box = ack_mailbox(session)
    thread = ingest(session, runtime, box, mail(mid="c1@example.jp"), "k1", at=EVENING).thread
    [item] = acks(session, thread)
    body = parsed(item.raw).get_content()
    assert "11月25日(水) 9:00 以降" in body
    assert "after Wednesday 25 November, 09:00." in body
    assert f"[#{thread.id}] {{unknown}}" in body  # unknown placeholders are left as written
    assert item.payload["business_hours"] is False


def test_the_next_opening_skips_weekends_and_japanese_holidays():
    cal = deadlines.calendar_for(Mailbox(timezone="Asia/Tokyo", calendar={}))
    friday_night = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # Fri 19:00; Mon 23 Nov is 勤労感謝の日
    is_open, opening = auto_ack.business_state(cal, friday_night)
    assert not is_open
    assert auto_ack.format_opening(opening, cal, "ja") == "11月24日(火) 9:00"
    assert auto_ack.business_state(cal, NOW) == (True, NOW)


@pytest.mark.parametrize("extra", [
    "Auto-Submitted: auto-replied",
    "Auto-Submitted: auto-generated",
    "X-Auto-Response-Suppress: All",
    "Precedence: bulk",
    "Precedence: list",
    "Precedence: junk",
    "List-Id: <users.lists.example.jp>",
    "X-Failed-Recipients: someone@example.jp",
    "Return-Path: <>",
])
def test_automatic_list_and_bounce_mail_is_never_acknowledged(session, runtime, extra):
    box = ack_mailbox(session)
    ingest(session, runtime, box, mail(mid="c1@example.jp", extra=extra), "k1")
    assert acks(session) == []


@pytest.mark.parametrize("sender", [
    "noreply@shop.example", "no-reply@shop.example", "No_Reply@shop.example", "donotreply@bank.example",
    "do-not-reply@bank.example", "MAILER-DAEMON@mx.example", "postmaster@mx.example",
    "bounces+123@mail.example", "users-request@lists.example", "noreply-notify@service.example",
])
def test_no_reply_senders_are_never_acknowledged(session, runtime, sender):
    box = ack_mailbox(session)
    thread = ingest(session, runtime, box, mail(mid="c1@example.jp", frm=f"Service <{sender}>"), "k1").thread
    assert acks(session) == []
    if thread.status != Status.AUTOMATIC:  # mailer-daemon mail is a bounce and says nothing
        kinds = session.scalars(select(Event.data).where(Event.thread_id == thread.id, Event.kind == "auto_ack_skipped"))
        assert [d["reason"] for d in kinds] == ["no-reply sender"]


def test_a_no_reply_reply_to_is_not_answered_either(session, runtime):
    box = ack_mailbox(session)
    ingest(session, runtime, box, mail(mid="c1@example.jp", extra="Reply-To: noreply@shop.example"), "k1")
    assert acks(session) == []


def test_the_loop_guard_sends_one_acknowledgement_per_sender_per_interval(session, runtime):
    box = ack_mailbox(session)
    first = ingest(session, runtime, box, mail("一件目", mid="c1@example.jp"), "k1").thread
    second = ingest(session, runtime, box, mail("二件目", mid="c2@example.jp"), "k2", at=NOW + timedelta(minutes=59)).thread
    assert second.id != first.id
    assert [i.thread_id for i in acks(session)] == [first.id]
    skipped = session.scalar(select(Event).where(Event.thread_id == second.id, Event.kind == "auto_ack_skipped"))
    assert skipped.data == {"reason": "loop guard"}
    third = ingest(session, runtime, box, mail("三件目", mid="c3@example.jp"), "k3", at=NOW + timedelta(minutes=61)).thread
    assert [i.thread_id for i in acks(session)] == [first.id, third.id]


def test_the_loop_guard_is_per_mailbox(session, runtime):
    support, sales = ack_mailbox(session), ack_mailbox(session, "sales@example.test")
    ingest(session, runtime, support, mail(mid="c1@example.jp"), "k1")
    ingest(session, runtime, sales, mail(mid="c2@example.jp"), "k2")
    assert len(acks(session)) == 2


def test_an_acknowledgement_is_queued_once_per_thread_however_often_asked(session, runtime):
    box = ack_mailbox(session, auto_ack_enabled=False)
    thread = ingest(session, runtime, box, mail(mid="c1@example.jp"), "k1").thread
    box.change_settings(auto_ack_enabled=True)
    message = thread.messages[0]
    for _ in range(3):
        auto_ack.acknowledge(session, thread, message, created=True, now=NOW + timedelta(hours=2),
                             ticket_token=f"[#{thread.id}]", ticket_pattern=r"\[#(\d+)\]")
    assert len(acks(session, thread)) == 1
    assert session.scalar(select(func.count()).select_from(AutoAck)) == 1


def test_a_mailbox_with_acknowledgements_off_sends_none(session, runtime):
    box = ack_mailbox(session, auto_ack_enabled=False)
    ingest(session, runtime, box, mail(mid="c1@example.jp"), "k1")
    assert acks(session) == []


def test_mail_from_our_own_address_is_not_acknowledged(session, runtime):
    box = ack_mailbox(session)
    ingest(session, runtime, box, mail(mid="c1@example.jp", frm="support@example.test", to="yamada@example.jp"), "k1")
    ingest(session, runtime, box, mail(mid="c2@example.jp", extra="Reply-To: support@example.test"), "k2")
    assert acks(session) == []


def test_a_delivered_acknowledgement_is_no_answer_and_keeps_status_and_deadline(session, runtime, smtp_server):
    box = ack_mailbox(session, port=smtp_server.port)
    thread = ingest(session, runtime, box, mail(mid="c1@example.jp"), "k1").thread
    due = thread.due_at
    session.flush()
    assert outbox.deliver_due(runtime.Session, runtime, owner="t", now=lambda: NOW + timedelta(minutes=1)) == {"sent": 1}
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["yamada@example.jp"]
    assert received.message()["Auto-Submitted"] == "auto-replied"
    session.expire_all()
    thread = session.get(Thread, thread.id)
    assert thread.status == Status.NEW and thread.due_at == due
    assert deadlines.unanswered_since(session, thread) is not None
    # and a later change of tags still counts the deadline from the customer's message
    deadlines.on_classification_changed(session, thread, NOW + timedelta(hours=1))
    assert thread.due_at == due


def test_settings_problems_are_reported_by_field():
    assert auto_ack.settings_problem({"auto_ack_enabled": True, "auto_ack_open_text": "ok {ticket}"}) is None
    assert auto_ack.settings_problem({"auto_ack_enabled": True, "auto_ack_open_text": " "})[1] == "auto_ack_open_text"
    assert auto_ack.settings_problem({"auto_ack_closed_text": "{tikcet}"})[1:] == ("auto_ack_closed_text", {"name": "tikcet"})
    for bad in (0, -5, "abc", 10**9):
        assert auto_ack.settings_problem({"auto_ack_interval_minutes": bad})[1] == "auto_ack_interval_minutes"
    assert auto_ack.settings_problem({"auto_ack_open_text": "x" * 10_001})[1] == "auto_ack_open_text"


# --- end to end: two mailboxes of ours acknowledging each other -------------------------------


def exchange(session, runtime, smtp_server, boxes, folders, *, rounds, strip_headers=False):
    """Poll both mailboxes, deliver the outbox to the SMTP server, and put what it received in the
    folder of the mailbox it was addressed to, ``rounds`` times. What each mailbox sent, by address."""
    sent: dict[str, int] = {}
    at = NOW
    for n in range(rounds):
        for box in boxes:
            result = Poller(runtime, now=lambda at=at: at).poll(box.id)
            assert result.error is None
        outbox.deliver_due(runtime.Session, runtime, owner="t", now=lambda at=at: at)
        for i, received in enumerate(smtp_server.messages):
            content = received.content
            if strip_headers:  # a relay that drops the automatic-mail headers on the way
                content = b"\r\n".join(line for line in content.split(b"\r\n")
                                       if not line.lower().startswith((b"auto-submitted:", b"x-auto-response-suppress:")))
            sender = received.message()["From"].addresses[0].addr_spec
            sent[sender] = sent.get(sender, 0) + 1
            for rcpt in received.rcpt_tos:
                (folders[rcpt] / f"r{n}-{i}.eml").write_bytes(content)
        smtp_server.messages.clear()
        at += timedelta(minutes=2)
    return sent


@pytest.mark.parametrize("strip_headers", [False, True], ids=["with headers", "headers stripped by a relay"])
def test_two_of_our_mailboxes_acknowledging_each_other_stop_after_one_message_each(
    session, runtime, smtp_server, tmp_path, strip_headers
):
    folders = {"a@example.test": tmp_path / "a", "b@example.test": tmp_path / "b"}
    for folder in folders.values():
        folder.mkdir()
    a = ack_mailbox(session, "a@example.test", port=smtp_server.port, path=folders["a@example.test"])
    b = ack_mailbox(session, "b@example.test", port=smtp_server.port, path=folders["b@example.test"])
    # Each address writes to the other once (say a colleague used the other team's address).
    Path(folders["a@example.test"] / "x.eml").write_bytes(
        mail("在庫の確認", mid="x@example.test", frm="b@example.test", to="a@example.test"))
    Path(folders["b@example.test"] / "y.eml").write_bytes(
        mail("請求書の件", mid="y@example.test", frm="a@example.test", to="b@example.test"))

    sent = exchange(session, runtime, smtp_server, [a, b], folders, rounds=5, strip_headers=strip_headers)

    assert sent == {"a@example.test": 1, "b@example.test": 1}
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OutboxItem).where(
        OutboxItem.kind == auto_ack.KIND, OutboxItem.status == OutboxStatus.SENT)) == 2
    # each acknowledgement arrived in the other mailbox, as automatic mail unless its headers were lost
    arrived = session.scalars(select(Thread).join(Message, Message.thread_id == Thread.id)
                              .where(Message.subject.like("Re: %"), Message.direction == Direction.INBOUND)).all()
    assert len(arrived) == 2
    if not strip_headers:
        assert {t.status for t in arrived} == {Status.AUTOMATIC}
    else:
        skipped = session.scalars(select(Event.data).where(Event.kind == "auto_ack_skipped")).all()
        assert [d["reason"] for d in skipped] == ["loop guard", "loop guard"]

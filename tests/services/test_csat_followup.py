"""The satisfaction follow-up mail on a controlled clock: once per resolution after the delay, not
before, not after a reopening, never for mall threads or automatic mail, in the customer's language."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from sqlalchemy import select

from inbox.models import (
    CsatFollowup,
    Direction,
    MailboxKind,
    Message,
    MessageKind,
    OutboxItem,
    Status,
)
from inbox.services import csat, csat_followup
from inbox.services.errors import InvalidInput
from tests.factories import make_mailbox, make_thread
from tests.services.test_kpi_facts import Centre, jst

RESOLVED = jst(2026, 12, 1, 15)  # Tuesday


def followup_centre(session, runtime, **settings):
    centre = Centre(session, runtime)
    csat.configure(
        centre.mailbox,
        enabled=True,
        send="followup",
        base_url="https://support.example.test",
        delay_hours=settings.pop("delay_hours", 24),
        texts=settings.pop("texts", None),
    )
    return centre


def mails(session, thread=None):
    stmt = select(OutboxItem).where(OutboxItem.kind == csat_followup.KIND)
    if thread is not None:
        stmt = stmt.where(OutboxItem.thread_id == thread.id)
    return list(session.scalars(stmt.order_by(OutboxItem.id)))


def scan(centre, at):
    result = csat_followup.scan(centre.session, settings=centre.runtime.settings, now=at)
    centre.session.flush()
    return result


def body(item) -> tuple[str, str]:
    parsed = email.message_from_bytes(item.raw, policy=email.policy.default)
    return parsed["Subject"], parsed.get_body(("plain",)).get_content()


@pytest.fixture
def centre(session, runtime):
    return followup_centre(session, runtime)


def resolved_thread(centre, *, kind=MessageKind.NORMAL, at=RESOLVED):
    thread = centre.customer_writes(at - timedelta(hours=3), kind=kind)
    centre.reply(thread, at - timedelta(hours=2), at - timedelta(hours=2))
    centre.set_status(thread, Status.RESOLVED, at)
    return thread


def test_sent_once_after_the_delay_and_not_before(centre):
    thread = resolved_thread(centre)
    assert scan(centre, RESOLVED + timedelta(hours=23, minutes=59)).queued == 0
    assert mails(centre.session) == []
    assert scan(centre, RESOLVED + timedelta(hours=24)).queued == 1
    assert scan(centre, RESOLVED + timedelta(hours=25)).queued == 0  # once per resolution
    [item] = mails(centre.session, thread)
    assert item.recipients == ["customer@example.test"] and item.mailbox_id == centre.mailbox.id
    subject, text = body(item)
    assert (
        subject == f"ご対応についてのアンケートのお願い [#{thread.id}]"
    )  # the customer wrote Japanese
    assert "https://support.example.test/survey/" in text and "?lang=ja" in text
    parsed = email.message_from_bytes(item.raw, policy=email.policy.default)
    assert parsed["Auto-Submitted"] == "auto-generated"
    token = text.split("/survey/")[1].split("?")[0]
    assert (
        csat.read_token(token, centre.runtime.settings.secret_key, RESOLVED + timedelta(days=1))
        == thread.id
    )
    # shown in the conversation as an automatic message, which changes neither status nor facts
    sent = centre.session.get(Message, item.message_row_id)
    assert (sent.direction, sent.kind) == (Direction.OUTBOUND, MessageKind.AUTO_REPLY)
    assert thread.status == Status.RESOLVED


def test_not_sent_when_reopened_meanwhile_and_sent_again_for_a_new_resolution(centre):
    thread = resolved_thread(centre)
    centre.customer_writes(RESOLVED + timedelta(hours=5), thread)  # reopens the thread
    assert thread.status == Status.OPEN
    assert scan(centre, RESOLVED + timedelta(hours=30)).queued == 0
    again = RESOLVED + timedelta(hours=31)
    centre.set_status(thread, Status.RESOLVED, again)
    assert scan(centre, again + timedelta(hours=23)).queued == 0
    assert scan(centre, again + timedelta(hours=24)).queued == 1
    assert len(mails(centre.session, thread)) == 1


def test_english_customer_gets_english_and_custom_texts(session, runtime):
    centre = followup_centre(
        session,
        runtime,
        delay_hours=2,
        texts={
            "subject_en": "Tell us",
            "text_en": "Dear customer,\n{url}\nThanks",
            "text_ja": "アンケート {url}",
        },
    )
    thread = centre.customer_writes(RESOLVED - timedelta(hours=3))
    first = session.scalar(select(Message).where(Message.thread_id == thread.id))
    first.new_text, first.text = "Where is my teapot?", "Where is my teapot?"
    thread.subject = "Teapot"
    centre.set_status(thread, Status.RESOLVED, RESOLVED)
    assert scan(centre, RESOLVED + timedelta(hours=2)).queued == 1
    subject, text = body(mails(session, thread)[0])
    assert subject == f"Tell us [#{thread.id}]"
    assert (
        text.startswith("Dear customer,\nhttps://support.example.test/survey/")
        and "?lang=en" in text
    )
    assert session.get(CsatFollowup, (thread.id, RESOLVED)).language == "en"


def test_never_for_automatic_mail_or_mall_threads_or_reply_mode(session, runtime, centre):
    auto = resolved_thread(centre, kind=MessageKind.AUTO_REPLY)
    mall = make_mailbox(session, kind=MailboxKind.RAKUTEN, address=None)
    mall.change_settings(
        csat={"enabled": True, "send": "followup", "base_url": "https://x.example"}
    )
    mall_thread = make_thread(
        session, mall, at=RESOLVED - timedelta(hours=3), status=Status.RESOLVED
    )
    reply_box = make_mailbox(session)
    csat.configure(reply_box, enabled=True, send="reply", base_url="https://x.example")
    reply_thread = make_thread(
        session, reply_box, at=RESOLVED - timedelta(hours=3), status=Status.RESOLVED
    )
    result = scan(centre, RESOLVED + timedelta(days=2))
    assert result.queued == 0 and mails(session) == []
    assert session.get(CsatFollowup, (auto.id, RESOLVED)).skipped == "automatic mail"
    assert (
        session.scalar(
            select(CsatFollowup).where(
                CsatFollowup.thread_id.in_([mall_thread.id, reply_thread.id])
            )
        )
        is None
    )


def test_the_scheduler_job_takes_the_lease_and_queues_once(session, runtime, centre):
    thread = resolved_thread(centre)
    session.commit()
    assert csat_followup.run(runtime, owner="a", now=RESOLVED + timedelta(days=1)).queued == 1
    assert (
        csat_followup.run(runtime, owner="b", now=RESOLVED + timedelta(days=1, hours=1)).queued == 0
    )
    session.expire_all()
    assert len(mails(session, thread)) == 1


def test_settings_are_checked(session):
    box = make_mailbox(session)
    with pytest.raises(InvalidInput):
        csat.configure(
            box, enabled=True, send="followup", base_url="https://x.example", delay_hours="-1"
        )
    with pytest.raises(InvalidInput):
        csat.configure(
            box, enabled=True, send="followup", base_url="https://x.example", delay_hours="10**9"
        )
    with pytest.raises(InvalidInput):
        csat.configure(
            box,
            enabled=True,
            send="followup",
            base_url="https://x.example",
            texts={"text_ja": "リンクのない文"},
        )
    with pytest.raises(InvalidInput):
        csat.configure(box, enabled=True, send="sms", base_url="https://x.example")
    csat.configure(
        box,
        enabled=True,
        send="followup",
        base_url="https://x.example",
        delay_hours="48",
        texts={"subject_en": "  How\r\n did we do?\x00 "},
    )
    chosen = csat.settings_of(box)
    assert (chosen.send, chosen.delay_hours, chosen.text("subject_en")) == (
        "followup",
        48,
        "How did we do?",
    )

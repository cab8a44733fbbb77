"""Automatic mail is not work (自動メール), and a bounce of our own reply marks that reply failed on its thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from inbox.ingest.store import IngestOptions, ingest_message
from inbox.models import Event, MessageKind, OutboxStatus, Role, Status, Thread
from inbox.services import delivery, outbox, overview, queue, replies
from inbox.services.queue import QueueFilter
from tests.factories import make_mailbox, make_user
from tests.ingest import bounce_fixtures
from tests.ingest.test_store import mail
from tests.services.test_replies import customer_thread, item_of, queue_reply

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 12:00 in Tokyo
AUTOMATIC = {
    "auto-reply": "Auto-Submitted: auto-replied",
    "out-of-office subject": None,
    "bulk (List-Id)": "List-Id: <news.shop.example>",
    "bulk (Precedence)": "Precedence: bulk",
    "bounce": "X-Failed-Recipients: nobody@example.jp",
}


def ingest(session, runtime, mailbox, raw, key, *, at=NOW):
    return ingest_message(session, runtime.blobs, mailbox, raw, source_key=key, received_at=at,
                          now=at, options=IngestOptions())


def automatic_mail(name, mid="auto1@example.jp"):
    subject = "自動返信: 不在のお知らせ" if name == "out-of-office subject" else "お知らせ"
    return mail(subject, mid=mid, frm="Shop <news@shop.example>", extra=AUTOMATIC[name] or "")


@pytest.fixture
def box(session):
    return make_mailbox(session, address="support@example.test")


@pytest.mark.parametrize("name", sorted(AUTOMATIC))
def test_automatic_mail_opens_an_automatic_thread_without_deadline(session, runtime, box, name):
    result = ingest(session, runtime, box, automatic_mail(name), "k1")

    assert result.message.kind != MessageKind.NORMAL
    assert result.thread.status == Status.AUTOMATIC
    assert result.thread.due_at is None


def test_automatic_threads_are_left_out_of_open_counts_and_have_their_own_view(session, runtime, box):
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    auto = ingest(session, runtime, box, automatic_mail("auto-reply"), "k1").thread
    work = ingest(session, runtime, box, mail("返品したい", mid="c1@example.jp"), "k2").thread
    assert work.status == Status.NEW and work.due_at is not None

    counts = queue.view_counts(session, lead, now=NOW)
    assert counts["default"] == 1 and counts["new"] == 1 and counts["unassigned"] == 1
    assert counts["automatic"] == 1
    default = queue.list_threads(session, lead, QueueFilter(), now=NOW).threads
    assert [t.id for t in default] == [work.id]
    own = queue.list_threads(session, lead, QueueFilter(view="automatic"), now=NOW).threads
    assert [t.id for t in own] == [auto.id]
    everything = queue.list_threads(session, lead, QueueFilter(view="all"), now=NOW).threads
    assert {t.id for t in everything} == {auto.id, work.id}

    view = overview.lead_overview(session, lead, now=NOW)
    [agents] = view.agents
    assert agents.total == 1  # only the customer's thread is waiting for someone
    assert view.mailboxes[0].oldest_waiting.id == work.id


def test_a_mailbox_can_count_automatic_mail_as_work(session, runtime, box):
    box.change_settings(automatic_mail_is_work=True)
    result = ingest(session, runtime, box, automatic_mail("bounce"), "k1")
    assert result.thread.status == Status.NEW
    assert result.thread.due_at is None  # automatic mail still sets no deadline


def test_a_customer_writing_on_an_automatic_thread_makes_it_work_with_a_deadline(session, runtime, box):
    auto = ingest(session, runtime, box, automatic_mail("auto-reply"), "k1").thread
    follow = mail("Re: お知らせ", mid="c2@example.jp", frm="Shop <news@shop.example>",
                  in_reply_to="auto1@example.jp")
    result = ingest(session, runtime, box, follow, "k2", at=NOW + timedelta(hours=1))

    assert result.thread.id == auto.id
    assert auto.status == Status.NEW and auto.due_at is not None
    changed = session.scalars(select(Event).where(Event.thread_id == auto.id, Event.kind == "status_changed")).all()
    assert [(e.data["from"], e.data["to"]) for e in changed] == [("automatic", "new")]


def test_an_automatic_reply_on_an_open_thread_changes_nothing(session, runtime, box):
    work = ingest(session, runtime, box, mail(mid="c1@example.jp"), "k1").thread
    due = work.due_at
    ooo = mail("自動応答: Re: 配送について", mid="ooo@example.jp", in_reply_to="c1@example.jp",
               extra="Auto-Submitted: auto-replied")
    ingest(session, runtime, box, ooo, "k2", at=NOW + timedelta(hours=1))
    assert work.status == Status.NEW and work.due_at == due


# --- bounces of our own replies ----------------------------------------------------------------


def sent_reply(session, runtime, box, *, at=NOW):
    """A customer thread with a reply that went out (the thread is 保留 with no deadline)."""
    thread, _ = customer_thread(session, box, at=at - timedelta(hours=2))
    thread.due_at = at + timedelta(hours=3)
    user = make_user(session, mailboxes=[box])
    message = queue_reply(session, runtime, thread, user, now=at - timedelta(hours=1))
    session.flush()
    item = item_of(session, message)
    outbox.record(session, item, outbox.DeliveryOutcome(OutboxStatus.SENT), now=at - timedelta(minutes=50))
    session.flush()
    assert thread.status == Status.WAITING and thread.due_at is None
    return thread, message, item


def threads(session):
    return session.scalar(select(func.count()).select_from(Thread))


@pytest.mark.parametrize("name", sorted(bounce_fixtures.FORMATS))
def test_a_bounce_of_our_reply_marks_it_failed_on_its_thread_instead_of_a_new_thread(session, runtime, box, name):
    thread, reply, item = sent_reply(session, runtime, box)
    before = threads(session)
    raw = bounce_fixtures.FORMATS[name](reply.message_id, "yamada@example.jp")

    result = ingest(session, runtime, box, raw, "bounce1")

    assert threads(session) == before
    assert result.thread.id == thread.id and result.message.kind == MessageKind.BOUNCE
    session.refresh(item)
    assert item.status == OutboxStatus.FAILED
    assert "bounce" in item.last_error
    assert delivery.send_states(session, [thread.id]) == {thread.id: delivery.FAILING}
    assert [r.item.id for r in replies.failed_replies(session, [box.id])] == [item.id]
    assert delivery.reason(item).startswith("The receiving side returned this message as undeliverable")
    bounced = session.scalars(select(Event).where(Event.thread_id == thread.id, Event.kind == "send_bounced")).all()
    assert len(bounced) == 1 and bounced[0].data["recipients"] == ["yamada@example.jp"]
    # the customer was not answered: the thread is work again, with its deadline running
    assert thread.status == Status.OPEN
    assert thread.due_at is not None


def test_a_carrier_bounce_without_message_ids_is_matched_by_the_failed_recipient(session, runtime, box):
    thread, _reply, item = sent_reply(session, runtime, box)
    result = ingest(session, runtime, box, bounce_fixtures.au_jp_no_ids("yamada@example.jp"), "b1")
    assert result.thread.id == thread.id
    session.refresh(item)
    assert item.status == OutboxStatus.FAILED


def test_a_bounce_that_returns_none_of_our_mail_opens_an_automatic_thread(session, runtime, box):
    _thread, _reply, item = sent_reply(session, runtime, box)
    before = threads(session)
    raw = bounce_fixtures.rfc3464_postfix("someone-else@example.org", "stranger@example.org")
    result = ingest(session, runtime, box, raw, "b1")
    assert threads(session) == before + 1
    assert result.thread.status == Status.AUTOMATIC
    session.refresh(item)
    assert item.status == OutboxStatus.SENT


def test_a_bounce_fetched_twice_is_recorded_once(session, runtime, box):
    thread, reply, _item = sent_reply(session, runtime, box)
    raw = bounce_fixtures.qmail(reply.message_id, "yamada@example.jp")
    ingest(session, runtime, box, raw, "b1")
    again = ingest(session, runtime, box, raw, "b1-refetched-under-another-uid")
    assert not again.created
    events = session.scalars(select(Event).where(Event.thread_id == thread.id, Event.kind == "send_bounced"))
    assert len(events.all()) == 1


def test_a_bounce_of_another_mailboxs_reply_is_not_matched(session, runtime, box):
    _thread, reply, item = sent_reply(session, runtime, box)
    other = make_mailbox(session, address="sales@example.test")
    result = ingest(session, runtime, other, bounce_fixtures.qmail(reply.message_id, "yamada@example.jp"), "b1")
    assert result.thread.mailbox_id == other.id and result.thread.status == Status.AUTOMATIC
    session.refresh(item)
    assert item.status == OutboxStatus.SENT

"""Storing mail: dedupe by source identity and Message-ID, threading, reopening, poison messages."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from inbox.ingest.notices import english
from inbox.ingest.store import IngestOptions, ingest_message, raw_source, subject_match
from inbox.models import Direction, Message, MessageKind, Status, Thread
from inbox.storage import BlobStore
from tests.factories import make_mailbox

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def mail(
    subject="配送について",
    *,
    mid="a1@example.com",
    frm="山田 <yamada@example.jp>",
    to="support@example.test",
    in_reply_to=None,
    extra="",
    body="商品がまだ届きません。",
):
    headers = [
        f"From: {frm}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: <{mid}>",
        "Date: Mon, 23 Nov 2026 10:00:00 +0900",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    if in_reply_to:
        headers += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    if extra:
        headers.append(extra)
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


@pytest.fixture
def blobs(tmp_path):
    return BlobStore(tmp_path / "blobs")


@pytest.fixture
def mailbox(session):
    return make_mailbox(session, "support", address="support@example.test")


def ingest(session, blobs, mailbox, raw, key, **kw):
    return ingest_message(
        session, blobs, mailbox, raw, source_key=key, received_at=kw.pop("at", NOW), now=NOW, **kw
    )


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_first_mail_makes_a_new_thread_with_a_deadline(session, blobs, mailbox):
    result = ingest(session, blobs, mailbox, mail(), "INBOX:1:1")
    assert result.created
    thread = result.thread
    assert thread.subject == "配送について"
    assert thread.status == Status.NEW
    assert thread.contact.address == "yamada@example.jp"
    assert thread.due_at is not None and thread.due_at > NOW
    assert raw_source(session, result.message.raw_sha256) == mail()


def test_the_history_of_a_new_thread_holds_its_deadline(session, blobs, mailbox):
    """Hooks run before the new thread has an id: their events must still belong to it."""
    from inbox.models import Event

    thread = ingest(session, blobs, mailbox, mail(), "INBOX:1:1").thread
    session.flush()
    kinds = [e.kind for e in session.query(Event).filter_by(thread_id=thread.id)]
    assert "thread_created" in kinds and "deadline_set" in kinds
    assert session.query(Event).filter(Event.thread_id.is_(None)).count() == 0


def test_same_source_identity_is_stored_once(session, blobs, mailbox):
    assert ingest(session, blobs, mailbox, mail(), "INBOX:1:1").created
    again = ingest(session, blobs, mailbox, mail(), "INBOX:1:1")
    assert not again.created and again.reason == "same source identity"
    assert count(session, Message) == 1


def test_same_message_id_under_a_new_uidvalidity_is_stored_once(session, blobs, mailbox):
    ingest(session, blobs, mailbox, mail(), "INBOX:1:1")
    again = ingest(session, blobs, mailbox, mail(), "INBOX:2:1")
    assert not again.created and again.reason == "same Message-ID"


def test_two_different_mails_with_a_message_id_cut_short_are_both_stored(session, blobs, mailbox):
    """"<f" is what is left of two unrelated Message-IDs cut off mid-header: not one mail."""
    first = mail(mid="f", subject="Bestellung").replace(b"<f>", b"<f")
    second = mail(mid="f", subject="別の問い合わせ", body="違う本文").replace(b"<f>", b"<f")
    assert ingest(session, blobs, mailbox, first, "INBOX:1:1").created
    assert ingest(session, blobs, mailbox, second, "INBOX:1:2").created
    assert ingest(session, blobs, mailbox, second, "INBOX:2:2").reason == "same Message-ID"  # a re-fetch still is one
    assert count(session, Message) == 2


def test_reply_joins_the_thread_by_references(session, blobs, mailbox):
    first = ingest(session, blobs, mailbox, mail(), "k1").thread
    reply = ingest(
        session,
        blobs,
        mailbox,
        mail("全く別の件名", mid="a2@example.com", in_reply_to="a1@example.com"),
        "k2",
    )
    assert reply.thread.id == first.id and reply.reason == "references"


def test_ticket_token_in_the_subject_joins_the_thread(session, blobs, mailbox):
    first = ingest(session, blobs, mailbox, mail(), "k1").thread
    later = ingest(
        session,
        blobs,
        mailbox,
        mail(f"Re: [#{first.id}] 追加の質問", mid="x9@example.com", frm="other@example.com"),
        "k2",
    )
    assert later.thread.id == first.id and later.reason == "ticket token"


def test_same_customer_and_subject_with_reply_prefix_joins_the_thread(session, blobs, mailbox):
    first = ingest(session, blobs, mailbox, mail(), "k1").thread
    later = ingest(
        session,
        blobs,
        mailbox,
        mail("RE：Re: 配送について", mid="a3@example.com"),
        "k2",
        at=NOW + timedelta(days=1),
    )
    assert later.thread.id == first.id and later.reason == "customer and subject"


def test_customer_reply_reopens_a_resolved_thread(session, blobs, mailbox):
    thread = ingest(session, blobs, mailbox, mail(), "k1").thread
    thread.status = Status.RESOLVED
    ingest(
        session,
        blobs,
        mailbox,
        mail("Re: 配送について", mid="a4@example.com", in_reply_to="a1@example.com"),
        "k2",
    )
    assert thread.status == Status.OPEN


def test_auto_reply_never_reopens_a_thread(session, blobs, mailbox):
    thread = ingest(session, blobs, mailbox, mail(), "k1").thread
    thread.status = Status.RESOLVED
    auto = ingest(
        session,
        blobs,
        mailbox,
        mail(
            "自動応答: 配送について",
            mid="a5@example.com",
            in_reply_to="a1@example.com",
            extra="Auto-Submitted: auto-replied",
        ),
        "k2",
    )
    assert auto.message.kind == MessageKind.AUTO_REPLY
    assert thread.status == Status.RESOLVED


def test_mail_from_the_team_is_outbound(session, blobs, mailbox):
    first = ingest(session, blobs, mailbox, mail(), "k1").thread
    ours = ingest(
        session,
        blobs,
        mailbox,
        mail(
            "Re: 配送について",
            mid="o1@example.test",
            frm="support@example.test",
            to="yamada@example.jp",
            in_reply_to="a1@example.com",
        ),
        "Sent:1:1",
    )
    assert ours.message.direction == Direction.OUTBOUND and ours.thread.id == first.id


def test_garbage_is_stored_raw_flagged_and_still_makes_a_thread(session, blobs, mailbox):
    junk = bytes(range(256)) * 4
    result = ingest(session, blobs, mailbox, junk, "k1")
    assert result.created and result.thread is not None
    assert result.message.parse_warnings
    assert raw_source(session, result.message.raw_sha256) == junk


def test_oversized_mail_is_stored_raw_without_reading(session, blobs, mailbox):
    big = mail(body="x" * 5000)
    result = ingest(
        session, blobs, mailbox, big, "k1", options=IngestOptions(max_message_bytes=1024)
    )
    assert result.created and "over the limit" in english(result.message.parse_warnings[0])
    assert count(session, Thread) == 1


def test_matching_by_customer_and_subject_is_one_probe_of_its_index(session, mailbox):
    """Not a walk over every thread of the window (imports slowed fourfold at 100,000)."""
    stmt = subject_match(mailbox.id, 1, "配送について", NOW - timedelta(days=14))
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    if session.get_bind().dialect.name == "sqlite":
        plan = [row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
        assert plan == [
            "SEARCH threads USING INDEX ix_threads_match_subject "
            "(mailbox_id=? AND contact_id=? AND normalized_subject=? AND last_activity_at>?)"
        ], plan
    else:
        # Tiny test tables make every plan cheap: with scans and sorts priced out, what is left
        # shows whether the index serves the query alone (a plan needing a sort still shows one).
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_sort = off"))
        plan = session.execute(text(f"EXPLAIN {sql}")).scalars().all()
        assert "ix_threads_match_subject" in plan[1] or "ix_threads_match_subject" in plan[0], plan
        assert not any("Sort" in line for line in plan), plan

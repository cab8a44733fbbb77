"""Voice of the customer: terms of Japanese and English mail, counted once per message, read back."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from inbox.db import make_engine, make_sessionmaker
from inbox.models import (
    Direction,
    Message,
    MessageKind,
    MessageTerm,
    TermAnalysed,
    TermCount,
    ThreadTag,
)
from inbox.services import voc, voc_terms
from tests.factories import make_mailbox, make_thread

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo

JA_MAIL = (
    "株式会社サンプル商店 御中\n\nお世話になっております。山田と申します。\n"
    "先日注文した湯呑みの配送遅延について問い合わせいたします。\n"
    "届かない場合は返品交換をお願いできますでしょうか。\nよろしくお願いいたします。"
)
EN_MAIL = (
    "Hello,\n\nThank you for the invoice. Two of the six cartons were crushed: we want a refund "
    "for the damaged cartons.\nCould you also confirm your payment terms?\n\nBest regards,\nAnna"
)


def test_japanese_mail_gives_compound_nouns_without_greetings_names_or_stop_words():
    found = voc_terms.terms(JA_MAIL)
    assert {"配送遅延", "返品交換", "湯呑み", "注文"} <= found
    for stop in ("お世話", "世話", "問い合わせ", "件", "御中", "山田", "株式会社", "お願い"):
        assert stop not in found
    assert not any(t.isdigit() for t in found)


def test_english_mail_gives_words_and_pairs_without_stop_words():
    found = voc_terms.terms(EN_MAIL)
    assert {"refund", "damaged cartons", "payment terms", "invoice"} <= found
    for stop in ("hello", "thank", "the", "regards", "could", "best"):
        assert stop not in found


def test_hostile_text_gives_no_error_and_bounded_terms():
    text = "配送" * 50000 + "\x00\ud800" + "a" * 100000 + " https://evil.example/配送遅延 x@y.z"
    found = voc_terms.terms(text)
    assert all(len(t) <= voc_terms.MAX_TERM for t in found)
    assert voc_terms.terms("") == set()


def _inbound(session, thread, text, at=NOW, **kw):
    message = Message(
        thread_id=thread.id,
        mailbox_id=thread.mailbox_id,
        direction=kw.pop("direction", Direction.INBOUND),
        subject="s",
        from_address="c@example.test",
        received_at=at,
        text=kw.pop("full", text),
        new_text=text,
        created_at=at,
        **kw,
    )
    session.add(message)
    session.flush()
    return message


def _count(session, term):
    return sum(session.scalars(select(TermCount.count).where(TermCount.term == term)))


def test_only_the_new_text_of_customer_messages_is_counted_once_per_message(session):
    mailbox = make_mailbox(session)
    thread = make_thread(session, mailbox, body="配送遅延です。配送遅延が心配です。", at=NOW)
    _inbound(
        session,
        thread,
        "返品交換をお願いします。",
        full="返品交換をお願いします。\n> 配送遅延です。配送遅延が心配です。",
    )
    _inbound(session, thread, "配送遅延のお詫び", direction=Direction.OUTBOUND)
    _inbound(session, thread, "配送遅延の自動返信", kind=MessageKind.AUTO_REPLY)

    assert voc.analyse_batch(session, now=NOW) == 2
    assert _count(session, "配送遅延") == 1  # once per message, quoted copy not counted
    assert _count(session, "返品交換") == 1
    day = session.scalar(select(TermCount.day).where(TermCount.term == "配送遅延"))
    assert day == date(2026, 11, 20)


def test_running_the_job_again_counts_nothing_twice(session):
    mailbox = make_mailbox(session)
    for _ in range(5):
        make_thread(session, mailbox, body="配送遅延について", at=NOW)
    assert voc.analyse_batch(session, now=NOW, limit=2) == 2
    assert voc.analyse_batch(session, now=NOW, limit=2) == 2
    assert voc.analyse_batch(session, now=NOW + timedelta(hours=1), limit=2) == 1
    assert voc.analyse_batch(session, now=NOW + timedelta(hours=2)) == 0
    assert _count(session, "配送遅延") == 5
    assert session.scalar(select(TermAnalysed.message_id).limit(1)) is not None


def test_a_message_committed_late_below_the_cursor_is_still_counted(session):
    mailbox = make_mailbox(session)
    early = make_thread(session, mailbox, body="返品交換", at=NOW)
    late = make_thread(session, mailbox, body="配送遅延", at=NOW)
    # The later id is analysed while the earlier one is "not committed yet" (hidden here).
    hidden = session.get(
        Message, session.scalar(select(Message.id).where(Message.thread_id == early.id))
    )
    hidden.direction = Direction.NOTE
    session.flush()
    voc.analyse_batch(session, now=NOW)
    hidden.direction = Direction.INBOUND
    session.flush()
    assert voc.analyse_batch(session, now=NOW + timedelta(minutes=5)) == 1
    assert _count(session, "返品交換") == 1 and _count(session, "配送遅延") == 1
    assert late.id > early.id


def test_two_workers_on_the_same_messages_count_them_once(fresh_databases):
    url = fresh_databases.migrated_url()
    engine = make_engine(url)
    Session = make_sessionmaker(engine)
    with Session() as s:
        mailbox = make_mailbox(s)
        for _ in range(3):
            make_thread(s, mailbox, body="配送遅延と返品交換", at=NOW)
        s.commit()
    first_flushed, release_first = threading.Event(), threading.Event()
    outcome = {}

    def first():
        with Session() as s:
            outcome["first"] = voc.analyse_batch(s, now=NOW)
            first_flushed.set()
            release_first.wait(10)
            s.commit()

    def second():
        with Session() as s:
            try:
                outcome["second"] = voc.analyse_batch(s, now=NOW)
                s.commit()
            except IntegrityError:
                s.rollback()
                outcome["second"] = "refused"

    a = threading.Thread(target=first)
    a.start()
    assert first_flushed.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.5)  # the second worker is now waiting on the first one's lock
    release_first.set()
    a.join(10)
    b.join(10)
    try:
        assert outcome["first"] == 3
        assert outcome["second"] in (0, "refused")
        with Session() as s:
            assert _count(s, "配送遅延") == 3
            assert (
                len(s.scalars(select(MessageTerm).where(MessageTerm.term == "返品交換")).all()) == 3
            )
    finally:
        engine.dispose()


def test_the_scheduler_job_skips_while_another_holds_the_lease(runtime, session):
    mailbox = make_mailbox(session)
    make_thread(session, mailbox, body="配送遅延", at=NOW)
    session.commit()
    from inbox.services import claims

    assert claims.try_claim(session, voc.LEASE, "other", now=NOW, ttl=timedelta(minutes=5))
    session.commit()
    assert voc.run(runtime, owner="me", now=NOW) == 0
    assert voc.run(runtime, owner="me", now=NOW + timedelta(minutes=6)) == 1
    assert voc.run(runtime, owner="me", now=NOW + timedelta(minutes=7)) == 0


def test_top_and_rising_terms_and_drill_down(session):
    mailbox = make_mailbox(session)
    other = make_mailbox(session)
    before = NOW - timedelta(days=7)
    for _ in range(3):
        make_thread(session, mailbox, body="ポイント付与", at=before)
    t1 = make_thread(session, mailbox, body="配送遅延", at=NOW, created_at=NOW)
    t2 = make_thread(session, mailbox, body="配送遅延とポイント付与", at=NOW)
    make_thread(session, other, body="配送遅延", at=NOW)
    session.add(ThreadTag(thread_id=t1.id, tag="配送"))
    session.flush()
    voc.analyse_batch(session, now=NOW)
    period = voc.Period(date(2026, 11, 14), date(2026, 11, 20))
    top, rising = voc.top_terms(session, [mailbox.id], period)
    assert (top[0].term, top[0].count, top[0].previous) == ("配送遅延", 2, 0)
    assert [r.term for r in rising] == ["配送遅延"]  # ポイント付与 fell from 3 to 1
    threads = voc.threads_with_term(session, [mailbox.id], "配送遅延", period)
    assert {t.id for t in threads} == {t1.id, t2.id}
    assert voc.threads_with_term(session, [], "配送遅延", period) == []
    from zoneinfo import ZoneInfo

    tags = voc.top_tags(session, [mailbox.id], period, ZoneInfo("Asia/Tokyo"))
    assert [(r.term, r.count) for r in tags] == [("配送", 1)]


@pytest.mark.parametrize("days", [1, 7, 30])
def test_previous_period_has_the_same_length(days):
    p = voc.Period(date(2026, 11, 1), date(2026, 11, 1) + timedelta(days=days - 1))
    assert p.previous().days == days and p.previous().end == date(2026, 10, 31)


def test_top_categories_and_tags_with_their_trend_and_threads(session):
    from zoneinfo import ZoneInfo

    from inbox.models import Category

    tokyo = ZoneInfo("Asia/Tokyo")
    mailbox, other = make_mailbox(session), make_mailbox(session)
    shipping = Category(name="配送")
    session.add(shipping)
    session.flush()
    late = Category(name="遅延", parent_id=shipping.id)
    points = Category(name="ポイント")
    session.add_all([late, points])
    session.flush()
    before, now = NOW - timedelta(days=7), NOW

    def thread(at, category, tag=None, box=mailbox):
        t = make_thread(
            session, box, at=at, created_at=at, category_id=category.id if category else None
        )
        if tag:
            session.add(ThreadTag(thread_id=t.id, tag=tag))
        return t

    thread(before, points, "ポイント")
    thread(before, points, "ポイント")
    thread(before, late)
    rising = [thread(now, late, "配送"), thread(now, late, "配送"), thread(now, late)]
    thread(now, points)
    thread(now, late, "配送", box=other)  # another mailbox
    thread(now, None, "配送")  # no category
    session.flush()
    period = voc.Period(date(2026, 11, 14), date(2026, 11, 20))
    rows = voc.top_categories(session, [mailbox.id], period, tokyo)
    assert [(r.label, r.count, r.previous, r.change) for r in rows] == [
        ("配送 › 遅延", 3, 1, 2),
        ("ポイント", 1, 2, -1),
    ]
    tags = voc.top_tags(session, [mailbox.id], period, tokyo)
    assert [(r.term, r.count, r.previous) for r in tags] == [("配送", 3, 0)]
    behind = voc.threads_arrived(session, [mailbox.id], period, tokyo, category_id=late.id)
    assert {t.id for t in behind} == {t.id for t in rising}
    assert len(voc.threads_arrived(session, [mailbox.id], period, tokyo, tag="配送")) == 3
    assert voc.threads_arrived(session, [mailbox.id], period, tokyo) == []
    assert voc.top_categories(session, [], period, tokyo) == []

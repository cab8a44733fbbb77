"""Search forgives how a word was typed: width, case, kana and spaces are folded on both sides,
sender names are searched, matches are highlighted, and filters narrow the result."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.db import utcnow
from inbox.models import Message, Status
from inbox.search_fold import fold, search_text
from inbox.services.search import SearchFilters, search
from tests.factories import make_mailbox, make_thread, make_user


@pytest.fixture
def box(session):
    return make_mailbox(session)


@pytest.fixture
def agent(session, box):
    return make_user(session, mailboxes=[box])


def found(session, user, query, **filters):
    return sorted(h.thread.id for h in search(session, user, query, filters=SearchFilters(**filters)).hits)


def named(session, thread, name: str) -> None:
    message = session.query(Message).filter_by(thread_id=thread.id).one()
    message.from_name = name
    session.flush()


def test_folding_makes_width_case_kana_and_spaces_one_form():
    assert fold("ｻｲｽﾞ") == fold("さいず") == fold("サイズ") == "サイズ"
    assert fold("ＳＳ－２０２６１１０５") == fold("ss-20261105")
    assert fold("佐々木\u3000花子") == fold("佐々木 花子") == "佐々木花子"
    assert "\x1f" not in fold("a\x1fb") and search_text("a", "b", "c", "d").count("\x1f") == 3


@pytest.mark.parametrize("query", ["サイズ", "ｻｲｽﾞ", "さいず", "ｻｲｽﾞ交換"])
def test_half_width_and_hiragana_find_katakana_text(session, box, agent, query):
    thread = make_thread(session, box, "交換希望", body="サイズ交換をお願いします")
    make_thread(session, box, "別件", body="色の交換です")
    assert found(session, agent, query) == [thread.id]


@pytest.mark.parametrize("query", ["ＳＳ－２０２６１１０５", "SS-20261105", "ss-20261105"])
def test_full_width_order_numbers_find_half_width_ones_and_back(session, box, agent, query):
    half = make_thread(session, box, "注文", body="注文番号 SS-20261105 の件")
    full = make_thread(session, box, "注文", body="注文番号 ＳＳ－２０２６１１０５ の件")
    assert found(session, agent, query) == sorted([half.id, full.id])


@pytest.mark.parametrize("query", ["鈴木 一郎", "鈴木一郎", "すずき", "スズキ イチロウ"])
def test_a_customers_name_is_searched_with_or_without_the_space(session, box, agent, query):
    thread = make_thread(session, box, "お問い合わせ", body="よろしくお願いします")
    named(session, thread, "鈴木 一郎" if "鈴木" in query else "スズキ イチロウ")
    make_thread(session, box, "別件", body="よろしくお願いします")
    assert found(session, agent, query) == [thread.id]


def test_a_name_typed_without_its_space_is_found(session, box, agent):
    thread = make_thread(session, box, "件名", body="本文です")
    named(session, thread, "佐々木 花子")
    assert found(session, agent, "佐々木花子") == [thread.id]


def test_no_match_spans_two_fields(session, box, agent):
    make_thread(session, box, "件名ああ", body="いい本文")  # subject ends, body begins
    assert found(session, agent, "ああいい") == []


def test_matches_are_highlighted_in_the_original_characters(session, box, agent):
    make_thread(session, box, "件名", body="ご注文の ｻｲｽﾞ を交換したいです")
    [hit] = search(session, agent, "さいず").hits
    assert ("ｻｲｽﾞ", True) in hit.marks
    [hit] = search(session, agent, "ずを").hits  # begins on a kana with its sound mark
    assert ("ｽﾞ を", True) in hit.marks
    assert "".join(part for part, _ in hit.marks) == hit.snippet


@pytest.mark.parametrize("query", ["%", "_", "\\", "％", "＿", "a%b", "\x1f", "\x00"])
def test_wildcards_and_controls_in_a_query_match_only_themselves(session, box, agent, query):
    make_thread(session, box, "件名", body="なにもない本文")
    percent = make_thread(session, box, "件名", body="割引 50% と a%b")
    result = search(session, agent, query)
    assert not result.timed_out
    expected = [percent.id] if fold(query) and fold(query) in fold("割引 50% と a%b") else []
    assert sorted(h.thread.id for h in result.hits) == expected


def test_filters_narrow_by_mailbox_status_assignee_and_period(session, box):
    other_box = make_mailbox(session, "sales")
    agent = make_user(session, mailboxes=[box, other_box])
    now = utcnow()
    new = make_thread(session, box, "返品", at=now - timedelta(days=1))
    resolved = make_thread(session, box, "返品", status=Status.RESOLVED, at=now - timedelta(days=40))
    mine = make_thread(session, box, "返品", assignee_id=agent.id, at=now - timedelta(days=2))
    elsewhere = make_thread(session, other_box, "返品", at=now - timedelta(days=3))
    session.flush()
    assert found(session, agent, "返品") == sorted([new.id, resolved.id, mine.id, elsewhere.id])
    assert found(session, agent, "返品", mailbox_id=other_box.id) == [elsewhere.id]
    assert found(session, agent, "返品", status=Status.RESOLVED) == [resolved.id]
    assert found(session, agent, "返品", assignee_id=agent.id) == [mine.id]
    assert found(session, agent, "返品", assignee_id=0) == sorted([new.id, resolved.id, elsewhere.id])
    assert found(session, agent, "返品", since=now - timedelta(days=30)) == sorted([new.id, mine.id, elsewhere.id])
    assert found(session, agent, "返品", until=now - timedelta(days=30)) == [resolved.id]
    ticket = search(session, agent, f"{resolved.id}", filters=SearchFilters(status=Status.NEW))
    assert ticket.ticket is None


SAMPLES = [
    "ｻｲｽﾞ ガギグ ﾊﾟﾋﾟﾌﾟ", "さいず　ぱぴぷ", "ＳＳ－２０２６１１０５", "Straße ÉCOLE Ωmega", "①②③ ㈱ ㌔",
    "tab\tline\nfeed\r\x0bx\x0cy\x1cz\x1f", "\x85next\u2028line\u2029para\u1680ogham", "ASCII only Text 123",
    "ゔゕゖ ヴヵヶ", "", "鈴木 一郎", "A" * 1_000_010, "あ" * 10 + " " + "い" * 1_000_000,
]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: repr(s[:12]))
def test_the_database_folds_exactly_as_python_does(session, sample):
    """The index (the database's function) and the query (Python's on SQLite) must agree."""
    from sqlalchemy import func, literal, select

    db_folded = session.scalar(select(func.inbox_search_text(literal(sample), literal(sample[:50]), literal("Ａ@Ｂ"), literal(sample))))
    assert db_folded == search_text(sample, sample[:50], "Ａ@Ｂ", sample)
    assert session.scalar(select(func.inbox_fold(literal(sample[:200])))) == fold(sample[:200])

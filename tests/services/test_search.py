"""Search service: ticket numbers, addresses, Japanese substrings of any length, permissions, index in sync and in use."""

import pytest
from sqlalchemy import event, select, text

from inbox.models import Message, Role
from inbox.services import search as search_service
from inbox.services.search import search, snippet
from tests.factories import make_mailbox, make_thread, make_user


@pytest.fixture
def box(session):
    return make_mailbox(session)


@pytest.fixture
def agent(session, box):
    return make_user(session, mailboxes=[box])


def found(session, user, query):
    return [h.thread.id for h in search(session, user, query).hits]


def test_two_character_japanese_query_finds_a_longer_word(session, box, agent):
    delayed = make_thread(session, box, "お問い合わせ", body="配送が遅れています。")
    make_thread(session, box, "別件", body="返品の手続きについて")

    assert found(session, agent, "配送") == [delayed.id]


def test_one_character_and_trigram_length_japanese_queries(session, box, agent):
    umbrella = make_thread(session, box, "傘の忘れ物", body="店内に置き忘れました")
    delayed = make_thread(session, box, "件名", body="配送が遅れています。")

    assert found(session, agent, "傘") == [umbrella.id]
    assert found(session, agent, "遅れて") == [delayed.id]
    assert found(session, agent, "置き忘れ") == [umbrella.id]


def test_finds_by_subject_and_by_part_of_the_sender_address_ignoring_ascii_case(session, box, agent):
    by_subject = make_thread(session, box, "Order 5521 missing", body="...")
    by_address = make_thread(session, box, "件名", customer="yamada.taro@example.jp", body="...")

    assert found(session, agent, "order 5521") == [by_subject.id]
    assert found(session, agent, "YAMADA.taro@") == [by_address.id]


def test_every_word_must_match(session, box, agent):
    both = make_thread(session, box, "返品", body="サイズ交換と返品の相談")
    make_thread(session, box, "返品", body="返品だけの相談")

    assert found(session, agent, "返品　サイズ交換") == [both.id]  # ideographic space too


def test_ticket_number_with_hash_finds_only_that_ticket(session, box, agent):
    ticket = make_thread(session, box, "件名")
    make_thread(session, box, "別件", body=f"#{ticket.id} の件で再度連絡します")

    result = search(session, agent, f"#{ticket.id}")

    assert result.ticket.id == ticket.id
    assert result.hits == []


def test_bare_number_finds_the_ticket_and_text_containing_it(session, box, agent):
    ticket = make_thread(session, box, "件名")
    mention = make_thread(session, box, "別件", body=f"注文番号 {ticket.id}00 について")

    result = search(session, agent, str(ticket.id))

    assert result.ticket.id == ticket.id
    assert [h.thread.id for h in result.hits] == [mention.id]


def test_results_stay_inside_the_users_mailboxes(session, box, agent):
    hidden = make_mailbox(session)
    mine = make_thread(session, box, "配送について", body="配送が遅れています")
    secret = make_thread(session, hidden, "配送について", body="配送が遅れています")

    assert found(session, agent, "配送") == [mine.id]
    assert found(session, agent, "配送が遅れて") == [mine.id]
    assert search(session, agent, f"#{secret.id}").ticket is None
    admin = make_user(session, Role.ADMIN)
    assert set(found(session, admin, "配送が遅れて")) >= {mine.id, secret.id}


def test_like_wildcards_in_the_query_are_literal(session, box, agent):
    percent = make_thread(session, box, "割引", body="全品50%オフ")
    make_thread(session, box, "その他", body="普通の本文です")

    assert found(session, agent, "%") == [percent.id]
    assert found(session, agent, "0%オ") == [percent.id]
    assert found(session, agent, "_") == []


def test_index_follows_edits_and_deletes_of_messages(session, box, agent):
    thread = make_thread(session, box, "件名", body="古い本文テキスト")
    message = session.query(Message).filter_by(thread_id=thread.id).one()

    message.text = "新しい本文テキスト"
    session.flush()
    assert found(session, agent, "古い本文") == []
    assert found(session, agent, "新しい本文") == [thread.id]

    session.delete(message)
    session.flush()
    assert found(session, agent, "新しい本文") == []


def test_newest_matching_thread_comes_first_and_one_hit_per_thread(session, box, agent):
    old = make_thread(session, box, "配送の件", body="配送が遅れています")
    new = make_thread(session, box, "配送の件", body="配送が遅れています")
    session.add(
        Message(thread_id=new.id, mailbox_id=box.id, direction="inbound", subject="Re: 配送",
                from_address="c@example.test", received_at=new.last_activity_at,
                text="まだ配送が遅れています")
    )  # fmt: skip
    session.flush()

    assert found(session, agent, "配送が遅れて") == [new.id, old.id]


def test_empty_query_gives_nothing(session, agent):
    assert search(session, agent, "   ").hits == []


def test_snippet_shows_text_around_the_first_match():
    body = "あ" * 100 + "配送が遅れています" + "い" * 100
    part = snippet(body, ["配送"], width=10)
    assert part == "…" + "あ" * 10 + "配送が遅れています" + "い" * 1 + "…"


def test_the_trigram_index_serves_long_queries(session, box, agent):
    make_thread(session, box, "件名", body="配送が遅れています")
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        plan = session.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q"
            ),
            {"q": '"遅れて"'},
        ).all()
        assert any("VIRTUAL TABLE INDEX" in row[-1] for row in plan)
    else:
        plan = _postgresql_plan(session, "遅れて")
        assert any("ix_messages_search_trgm" in line for line in plan), plan


def _postgresql_plan(session, term: str) -> list[str]:
    """EXPLAIN of messages matching the conditions the search service makes for ``term``
    (sequential scans off), as the service renders them."""
    statements = []
    listen = event.listens_for(session.connection(), "before_cursor_execute")
    listen(lambda conn, cursor, sql, params, context, many: statements.append((sql, params)))
    session.execute(select(Message.id).where(*search_service._conditions([term], "postgresql")))
    sql, params = statements[-1]
    session.execute(text("SET LOCAL enable_seqscan = off"))
    return [row[0] for row in session.connection().exec_driver_sql(f"EXPLAIN {sql}", params)]


def test_two_character_terms_match_subject_address_and_body_ignoring_ascii_case(
    session, box, agent
):
    by_subject = make_thread(session, box, "返品について", body="よろしくお願いします")
    by_body = make_thread(session, box, "件名", body="サイズを交換したい")
    by_address = make_thread(session, box, "件名", customer="qa@shop.test", body="本文")
    by_spaced = make_thread(session, box, "返 品", body="交 換")  # spaces do not count

    assert found(session, agent, "返品") == [by_spaced.id, by_subject.id]
    assert found(session, agent, "交換") == [by_spaced.id, by_body.id]
    assert found(session, agent, "QA") == [by_address.id]
    assert found(session, agent, "返品 よろ") == [by_subject.id]
    assert search(session, agent, "返品").short_terms is False
    assert search(session, agent, "傘").short_terms is True


def test_bigram_index_follows_edits_and_deletes_of_messages(session, box, agent):
    thread = make_thread(session, box, "件名", body="返品の依頼")
    message = session.query(Message).filter_by(thread_id=thread.id).one()

    message.text = "交換の依頼"
    session.flush()
    assert found(session, agent, "返品") == []
    assert found(session, agent, "交換") == [thread.id]

    session.delete(message)
    session.flush()
    assert found(session, agent, "交換") == []


def test_the_bigram_index_serves_two_character_queries(session, box, agent):
    make_thread(session, box, "件名", body="配送が遅れています")
    if session.get_bind().dialect.name == "sqlite":
        statements = []
        listen = event.listens_for(session.connection(), "before_cursor_execute")
        listen(lambda conn, cursor, sql, params, context, many: statements.append((sql, params)))
        found(session, agent, "配送")
        sql, params = next(s for s in statements if "messages_bigrams" in s[0])
        explained = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = [row[-1] for row in explained]
        assert any("messages_bigrams VIRTUAL TABLE INDEX" in line for line in plan), plan
        assert "SCAN messages" not in plan, plan  # no full read of the messages table
    else:
        plan = _postgresql_plan(session, "配送")
        assert any("ix_messages_search_bigrams" in line for line in plan), plan


def test_a_merged_stub_is_never_a_result_its_target_is(session, box):
    """Search by ticket number, subject or order number lists the thread a stub was merged
    into, never the stub (saved searches run the same search)."""
    from datetime import UTC, datetime

    from inbox.services import customer_orders, customers, thread_ops

    lead = make_user(session, Role.LEAD, mailboxes=[box])
    stub = make_thread(session, box, "古い件名 注文番号：123-4567890-1234567", body="届きません")
    target = make_thread(session, box, "新しい件", body="その後どうなりましたか")
    customer_orders.backfill(session)
    thread_ops.merge(session, lead, target.id, [stub.id], now=datetime(2026, 11, 30, tzinfo=UTC))
    session.flush()
    assert stub.merged_into_id == target.id
    for query in (f"#{stub.id}", str(stub.id)):
        result = search(session, lead, query)
        assert result.ticket is not None and result.ticket.id == target.id, query
        assert stub.id not in [h.thread.id for h in result.hits]
    assert found(session, lead, "古い件名") == [target.id]
    assert [t.id for t in customer_orders.threads_with(session, lead, "123-4567890-1234567")] == [
        target.id
    ]
    # The customer's page lists the target, not the stub.
    profile = customers.get(session, lead, stub.contact_id)
    assert stub.id not in [t.id for t in customers.threads(session, lead, profile)[0]]

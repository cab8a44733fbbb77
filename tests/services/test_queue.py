"""Queue service: views, filters, both sort orders with keyset paging, side-bar counts, bulk changes."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from inbox.models import Role, Status, ThreadTag
from inbox.services import queue
from inbox.services.errors import InvalidInput
from inbox.services.queue import QueueFilter
from tests.factories import make_mailbox, make_thread, make_user

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo, a Tuesday


def ids(threads):
    return [t.id for t in threads]


def all_pages(session, user, flt, limit):
    seen, after = [], None
    while True:
        page = queue.list_threads(session, user, flt, now=NOW, after=after, limit=limit)
        seen += ids(page.threads)
        if page.next_cursor is None:
            return seen
        after = page.next_cursor


def test_default_view_shows_unresolved_overdue_first_then_by_deadline_then_newest(session):
    box = make_mailbox(session)
    agent = make_user(session, mailboxes=[box])
    at = NOW - timedelta(days=2)
    no_due_old = make_thread(session, box, "期限なし古い", at=at)
    no_due_new = make_thread(session, box, "期限なし新しい", at=at + timedelta(hours=5))
    later = make_thread(session, box, "来週", at=at, due_at=NOW + timedelta(days=7))
    soon = make_thread(session, box, "明日", at=at, due_at=NOW + timedelta(days=1))
    overdue = make_thread(session, box, "期限切れ", at=at, due_at=NOW - timedelta(hours=1))
    make_thread(session, box, "完了", status=Status.RESOLVED, at=NOW, due_at=NOW)

    page = queue.list_threads(session, agent, QueueFilter(), now=NOW)

    assert ids(page.threads) == [overdue.id, soon.id, later.id, no_due_new.id, no_due_old.id]


@pytest.mark.parametrize("sort", ["deadline", "activity"])
def test_keyset_pages_cover_every_thread_once_in_order_for_each_sort(session, sort):
    box = make_mailbox(session)
    agent = make_user(session, mailboxes=[box])
    rnd = random.Random(7)
    threads = []
    for i in range(37):
        at = NOW - timedelta(minutes=rnd.choice([1, 2, 3, 5]))  # many equal activity times
        due = rnd.choice([None, NOW - timedelta(hours=1), NOW + timedelta(hours=rnd.randint(1, 3))])
        threads.append(make_thread(session, box, f"件{i}", at=at, due_at=due))
    flt = QueueFilter(view="all", sort=sort)

    seen = all_pages(session, agent, flt, limit=5)

    if sort == "activity":
        key = lambda t: (-t.last_activity_at.timestamp(), -t.id)  # noqa: E731
    else:
        key = lambda t: (  # noqa: E731
            t.due_at is None, t.due_at or NOW, -t.last_activity_at.timestamp(), -t.id
        )
    assert seen == [t.id for t in sorted(threads, key=key)]


def test_views_pick_mine_unassigned_overdue_and_due_today(session):
    box = make_mailbox(session)
    me = make_user(session, mailboxes=[box], timezone="Asia/Tokyo")
    other = make_user(session, mailboxes=[box])
    mine = make_thread(session, box, "自分", assignee_id=me.id, status=Status.OPEN)
    theirs = make_thread(session, box, "他人", assignee_id=other.id)
    overdue = make_thread(session, box, "超過", due_at=NOW - timedelta(minutes=1))
    today = make_thread(session, box, "今日", due_at=NOW + timedelta(hours=5))  # 17:00 JST
    tomorrow = make_thread(session, box, "明日", due_at=NOW + timedelta(hours=13))  # 01:00 JST
    make_thread(session, box, "完了自分", assignee_id=me.id, status=Status.RESOLVED)

    def view(name):
        return set(ids(queue.list_threads(session, me, QueueFilter(view=name), now=NOW).threads))

    assert view("mine") == {mine.id}
    assert view("unassigned") == {overdue.id, today.id, tomorrow.id}
    assert view("overdue") == {overdue.id}
    assert view("due_today") == {today.id}
    assert theirs.id not in view("mine") | view("unassigned")


def test_filters_by_mailbox_status_assignee_tag_and_deadline(session):
    a, b = make_mailbox(session), make_mailbox(session)
    lead = make_user(session, Role.LEAD, mailboxes=[a, b])
    agent = make_user(session, mailboxes=[a])
    in_a = make_thread(session, a, "A", status=Status.WAITING, assignee_id=agent.id)
    in_b = make_thread(session, b, "B", due_at=NOW + timedelta(days=3))
    session.add(ThreadTag(thread_id=in_b.id, tag="返品"))
    session.flush()

    def found(**kw):
        return ids(queue.list_threads(session, lead, QueueFilter(**kw), now=NOW).threads)

    assert found(mailbox_id=a.id) == [in_a.id]
    assert found(statuses=(Status.WAITING,)) == [in_a.id]
    assert found(assignee=str(agent.id)) == [in_a.id]
    assert found(assignee="none") == [in_b.id]
    assert found(tag="返品") == [in_b.id]
    assert found(deadline="none") == [in_a.id]
    assert found(view="resolved", statuses=(Status.NEW,)) == [in_b.id]  # status replaces view's


def test_queue_never_shows_threads_of_other_mailboxes(session):
    mine, hidden = make_mailbox(session), make_mailbox(session)
    agent = make_user(session, mailboxes=[mine])
    visible = make_thread(session, mine, "見える")
    make_thread(session, hidden, "見えない", due_at=NOW - timedelta(hours=1))

    page = queue.list_threads(session, agent, QueueFilter(view="all"), now=NOW)
    counts = queue.view_counts(session, agent, now=NOW)

    assert ids(page.threads) == [visible.id]
    assert counts["default"] == 1 and counts["overdue"] == 0


def test_view_counts_match_the_views(session):
    box = make_mailbox(session)
    me = make_user(session, mailboxes=[box])
    make_thread(session, box, "1", status=Status.NEW, due_at=NOW - timedelta(hours=2))
    make_thread(session, box, "2", status=Status.OPEN, assignee_id=me.id)
    make_thread(session, box, "3", status=Status.WAITING, due_at=NOW + timedelta(hours=1))
    make_thread(session, box, "4", status=Status.RESOLVED, assignee_id=me.id)

    counts = queue.view_counts(session, me, now=NOW)

    assert counts == {
        "new": 1, "open": 1, "waiting": 1, "resolved": None, "default": 3, "all": None, "automatic": 0,
        "mine": 1, "unassigned": 2, "overdue": 1, "due_today": 1,
    }  # fmt: skip
    for view, n in counts.items():
        page = queue.list_threads(session, me, QueueFilter(view=view), now=NOW)
        assert len(page.threads) == (n if n is not None else {"resolved": 1, "all": 4}[view]), view


def test_damaged_or_foreign_cursor_is_refused(session):
    box = make_mailbox(session)
    agent = make_user(session, mailboxes=[box])
    for i in range(3):
        make_thread(session, box, f"件{i}")
    page = queue.list_threads(session, agent, QueueFilter(sort="activity"), now=NOW, limit=1)

    with pytest.raises(InvalidInput):
        queue.list_threads(session, agent, QueueFilter(sort="deadline"), now=NOW, after=page.next_cursor)
    with pytest.raises(InvalidInput):
        queue.list_threads(session, agent, QueueFilter(), now=NOW, after="not-a-cursor")


def test_unknown_view_sort_or_deadline_is_invalid_input():
    for kw in ({"view": "everything"}, {"sort": "random"}, {"deadline": "yesterday"}, {"assignee": "x"}):
        with pytest.raises(InvalidInput):
            QueueFilter(**kw)


def test_bulk_update_assigns_the_chosen_threads_and_skips_invisible_ones(session):
    box, hidden = make_mailbox(session), make_mailbox(session)
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    agent = make_user(session, mailboxes=[box])
    chosen = [make_thread(session, box, f"件{i}") for i in range(3)]
    secret = make_thread(session, hidden, "秘密")

    done = queue.bulk_update(
        session, lead, [t.id for t in chosen] + [secret.id], "assign", str(agent.id), now=NOW
    )

    assert (done.changed, done.skipped) == (3, 1)
    assert {t.assignee_id for t in chosen} == {agent.id}
    assert secret.assignee_id is None


def test_bulk_update_refuses_an_empty_choice_or_unknown_action(session):
    box = make_mailbox(session)
    agent = make_user(session, mailboxes=[box])
    thread = make_thread(session, box)
    with pytest.raises(InvalidInput):
        queue.bulk_update(session, agent, [], "assign", "me", now=NOW)
    with pytest.raises(InvalidInput):
        queue.bulk_update(session, agent, [thread.id], "delete", "", now=NOW)


def test_user_without_mailboxes_gets_an_empty_queue_and_zero_counts(session):
    make_thread(session, make_mailbox(session), "誰かの件")
    loner = make_user(session)

    page = queue.list_threads(session, loner, QueueFilter(view="all"), now=NOW)
    counts = queue.view_counts(session, loner, now=NOW)

    assert page.threads == [] and counts["default"] == 0 and counts["mine"] == 0

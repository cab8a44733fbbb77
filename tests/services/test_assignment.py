"""Assignment, status, priority and tags: who may change what, the event log, and stale versions."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inbox.db import make_engine
from inbox.models import Event, Priority, Role, Status, Thread, User
from inbox.services import assignment
from inbox.services.errors import ConcurrentChange, InvalidInput, NotFound, PermissionDenied
from tests.factories import make_mailbox, make_thread, make_user

NOW = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def world(session):
    box = make_mailbox(session, "support")
    other = make_mailbox(session, "other")
    return {
        "box": box,
        "thread": make_thread(session, box, "返品について"),
        "foreign": make_thread(session, other, "見えない件"),
        "agent": make_user(session, Role.AGENT, mailboxes=[box], name="Agent A"),
        "colleague": make_user(session, Role.AGENT, mailboxes=[box], name="Agent B"),
        "outsider": make_user(session, Role.AGENT, mailboxes=[other], name="Outsider"),
        "lead": make_user(session, Role.LEAD, mailboxes=[box], name="Lead"),
    }


def events(session, thread_id, kind):
    return list(
        session.scalars(
            select(Event).where(Event.thread_id == thread_id, Event.kind == kind).order_by(Event.id)
        )
    )


def test_agent_takes_an_unassigned_thread_and_it_is_evented(session, world):
    t, agent = world["thread"], world["agent"]
    result = assignment.assign(session, t.id, agent.id, by=agent, expected_version=t.version, now=NOW)
    assert result.assignee_id == agent.id
    assert result.version == 2
    [event] = events(session, t.id, "assigned")
    assert (event.actor_id, event.data, event.created_at) == (
        agent.id,
        {"from": None, "to": agent.id},
        NOW,
    )


def test_agent_cannot_assign_a_colleague(session, world):
    t = world["thread"]
    with pytest.raises(PermissionDenied):
        assignment.assign(
            session, t.id, world["colleague"].id, by=world["agent"], expected_version=1, now=NOW
        )
    assert t.assignee_id is None and events(session, t.id, "assigned") == []


def test_agent_cannot_take_a_thread_a_colleague_holds(session, world):
    t = world["thread"]
    assignment.assign(session, t.id, world["colleague"].id, by=world["lead"], expected_version=1, now=NOW)
    with pytest.raises(PermissionDenied):
        assignment.assign(session, t.id, world["agent"].id, by=world["agent"], expected_version=2, now=NOW)
    with pytest.raises(PermissionDenied):
        assignment.unassign(session, t.id, by=world["agent"], expected_version=2, now=NOW)
    assert t.assignee_id == world["colleague"].id


def test_lead_assigns_anyone_with_access_but_not_an_outsider(session, world):
    t, lead = world["thread"], world["lead"]
    assignment.assign(session, t.id, world["colleague"].id, by=lead, expected_version=1, now=NOW)
    assert t.assignee_id == world["colleague"].id
    with pytest.raises(InvalidInput):
        assignment.assign(session, t.id, world["outsider"].id, by=lead, expected_version=2, now=NOW)
    assert t.assignee_id == world["colleague"].id


def test_agent_unassigns_themselves_and_lead_unassigns_anyone(session, world):
    t, agent, lead = world["thread"], world["agent"], world["lead"]
    assignment.assign(session, t.id, agent.id, by=agent, expected_version=1, now=NOW)
    assignment.unassign(session, t.id, by=agent, expected_version=2, now=NOW)
    assert t.assignee_id is None
    assignment.assign(session, t.id, agent.id, by=lead, expected_version=3, now=NOW)
    assignment.unassign(session, t.id, by=lead, expected_version=4, now=NOW)
    assert t.assignee_id is None
    assert [e.data for e in events(session, t.id, "unassigned")] == [{"from": agent.id}] * 2


def test_status_priority_and_tags_change_and_are_evented(session, world):
    t, agent = world["thread"], world["agent"]
    assignment.set_status(session, t.id, Status.WAITING, by=agent, expected_version=1, now=NOW)
    assignment.set_priority(session, t.id, Priority.URGENT, by=agent, expected_version=2, now=NOW)
    assignment.set_tags(session, t.id, [" 返品 ", "VIP", "返品", ""], by=agent, expected_version=3, now=NOW)
    assignment.set_tags(session, t.id, ["VIP", "要確認"], by=agent, expected_version=4, now=NOW)
    session.expire_all()
    t = session.get(Thread, t.id)
    assert (t.status, t.priority, [x.tag for x in t.tags]) == (
        Status.WAITING,
        Priority.URGENT,
        ["VIP", "要確認"],
    )
    assert t.version == 5  # tag-only changes bump the version too
    assert events(session, t.id, "status_changed")[-1].data == {"from": "new", "to": "waiting"}
    assert events(session, t.id, "priority_changed")[0].data == {"from": "normal", "to": "urgent"}
    assert [e.data for e in events(session, t.id, "tags_changed")] == [
        {"added": ["VIP", "返品"], "removed": []},
        {"added": ["要確認"], "removed": ["返品"]},
    ]


def test_setting_the_same_value_changes_nothing_and_writes_no_event(session, world):
    t = world["thread"]
    assignment.set_status(session, t.id, Status.NEW, by=world["agent"], expected_version=1, now=NOW)
    assert t.version == 1 and events(session, t.id, "status_changed") == []


def test_too_long_tag_is_refused(session, world):
    with pytest.raises(InvalidInput):
        assignment.set_tags(
            session, world["thread"].id, ["x" * 65], by=world["agent"], expected_version=1, now=NOW
        )


def test_stale_version_raises_concurrent_change_and_keeps_the_other_change(session, world):
    t, agent, colleague = world["thread"], world["agent"], world["colleague"]
    assignment.set_status(session, t.id, Status.OPEN, by=colleague, expected_version=1, now=NOW)
    with pytest.raises(ConcurrentChange):
        assignment.set_status(session, t.id, Status.RESOLVED, by=agent, expected_version=1, now=NOW)
    assert t.status == Status.OPEN
    assert len(events(session, t.id, "status_changed")) == 1


def test_a_write_between_read_and_flush_is_detected_by_the_version_column(session, world):
    t, agent = world["thread"], world["agent"]
    # Another transaction bumps the row after this session read it: the UPDATE then matches
    # no row, and the service reports it as a concurrent change instead of overwriting.
    session.execute(
        update(Thread)
        .where(Thread.id == t.id)
        .values(status=Status.RESOLVED, version=Thread.version + 1)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(ConcurrentChange):
        assignment.set_priority(session, t.id, Priority.HIGH, by=agent, expected_version=1, now=NOW)


def test_thread_in_a_foreign_mailbox_is_not_found(session, world):
    with pytest.raises(NotFound):
        assignment.set_status(
            session, world["foreign"].id, Status.OPEN, by=world["agent"], expected_version=1, now=NOW
        )


def test_bulk_apply_skips_threads_the_user_may_not_see_and_counts(session, world):
    box, agent = world["box"], world["agent"]
    second = make_thread(session, box, "二件目", status=Status.RESOLVED)
    ids = [world["thread"].id, second.id, world["foreign"].id, 999_999]
    counts = assignment.bulk_apply(session, ids, "status", "resolved", agent, NOW)
    assert counts == assignment.BulkCounts(changed=1, unchanged=1, skipped=2)
    assert world["thread"].status == Status.RESOLVED
    assert world["foreign"].status == Status.NEW
    assert len(events(session, world["thread"].id, "status_changed")) == 1


def test_bulk_assign_to_me_skips_threads_held_by_a_colleague(session, world):
    box, agent = world["box"], world["agent"]
    held = make_thread(session, box, "他の人の件", assignee_id=world["colleague"].id)
    counts = assignment.bulk_apply(session, [world["thread"].id, held.id], "assign", "me", agent, NOW)
    assert counts == assignment.BulkCounts(changed=1, unchanged=0, skipped=1)
    assert (world["thread"].assignee_id, held.assignee_id) == (agent.id, world["colleague"].id)


def test_bulk_tags_add_and_remove_one_tag(session, world):
    box, agent = world["box"], world["agent"]
    second = make_thread(session, box, "二件目")
    ids = [world["thread"].id, second.id]
    assert assignment.bulk_apply(session, ids, "add_tag", "要対応", agent, NOW).changed == 2
    assert [t.tag for t in second.tags] == ["要対応"]
    assert assignment.bulk_apply(session, ids, "remove_tag", "要対応", agent, NOW).changed == 2
    assert second.tags == []
    assert len(events(session, second.id, "tags_changed")) == 2


def test_bulk_rejects_unknown_actions_values_and_agents_assigning_others(session, world):
    agent, ids = world["agent"], [world["thread"].id]
    with pytest.raises(InvalidInput):
        assignment.bulk_apply(session, ids, "delete", None, agent, NOW)
    with pytest.raises(InvalidInput):
        assignment.bulk_apply(session, ids, "status", "done", agent, NOW)
    with pytest.raises(PermissionDenied):
        assignment.bulk_apply(session, ids, "assign", world["colleague"].id, agent, NOW)


def test_two_transactions_racing_on_postgresql_only_one_wins(fresh_databases, backend):
    """Both read version 1 before either writes; the second UPDATE finds the version moved."""
    if backend != "postgresql":
        pytest.skip("SQLite takes the write lock at BEGIN, so writers never interleave there")
    engine = make_engine(fresh_databases.migrated_url())
    try:
        with Session(engine, expire_on_commit=False) as setup:
            box = make_mailbox(setup, "race")
            a = make_user(setup, Role.AGENT, mailboxes=[box])
            b = make_user(setup, Role.AGENT, mailboxes=[box])
            thread_id = make_thread(setup, box, "競合").id
            setup.commit()
        with Session(engine) as first, Session(engine) as second:
            me_a, me_b = first.get(User, a.id), second.get(User, b.id)
            assert first.get(Thread, thread_id).version == second.get(Thread, thread_id).version == 1
            assignment.set_status(first, thread_id, Status.OPEN, by=me_a, expected_version=1, now=NOW)
            first.commit()
            with pytest.raises(ConcurrentChange):
                assignment.set_status(
                    second, thread_id, Status.RESOLVED, by=me_b, expected_version=1, now=NOW
                )
            second.rollback()
        with Session(engine) as check:
            assert check.get(Thread, thread_id).status == Status.OPEN
    finally:
        engine.dispose()

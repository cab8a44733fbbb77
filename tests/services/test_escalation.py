"""Tests for escalation: an assigned thread still overdue N business hours after its deadline
alerts the mailbox's leads, once per deadline, even with two scanners at the same moment."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from inbox.models import Alert, Notification, OutboxItem, Role, Status
from inbox.services import alerts, escalation
from inbox.services.errors import InvalidInput, PermissionDenied
from tests.factories import make_mailbox, make_thread, make_user

JST = ZoneInfo("Asia/Tokyo")
HOURS = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def jst(*a: int) -> datetime:
    return datetime(*a, tzinfo=JST)


@pytest.fixture
def box(session, runtime):
    box = make_mailbox(session, "tokyo", timezone="Asia/Tokyo", calendar={"hours": HOURS})
    box.change_settings(escalation_hours=3)
    session.flush()
    return box


@pytest.fixture
def people(session, box):
    agent = make_user(session, Role.AGENT, mailboxes=[box], email="agent@example.test")
    lead = make_user(session, Role.LEAD, mailboxes=[box], email="lead@example.test")
    other_lead = make_user(session, Role.LEAD, mailboxes=[box], email="lead2@example.test")
    make_user(session, Role.ADMIN, email="admin@example.test")
    return agent, lead, other_lead


def scan_at(runtime, when):
    with time_machine.travel(when, tick=False):
        return alerts.scan(runtime.Session, runtime.settings, now=when)


def escalations(session) -> list[OutboxItem]:
    session.expire_all()
    return list(
        session.scalars(
            select(OutboxItem).where(OutboxItem.idempotency_key.like("alert:%:escalated:%")).order_by(OutboxItem.id)
        )
    )


def test_an_assigned_overdue_thread_alerts_the_leads_after_n_business_hours_once(session, runtime, box, people):
    agent, lead, other_lead = people
    # Due Friday 17:00; 3 business hours later is Monday 11:00 (the weekend does not count).
    thread = make_thread(session, box, due_at=jst(2026, 11, 27, 17), status=Status.OPEN, assignee_id=agent.id)
    session.commit()
    assert scan_at(runtime, jst(2026, 11, 30, 10, 59)).escalated == 0
    assert escalations(session) == []
    assert scan_at(runtime, jst(2026, 11, 30, 11)).escalated == 1
    assert scan_at(runtime, jst(2026, 11, 30, 12)).escalated == 0
    [item] = escalations(session)
    assert item.recipients == ["lead@example.test", "lead2@example.test"]  # not the agent, not the admin
    assert item.thread_id == thread.id and b"Auto-Submitted: auto-generated" in item.raw
    kinds = {(n.user_id, n.kind) for n in session.scalars(select(Notification))}
    assert kinds == {(lead.id, "escalated"), (other_lead.id, "escalated")}
    # A new deadline can escalate again, once.
    thread = session.get(type(thread), thread.id)
    thread.due_at = jst(2026, 12, 1, 12)
    session.commit()
    assert scan_at(runtime, jst(2026, 12, 1, 15)).escalated == 1
    assert len(escalations(session)) == 2


def test_unassigned_resolved_and_unconfigured_threads_are_not_escalated(session, runtime, box, people):
    agent, _lead, _other = people
    make_thread(session, box, due_at=jst(2026, 11, 24, 10), status=Status.OPEN)
    make_thread(session, box, due_at=jst(2026, 11, 24, 10), status=Status.RESOLVED, assignee_id=agent.id)
    quiet = make_mailbox(session, "quiet", timezone="Asia/Tokyo", calendar={"hours": HOURS})
    make_thread(session, quiet, due_at=jst(2026, 11, 24, 10), status=Status.OPEN, assignee_id=agent.id)
    session.commit()
    assert scan_at(runtime, jst(2026, 11, 25, 17)).escalated == 0


def test_a_mailbox_without_other_leads_escalates_to_the_admins(session, runtime, box):
    lead = make_user(session, Role.LEAD, mailboxes=[box], email="onlylead@example.test")
    make_user(session, Role.ADMIN, email="boss@example.test")
    make_thread(session, box, due_at=jst(2026, 11, 24, 10), status=Status.OPEN, assignee_id=lead.id)
    session.commit()
    scan_at(runtime, jst(2026, 11, 24, 13))
    [item] = escalations(session)
    assert item.recipients == ["boss@example.test"]


def test_leads_and_admins_set_the_hours_agents_cannot_and_bad_values_are_refused(session, box, people):
    agent, lead, _other = people
    now = jst(2026, 11, 24, 9)
    escalation.save_hours(session, lead, box.id, " 4.5 ", now=now)
    assert escalation.hours_for(box) == 4.5 and escalation.form_value(box) == 4.5
    escalation.save_hours(session, lead, box.id, "", now=now)
    assert escalation.hours_for(box) is None
    for bad in ("abc", "0", "-1", "2001", "nan", "inf"):
        with pytest.raises(InvalidInput):
            escalation.save_hours(session, lead, box.id, bad, now=now)
    with pytest.raises(PermissionDenied):
        escalation.save_hours(session, agent, box.id, "2", now=now)


def test_two_scanners_at_the_same_moment_escalate_each_thread_once(fresh_databases, tmp_path):
    """Two scanners (separate connections) at once. On PostgreSQL both find the same due
    escalations before either issues any, then both try: the unique alert row lets exactly one
    through. SQLite transactions take the write lock up front, so there the scans queue."""
    from inbox import create_app
    from tests.conftest import base_config

    url = fresh_databases.migrated_url()
    app = create_app(base_config(tmp_path, url))
    runtime = app.extensions["inbox"]
    with runtime.Session() as session:
        box = make_mailbox(session, "race", timezone="Asia/Tokyo", calendar={"hours": HOURS})
        box.change_settings(escalation_hours=1)
        agent = make_user(session, Role.AGENT, mailboxes=[box])
        make_user(session, Role.LEAD, mailboxes=[box], email="racelead@example.test")
        for n in range(6):
            make_thread(session, box, f"件名 {n}", due_at=jst(2026, 11, 24, 10 + n % 3), status=Status.OPEN,
                        assignee_id=agent.id)
        session.commit()

    real_find = escalation.find_due
    barrier = threading.Barrier(2, timeout=30)

    def find_then_wait(session, **kw):
        found = real_find(session, **kw)
        if runtime.engine.dialect.name == "postgresql":
            barrier.wait()  # both scanners have their list before either issues anything
        return found

    results, errors = [], []

    def scanner():
        try:
            results.append(alerts.scan(runtime.Session, runtime.settings, now=jst(2026, 11, 24, 17)))
        except Exception as exc:  # noqa: BLE001 - any failure is reported below
            errors.append(exc)

    escalation.find_due = find_then_wait
    try:
        workers = [threading.Thread(target=scanner) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
    finally:
        escalation.find_due = real_find
    assert errors == []
    assert sorted(r.escalated for r in results) in ([0, 6], [1, 5], [2, 4], [3, 3])
    assert sum(r.escalated for r in results) == 6
    with runtime.Session() as session:
        assert len(list(session.scalars(select(Alert).where(Alert.stage == "escalated")))) == 6
        keys = list(session.scalars(select(OutboxItem.idempotency_key).where(OutboxItem.idempotency_key.like("%escalated%"))))
        assert len(keys) == len(set(keys)) == 6
    runtime.engine.dispose()

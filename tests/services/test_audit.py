"""The audit trail: entries are written with who, when, where and what, and cannot be changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from inbox.db import utcnow
from inbox.models import AuditEntry, Role
from inbox.services import audit
from tests.factories import make_user


def test_record_keeps_actor_address_target_and_changes(session):
    admin = make_user(session, Role.ADMIN, email="boss@example.test")
    now = utcnow()
    entry = audit.record(
        session, actor_id=admin.id, action="user.update", target="user:7",
        changes={"role": [Role.AGENT, Role.LEAD]}, address="192.0.2.1", now=now,
    )
    stored = session.get(AuditEntry, entry.id)
    assert (stored.actor_email, stored.action, stored.target, stored.address) == (
        "boss@example.test", "user.update", "user:7", "192.0.2.1"
    )
    assert stored.changes == {"role": ["agent", "lead"]}


def test_filters_by_actor_action_and_period(session):
    a = make_user(session, Role.ADMIN, email="a@example.test")
    b = make_user(session, Role.ADMIN, email="b@example.test")
    now = utcnow()
    audit.record(session, actor_id=a.id, action="logout", now=now - timedelta(days=3))
    audit.record(session, actor_id=a.id, action="login.success", now=now)
    audit.record(session, actor_id=b.id, action="login.success", now=now)
    mine = audit.entries(session, audit.AuditFilter(actor_id=a.id))
    assert [e.action for e in mine] == ["login.success", "logout"]
    recent = audit.entries(session, audit.AuditFilter(since=now - timedelta(days=1)))
    assert {e.actor_id for e in recent} >= {a.id, b.id}
    assert all(e.action == "login.success" for e in recent)
    logins = audit.entries(session, audit.AuditFilter(action="logout", actor_id=a.id))
    assert len(logins) == 1


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(session, statement):
    audit.record(session, actor_id=None, action="login.failure", target="x@example.test",
                 now=utcnow())
    with pytest.raises(DatabaseError, match="append-only"):
        with session.begin_nested():
            session.execute(sa.text(statement))
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) >= 1


def test_the_orm_cannot_delete_an_entry_either(session):
    entry = audit.record(session, actor_id=None, action="logout", now=utcnow())
    with pytest.raises(DatabaseError, match="append-only"):
        with session.begin_nested():
            session.delete(entry)
            session.flush()

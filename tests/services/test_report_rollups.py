"""The daily report roll-ups kept by database triggers agree with the facts, whatever changed them.

Random histories (new threads, customers writing again, replies delivered or not, status
changes across midnights, weekends and holidays) go through the real services; the facts are
then rebuilt, deleted with their threads, and re-authored. After each round the roll-up rows
the triggers kept must equal the rows computed again from the facts, and the reports page read
from the roll-ups must equal the one read from the facts alone.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from inbox.models import (
    ReplyFact,
    ReportArrivals,
    ReportDurations,
    ReportReplies,
    ReportResolutions,
    Role,
    Status,
    ThreadFact,
    ThreadTag,
)
from inbox.services import kpi_facts, report_rollups, reports, retention
from tests.factories import make_user
from tests.services.test_kpi_facts import Centre, jst

TOKYO = ZoneInfo("Asia/Tokyo")
ROLLUPS = (ReportArrivals, ReportReplies, ReportResolutions, ReportDurations)


def rollup_rows(session) -> dict[str, set[tuple]]:
    """Every roll-up row with a count other than zero (taking a count back may leave a zero row)."""
    session.flush()
    out = {}
    for table in ROLLUPS:
        columns = list(table.__table__.columns)
        keys = [c for c in columns if c.primary_key]
        counts = [c for c in columns if not c.primary_key]
        out[table.__tablename__] = {
            tuple(row) for row in session.execute(select(*columns))
            if any(row[len(keys) + i] for i in range(len(counts)))}
    return out


def rebuilt_rows(session) -> dict[str, set[tuple]]:
    """The roll-ups computed again from the facts, inside a savepoint that is then undone."""
    nested = session.begin_nested()
    report_rollups.rebuild(session)
    rows = rollup_rows(session)
    nested.rollback()
    return rows


def report_both_ways(session, monkeypatch, flt, user=None):
    """(report from the roll-ups, report from the facts alone) as plain data."""
    ids = reports.scope_ids(session, user, flt)
    assert reports._from_rollups(session, flt, ids), "the roll-ups should answer this period"
    from_rollups = dataclasses.asdict(reports.build_report(session, user, flt))
    with monkeypatch.context() as m:
        m.setattr(reports, "_from_rollups", lambda *_a: False)
        from_facts = dataclasses.asdict(reports.build_report(session, user, flt))
    return from_rollups, from_facts


def random_history(c: Centre, rnd: random.Random, steps: int) -> list:
    """``steps`` random things happening on one mailbox from 2026-04-24 on (Golden Week inside)."""
    authors = [c.agent, c.lead, c.helper]
    threads: list = []
    at = jst(2026, 4, 24, 8)
    for _ in range(steps):
        at += timedelta(minutes=rnd.choice((1, 7, 45, 180, 600, 1440)))
        choice = rnd.random()
        if not threads or choice < 0.3:
            threads.append(c.customer_writes(at))
            continue
        thread = rnd.choice(threads)
        c.session.refresh(thread)
        if choice < 0.45:
            c.customer_writes(at, thread)
        elif choice < 0.75:
            delivered = None if rnd.random() < 0.15 else at + timedelta(minutes=rnd.choice((0, 5, 90)))
            c.reply(thread, at, delivered, author=rnd.choice(authors))
            if delivered is not None:
                at = delivered
        else:
            status = rnd.choice((Status.RESOLVED, Status.RESOLVED, Status.OPEN, Status.WAITING))
            if status != thread.status:
                c.set_status(thread, status, at)
    return threads


@pytest.fixture
def centre(session, runtime):
    c = Centre(session, runtime)
    c.helper = make_user(session, mailboxes=[c.mailbox], name="佐藤")
    c.admin = make_user(session, Role.ADMIN, name="管理者")
    return c


PERIODS = [("2026-04-01", "2026-06-30"), ("2026-05-01", "2026-05-31"), ("2026-05-02", "2026-05-06"),
           ("2026-05-12", "2026-05-12")]


@pytest.mark.parametrize("seed", [1, 2])
def test_rollups_equal_the_facts_after_random_histories_rebuilds_and_deletions(
        session, centre, monkeypatch, seed):
    rnd = random.Random(seed)
    threads = random_history(centre, rnd, 120)
    assert rollup_rows(session) == rebuilt_rows(session)
    assert rollup_rows(session)["report_replies"], "the history should have delivered replies"

    def same_reports() -> None:
        for start, end in PERIODS:
            flt = reports.ReportFilter(start=date.fromisoformat(start), end=date.fromisoformat(end), zone=TOKYO)
            from_rollups, from_facts = report_both_ways(session, monkeypatch, flt, centre.admin)
            assert from_rollups == from_facts, (start, end)

    same_reports()

    # facts computed again from the history (delete and insert, as after a merge or a split)
    kpi_facts.rebuild_threads(session, [t.id for t in threads[::3]])
    # an author's name gone from the replies (as when the user is deleted: SET NULL)
    session.execute(update(ReplyFact).where(ReplyFact.author_id == centre.helper.id).values(author_id=None))
    # threads deleted by retention (statements; the database cascades to the facts)
    retention.delete_threads(session, [t.id for t in threads[4::5]])
    # replies taken back by a bulk statement
    session.execute(delete(ReplyFact).where(ReplyFact.thread_id == threads[2].id))
    session.expire_all()
    assert rollup_rows(session) == rebuilt_rows(session)
    same_reports()

    # and life goes on after all that
    random_history(centre, rnd, 30)
    assert rollup_rows(session) == rebuilt_rows(session)


def test_a_thread_resolved_and_reopened_moves_its_counts_between_days(session, centre):
    t = centre.customer_writes(jst(2026, 5, 11, 23, 30))  # Mon 23:30 JST = Mon 14:30 UTC
    centre.reply(t, jst(2026, 5, 11, 23, 40), jst(2026, 5, 12, 0, 10))  # delivered Tue 00:10 JST
    centre.set_status(t, Status.RESOLVED, jst(2026, 5, 12, 9))
    rows = rollup_rows(session)
    box = centre.mailbox.id
    assert (box, date(2026, 5, 11), 23, 1) in rows["report_arrivals"]
    assert {r[:3] for r in rows["report_replies"]} == {(box, date(2026, 5, 12), centre.agent.id)}
    assert (box, date(2026, 5, 12), 1, 1, 0, 1, 1) in rows["report_resolutions"]

    centre.customer_writes(jst(2026, 5, 13, 10), t)  # reopened within 7 days: no longer FCR
    centre.set_status(t, Status.RESOLVED, jst(2026, 5, 14, 10))
    rows = rollup_rows(session)
    assert rows["report_resolutions"] == {(box, date(2026, 5, 12), 0, 1, 1, 0, 1),
                                          (box, date(2026, 5, 14), 1, 0, 0, 0, 0)}


def test_reports_read_the_facts_when_the_rollups_cannot_answer(session, centre, monkeypatch):
    t = centre.customer_writes(jst(2026, 5, 11, 10))
    session.add(ThreadTag(thread_id=t.id, tag="返品"))
    session.flush()
    ids = [centre.mailbox.id]
    may = dict(start=date(2026, 5, 1), end=date(2026, 5, 31))
    assert reports._from_rollups(session, reports.ReportFilter(zone=TOKYO, **may), ids)
    for narrowed in ({"tag": "返品"}, {"agent_id": centre.agent.id}, {"category_id": 1}):
        assert not reports._from_rollups(session, reports.ReportFilter(zone=TOKYO, **may, **narrowed), ids)
    # a period in another timezone than the mailbox keeps its days in
    utc = reports.ReportFilter(zone=ZoneInfo("UTC"), **may)
    assert not reports._from_rollups(session, utc, ids)
    assert reports.build_report(session, centre.admin, utc).now.received == 1
    tagged = reports.ReportFilter(zone=TOKYO, tag="返品", **may)
    assert reports.build_report(session, centre.admin, tagged).now.received == 1


def test_rollup_rebuild_recomputes_rows_that_drifted_from_the_facts(session, centre):
    """``report_rollups.rebuild``, which ``inbox report rebuild-facts`` runs after the facts
    (the command itself: tests/cli/test_report.py)."""
    t = centre.customer_writes(jst(2026, 5, 11, 10))
    centre.reply(t, jst(2026, 5, 11, 11), jst(2026, 5, 11, 12))
    good = rollup_rows(session)
    session.execute(update(ReportArrivals).values(threads=ReportArrivals.threads + 5))
    session.execute(delete(ReportReplies))
    assert rollup_rows(session) != good
    report_rollups.rebuild(session)
    assert rollup_rows(session) == good
    # and it leaves the facts' own days as they were: answered, never resolved
    assert session.get(ThreadFact, t.id).first_resolved_day is None


def test_upgrading_fills_the_days_and_rollups_of_facts_kept_before(fresh_databases, runtime):
    """Migration 0027 on facts kept before it: the local days in each mailbox's timezone (one
    mailbox in Tokyo, one in New York), then the roll-ups; and back down and up again."""
    from alembic import command

    from inbox.db import make_engine
    from inbox.schema import alembic_config, upgrade

    engine = make_engine(fresh_databases.new_url())
    try:
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as s:
            for zone in ("Asia/Tokyo", "America/New_York"):
                c = Centre(s, runtime, timezone=zone)
                c.helper = make_user(s, mailboxes=[c.mailbox], name="佐藤")
                random_history(c, random.Random(7), 50)
            s.commit()
            days = local_days(s)
            rows = rollup_rows(s)
        assert {d for _key, *values in days for d in values if d is not None}
        assert all(rows.values())
        with engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), "0026")
        upgrade(engine)
        with Session(engine) as s:
            assert local_days(s) == days
            assert rollup_rows(s) == rows
    finally:
        engine.dispose()


def local_days(session) -> set[tuple]:
    facts = {(f"thread {r[0]}", *r[1:]) for r in session.execute(
        select(ThreadFact.thread_id, ThreadFact.first_reply_day, ThreadFact.first_resolved_day))}
    return facts | {(f"reply {r[0]}", r[1]) for r in session.execute(select(ReplyFact.id, ReplyFact.delivered_day))}

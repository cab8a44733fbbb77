"""Benchmark: one deadline-alert scan over a large database (default 1,000,000 threads, 10% open).

Run: .venv/bin/python bench/alerts.py [--threads 1000000] [--backend sqlite,postgresql]

PostgreSQL comes from INBOX_TEST_DATABASE_URL (default postgres@127.0.0.1:5432/test); a
throwaway database is created and dropped. Deadlines of all threads are spread evenly from a
year before "now" to two weeks after it (about 264 open deadlines a day). Prints the first
(catch-up) scan, which issues every alert of the last week, then steady-state scans a minute
apart, and the query plans of the scan's per-mailbox query and of the header-badge query.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from inbox.config import load_settings
from inbox.crypto import generate_key
from inbox.db import make_engine
from inbox.models import Alert, Mailbox, Role, User
from inbox.runtime import build_runtime
from inbox.schema import upgrade
from inbox.services import alerts, deadlines

PG_URL = os.environ.get(
    "INBOX_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")).astimezone(UTC)
SPAN_START = NOW - timedelta(days=365)
SPAN_SECONDS = int(timedelta(days=379).total_seconds())
MAILBOXES, AGENTS = 5, 40


def _seed(engine: sa.Engine, n: int) -> None:
    with engine.begin() as conn:
        for m in range(MAILBOXES):
            conn.execute(
                sa.insert(Mailbox).values(
                    name=f"box{m}",
                    kind="local",
                    timezone="Asia/Tokyo",
                    settings={},
                    calendar={},
                    deadline_rules=[],
                )
            )
        for a in range(AGENTS):
            conn.execute(
                sa.insert(User).values(
                    email=f"agent{a}@example.test",
                    name=f"Agent {a}",
                    role=Role.LEAD if a < MAILBOXES else Role.AGENT,
                )
            )
        conn.execute(
            sa.text(
                "INSERT INTO mailbox_members (mailbox_id, user_id) "
                "SELECT (u.id % :boxes) + 1, u.id FROM users u"
            ),
            {"boxes": MAILBOXES},
        )
        # Thread g: open when g % 10 == 0 (new/open/waiting), else resolved; due evenly over the span;
        # a third of the open ones unassigned.
        status = "CASE WHEN g % 10 <> 0 THEN 'resolved' WHEN g % 30 = 0 THEN 'new' WHEN g % 30 = 10 THEN 'open' ELSE 'waiting' END"
        assignee = f"CASE WHEN g % 3 = 0 THEN NULL ELSE (g % {AGENTS}) + 1 END"
        offset = (
            f"(g::bigint * {SPAN_SECONDS} / {n})"
            if engine.dialect.name == "postgresql"
            else f"(g * {SPAN_SECONDS} / {n})"
        )
        if engine.dialect.name == "postgresql":
            due = f"(CAST(:start AS timestamptz) + make_interval(secs => {offset}))"
            source = "generate_series(1, :n) AS g"
            prefix = ""
        else:
            # The exact text SQLAlchemy writes for a UTC datetime on SQLite (with microseconds).
            due = f"strftime('%Y-%m-%d %H:%M:%S.000000', :start, '+' || {offset} || ' seconds')"
            source = "seq"
            prefix = (
                "WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < :n) "
            )
        conn.execute(
            sa.text(
                f"{prefix}INSERT INTO threads (mailbox_id, subject, normalized_subject, status, assignee_id, "
                "due_at, last_activity_at, external_meta) "
                f"SELECT (g % {MAILBOXES}) + 1, 'Subject ' || g, 'subject ' || g, {status}, {assignee}, "
                f"{due}, {due}, '{{}}' FROM {source}"
            ),
            {
                "n": n,
                "start": SPAN_START
                if engine.dialect.name == "postgresql"
                else SPAN_START.strftime("%Y-%m-%d %H:%M:%S"),
            },
        )
        # A year of history: every deadline older than a day already had its three alerts.
        for stage in ("due_tomorrow", "due_today", "overdue"):
            conn.execute(
                sa.text(
                    "INSERT INTO alerts (thread_id, stage, due_at) SELECT id, :stage, due_at "
                    "FROM threads WHERE due_at < :before"
                ),
                {
                    "stage": stage,
                    "before": NOW - timedelta(days=1)
                    if engine.dialect.name == "postgresql"
                    else (NOW - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.000000"),
                },
            )
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()


def _plans(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        cal = deadlines.calendar_for(Mailbox(timezone="Asia/Tokyo", calendar={}))
        until = cal.start_of_day(cal.next_working_day(cal.to_local(NOW).date()) + timedelta(days=1))
        past, coming = alerts.candidates_stmts(1, NOW, until)
        stmts = {
            "scan, past deadlines": past,
            "scan, coming deadlines": coming,
            "header badge": _badge_stmt(),
        }
        for name, stmt in stmts.items():
            sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
            explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(explain + sql).all()
            print(f"  plan ({name}):")
            for row in rows:
                print("    " + str(row[-1]))


def _badge_stmt() -> sa.Select:
    from inbox.models import Thread

    end = NOW + timedelta(hours=14)
    return sa.select(
        sa.func.count(sa.case((Thread.due_at <= NOW, 1))),
        sa.func.count(sa.case((Thread.due_at > NOW, 1))),
    ).where(
        Thread.assignee_id == 7, Thread.status.in_(deadlines.OPEN_STATUSES), Thread.due_at < end
    )


def run(backend: str, n: int) -> None:
    created = None
    if backend == "postgresql":
        created = f"inbox_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{created}"')
        url = sa.engine.make_url(PG_URL).set(database=created).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    try:
        engine = make_engine(url)
        upgrade(engine)
        t = time.perf_counter()
        _seed(engine, n)
        print(f"{backend}: seeded {n:,} threads in {time.perf_counter() - t:.1f} s")
        with engine.connect() as conn:
            open_n = conn.scalar(sa.text("SELECT count(*) FROM threads WHERE status <> 'resolved'"))
        print(f"  open threads: {open_n:,}")
        settings = load_settings(
            {
                "server": {"secret_key": "bench-secret-key-0123456789"},
                "security": {"encryption_key": generate_key()},
                "database": {"url": url},
                "storage": {"blob_dir": tempfile.mkdtemp()},
            }
        )
        runtime = build_runtime(settings)
        t = time.perf_counter()
        first = alerts.run_scan(runtime, owner="bench", now=NOW)
        print(
            f"  first scan (catch-up): {time.perf_counter() - t:.3f} s, {first.issued:,} alerts issued"
        )
        times = []
        for minute in range(1, 11):
            t = time.perf_counter()
            result = alerts.run_scan(runtime, owner="bench", now=NOW + timedelta(minutes=minute))
            times.append(time.perf_counter() - t)
            assert result.claimed
        print(
            f"  steady scan, 10 runs a minute apart: median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms"
        )
        with engine.connect() as conn:
            print(f"  alerts rows: {conn.scalar(sa.select(sa.func.count()).select_from(Alert)):,}")
        _plans(engine)
        runtime.engine.dispose()
        engine.dispose()
    finally:
        if created:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1_000_000)
    parser.add_argument("--backend", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backend.split(","):
        run(backend, args.threads)


if __name__ == "__main__":
    main()

"""Benchmark: the reports page for a 90-day period, and the CSV export of all threads, on a large database.

Builds a migrated database on SQLite (temporary file) and/or PostgreSQL (a database created
here and dropped afterwards), fills it in chunks with Core ``insert()`` executemany: threads
spread over two years, ``--messages`` messages per thread (short bodies: the reports never
read messages, they only make the database its real size: one INSERT ... SELECT per chunk,
without the search index unless ``--with-search-index``), one ``thread_facts`` row per
thread and a ``reply_facts`` row per reply (COPY on PostgreSQL). Then, through the Flask test client as an admin
(every mailbox): p50/p95 of ``GET /reports`` for the last 90 days (with the previous 90),
and the CSV export of every thread of the two years, streamed, with its time, the Python
heap peak (tracemalloc) and the process's peak RSS growth.

Run: .venv/bin/python bench/reports.py [--backend sqlite,postgresql] [--threads 1000000]
     [--messages 5] [--requests 20] [--keep /tmp/reports.sqlite] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
     [--pg-keep inbox_bench_reports]  (PostgreSQL database kept, and reused when it has threads)
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web import PASSWORD, database

from inbox import create_app
from inbox.crypto import generate_key
from inbox.db import make_engine
from inbox.models import (
    Contact,
    Mailbox,
    OutboxItem,
    ReplyFact,
    Thread,
    ThreadFact,
)
from inbox.schema import upgrade
from inbox.services import accounts

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime.now(UTC).replace(microsecond=0)
SPAN_DAYS = 730
CHUNK = 20000


def bulk_insert(conn: sa.Connection, model: type, rows: list[dict]) -> None:
    """Insert ``rows``: COPY on PostgreSQL (several times faster than INSERT), executemany on SQLite."""
    if not rows:
        return
    table = model.__table__
    if conn.dialect.name != "postgresql":
        conn.execute(sa.insert(table), rows)
        return
    from psycopg.types.json import Jsonb

    columns = [c.name for c in table.columns if any(c.name in r for r in rows[:1])]
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row([Jsonb(r[c]) if c in json_columns else r[c] for c in columns])


def _messages_sql(dialect: str, per_thread: int, first: int, last: int) -> str:
    """One INSERT ... SELECT of ``per_thread`` short messages for each thread ``first..last``:
    even ones from the customer, odd ones the assignee's replies (when the thread has a reply)."""
    json = "CAST('[]' AS jsonb)" if dialect == "postgresql" else "'[]'"
    ks = " UNION ALL ".join(f"SELECT {k} AS n, {1 - k % 2} AS even" for k in range(per_thread))
    mid = f"((t.id - 1) * {per_thread} + k.n + 1)"
    inbound = "(k.even = 1 OR f.first_reply_at IS NULL)"
    return f"""
        INSERT INTO messages (id, thread_id, mailbox_id, direction, kind, source_key, message_id,
            "references", subject, from_name, from_address, "to", cc, reply_to, received_at, text,
            new_text, parse_warnings, parse_failed, deleted_by_source, created_at, author_id)
        SELECT {mid}, t.id, t.mailbox_id, CASE WHEN {inbound} THEN 'inbound' ELSE 'outbound' END,
            'normal', 'bench:' || {mid}, '<' || {mid} || '@bench.example>', {json}, '配送について', '',
            'c@mail.example.jp', {json}, {json}, {json}, t.created_at, 'まだ届きません。',
            'まだ届きません。', {json}, FALSE, FALSE, t.created_at,
            CASE WHEN {inbound} THEN NULL ELSE t.assignee_id END
        FROM threads t JOIN thread_facts f ON f.thread_id = t.id CROSS JOIN ({ks}) k
        WHERE t.id BETWEEN {first} AND {last}"""


SEARCH_INDEX = {  # kept up on every message insert; the reports never use them
    "sqlite": ["DROP TRIGGER IF EXISTS messages_fts_ai", "DROP TRIGGER IF EXISTS messages_bigrams_ai"],
    "postgresql": ["DROP INDEX IF EXISTS ix_messages_search_trgm",
                   "DROP INDEX IF EXISTS ix_messages_search_bigrams"],
}


def fill(engine: sa.Engine, n_threads: int, per_thread: int, rnd: random.Random,
         search_index: bool = False) -> None:
    from sqlalchemy.orm import Session

    if not search_index:
        with engine.begin() as conn:
            for statement in SEARCH_INDEX[engine.dialect.name]:
                conn.exec_driver_sql(statement)

    with Session(engine) as s:
        boxes = [Mailbox(name=f"mailbox-{i}", kind="local", address=f"support{i}@shop.example")
                 for i in range(5)]  # fmt: skip
        s.add_all(boxes)
        s.flush()
        agents = [accounts.create_user(s, email=f"agent{i}@shop.example", name=f"担当{i}",
                                       password=PASSWORD, mailbox_ids=[b.id for b in boxes])
                  for i in range(10)]  # fmt: skip
        accounts.create_user(s, email="admin@shop.example", name="管理者", password=PASSWORD, role="admin")
        s.commit()
        box_ids, agent_ids = [b.id for b in boxes], [a.id for a in agents]
    n_contacts = max(n_threads // 5, 10)
    with engine.begin() as conn:
        for i in range(0, n_contacts, CHUNK):
            conn.execute(sa.insert(Contact.__table__), [
                {"id": c + 1, "address": f"customer{c}@mail.example.jp", "name": f"客{c}", "created_at": NOW}
                for c in range(i, min(n_contacts, i + CHUNK))])
    mid = oid = 0
    started = time.perf_counter()
    for first in range(1, n_threads + 1, CHUNK):
        threads, facts, outbox, reply_facts = [], [], [], []
        for tid in range(first, min(n_threads + 1, first + CHUNK)):
            box = box_ids[tid % 5]
            received = NOW - timedelta(seconds=rnd.randint(0, SPAN_DAYS * 86400))
            local = received.astimezone(TOKYO)
            answered = rnd.random() < 0.9
            first_reply = received + timedelta(minutes=rnd.randint(10, 3 * 24 * 60)) if answered else None
            resolved = first_reply + timedelta(hours=rnd.randint(1, 96)) if answered and rnd.random() < 0.8 else None
            if resolved and resolved > NOW:
                resolved = None
            if first_reply and first_reply > NOW:
                first_reply = None
            reopened = resolved is not None and rnd.random() < 0.05
            status = "resolved" if resolved and not reopened else "open"
            last = max(x for x in (received, first_reply, resolved) if x)
            assignee = rnd.choice(agent_ids)
            threads.append({
                "id": tid, "mailbox_id": box, "subject": f"注文{tid}の配送について",
                "normalized_subject": f"注文{tid}の配送について", "contact_id": tid % n_contacts + 1,
                "status": status, "assignee_id": assignee, "priority": "normal", "due_at": None,
                "due_set_by_hand": False, "last_activity_at": last, "last_inbound_at": received,
                "created_at": received, "message_count": per_thread, "external_meta": {}, "version": 1,
            })  # fmt: skip
            # messages are inserted by one INSERT ... SELECT per chunk (``_messages_sql``): the
            # reports never read them; their ids are (thread - 1) * per_thread + k + 1
            replies = [] if first_reply is None else [
                (tid - 1) * per_thread + k + 1 for k in range(per_thread) if k % 2 == 1]
            business = None if first_reply is None else int((first_reply - received).total_seconds() * 0.35)
            facts.append({
                "thread_id": tid, "mailbox_id": box, "received_at": received, "received_day": local.date(),
                "received_dow": local.weekday(), "received_hour": local.hour,
                "first_reply_at": first_reply, "first_reply_by_id": assignee if first_reply else None,
                "first_reply_day": first_reply.astimezone(TOKYO).date() if first_reply else None,
                "first_reply_due_at": received + timedelta(days=1) if first_reply else None,
                "first_response_business_s": business,
                "first_response_wall_s": None if first_reply is None else int((first_reply - received).total_seconds()),
                "replied_within_deadline": None if first_reply is None else first_reply <= received + timedelta(days=1),
                "replies_count": len(replies) if first_reply else 0,
                "first_resolved_at": resolved, "replies_at_first_resolve": 1 if resolved else None,
                "first_resolved_day": resolved.astimezone(TOKYO).date() if resolved else None,
                "first_reopened_at": resolved + timedelta(days=2) if reopened else None,
                "first_reopen_after_s": 2 * 86400 if reopened else None,
                "resolved_at": None if reopened else resolved,
                "resolved_day": resolved.astimezone(TOKYO).date() if resolved and not reopened else None,
                "resolution_business_s": int((resolved - received).total_seconds() * 0.35) if resolved and not reopened else None,
                "resolution_wall_s": int((resolved - received).total_seconds()) if resolved and not reopened else None,
                "reopened_count": 1 if reopened else 0,
            })  # fmt: skip
            if first_reply is not None:
                for n, message_id in enumerate(replies):
                    oid += 1
                    at = first_reply + timedelta(hours=n * 5)
                    outbox.append({"id": oid, "kind": "reply", "mailbox_id": box, "thread_id": tid,
                                   "message_row_id": message_id, "idempotency_key": f"b{oid}",
                                   "recipients": [], "payload": {}, "status": "sent", "attempts": 1,
                                   "next_attempt_at": at, "sent_at": at, "created_at": at})  # fmt: skip
                    reply_facts.append({"id": oid, "outbox_id": oid, "thread_id": tid, "mailbox_id": box,
                                        "author_id": assignee, "delivered_at": at,
                                        "delivered_day": at.astimezone(TOKYO).date(),
                                        "due_at": received + timedelta(days=1) if n == 0 else None,
                                        "within_deadline": (at <= received + timedelta(days=1)) if n == 0 else None})  # fmt: skip
        done = min(n_threads, first + CHUNK - 1)
        mid = done * per_thread
        with engine.begin() as conn:
            bulk_insert(conn, Thread, threads)
            bulk_insert(conn, ThreadFact, facts)
            conn.exec_driver_sql(_messages_sql(conn.dialect.name, per_thread, first, done))
            for table, rows in ((OutboxItem, outbox), (ReplyFact, reply_facts)):
                bulk_insert(conn, table, rows)
        print(f"  {done} threads, {mid} messages ({time.perf_counter() - started:.0f} s)", flush=True)
    pg = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        if pg:
            for seq, n in (("threads_id_seq", n_threads), ("messages_id_seq", mid), ("outbox_id_seq", oid),
                           ("reply_facts_id_seq", oid), ("contacts_id_seq", n_contacts)):
                conn.exec_driver_sql(f"SELECT setval('{seq}', {max(n, 1)})")
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


@contextmanager
def _database(backend: str, args: argparse.Namespace, keep: str | None) -> Iterator[str]:
    """``web.database``, or with ``--pg-keep`` a PostgreSQL database created once and kept."""
    if backend != "postgresql" or not args.pg_keep:
        with database(backend, args.pg_url, keep) as url:
            yield url
        return
    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": args.pg_keep}):
            conn.exec_driver_sql(f'CREATE DATABASE "{args.pg_keep}"')
    admin.dispose()
    yield sa.engine.make_url(args.pg_url).set(database=args.pg_keep).render_as_string(False)


def run(backend: str, args: argparse.Namespace) -> None:
    rnd = random.Random(20261201)
    keep = args.keep if backend == "sqlite" else None
    with _database(backend, args, keep) as url:
        engine = make_engine(url)
        t0 = time.perf_counter()
        upgrade(engine)
        print(f"[{backend}] migrations to head: {time.perf_counter() - t0:.1f} s", flush=True)
        with engine.connect() as conn:
            have = conn.scalar(sa.select(sa.func.count()).select_from(Thread.__table__))
        if not have:
            t0 = time.perf_counter()
            fill(engine, args.threads, args.messages, rnd, args.with_search_index)
            print(f"[{backend}] filled {args.threads} threads in {time.perf_counter() - t0:.0f} s")
        engine.dispose()
        app = create_app({
            "server": {"secret_key": "bench-secret-key-0123456789"},
            "security": {"encryption_key": generate_key()},
            "database": {"url": url}, "storage": {"blob_dir": "/tmp/bench-reports-blobs"},
            "scheduler": {"enabled": False},
        })
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        token = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post("/login", data={"email": "admin@shop.example", "password": PASSWORD, "csrf_token": token})
        today = NOW.astimezone(TOKYO).date()
        page = f"/reports?start={today - timedelta(days=89)}&end={today}"
        for _ in range(2):
            assert client.get(page).status_code == 200
        samples = []
        for _ in range(args.requests):
            t = time.perf_counter()
            resp = client.get(page)
            samples.append(time.perf_counter() - t)
            assert resp.status_code == 200
        samples.sort()
        p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
        print(f"[{backend}] GET /reports (90 days + previous 90), {args.requests} requests: "
              f"p50 {statistics.median(samples) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")

        if args.skip_export:
            return
        export = f"/reports/export/threads.csv?start={today - timedelta(days=SPAN_DAYS)}&end={today}"
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        t = time.perf_counter()
        resp = client.get(export, buffered=False)
        size = lines = 0
        for chunk in resp.response:
            size += len(chunk)
            lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        resp.close()
        took = time.perf_counter() - t
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"[{backend}] CSV export of all threads: {lines - 1} rows, {size / 1e6:.0f} MB in {took:.1f} s; "
              f"Python heap peak {peak / 1e6:.1f} MB (tracemalloc), process peak RSS "
              f"{rss_after / 1024:.0f} MB (+{(rss_after - rss_before) / 1024:.0f} MB during the export)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--threads", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--skip-export", action="store_true", help="Measure the page only.")
    parser.add_argument("--with-search-index", action="store_true",
                        help="Keep the full-text search index of messages up while filling (slow; "
                             "without it the messages are there but not searchable).")
    parser.add_argument("--keep", help="SQLite only: database file kept (and reused when it exists).")
    parser.add_argument("--pg-keep", help="PostgreSQL only: name of a database kept (and reused when it has threads).")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for backend in args.backend.split(","):
        run(backend, args)


if __name__ == "__main__":
    main()

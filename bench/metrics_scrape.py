"""Benchmark: one /metrics scrape's database work, and erasing one customer, on a large database.

Run: .venv/bin/python bench/metrics_scrape.py [--messages 200000] [--backend sqlite,postgresql]

PostgreSQL comes from INBOX_TEST_DATABASE_URL (default postgres@127.0.0.1:5432/test); a
throwaway database is created and dropped. Messages are spread over 5 mailboxes and 20,000
customers (one thread each, about 10 messages a thread). After VACUUM ANALYZE (as autovacuum would), prints the median of 5 scrapes
(mailbox, outbox, ingest and job figures, as the /metrics collector reads them), then the time
to erase one customer (about 10 messages) and commit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from inbox.db import make_engine
from inbox.models import Contact, Mailbox, MailboxKind, Message, Thread
from inbox.schema import upgrade
from inbox.services import health, retention

PG_URL = os.environ.get("INBOX_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
CUSTOMERS = 20_000


def seed(engine: sa.Engine, messages: int) -> None:
    with Session(engine) as s:
        boxes = [Mailbox(name=f"box{n}", kind=MailboxKind.LOCAL, last_success_at=NOW) for n in range(5)]
        s.add_all(boxes)
        s.flush()
        s.execute(sa.insert(Contact), [{"address": f"c{n}@example.jp", "name": f"顧客{n}"} for n in range(CUSTOMERS)])
        s.execute(sa.insert(Thread), [
            {"mailbox_id": boxes[n % 5].id, "subject": f"注文{n}", "contact_id": n + 1, "status": "resolved",
             "last_activity_at": NOW, "message_count": 0} for n in range(CUSTOMERS)])
        rows = []
        for m in range(messages):
            t = m % CUSTOMERS
            rows.append({"thread_id": t + 1, "mailbox_id": boxes[t % 5].id, "direction": "inbound",
                         "source_key": f"k{m}", "from_address": f"c{t}@example.jp", "subject": f"注文{t}",
                         "received_at": NOW - timedelta(minutes=m), "text": f"商品番号{m}が届きません",
                         "parse_failed": m % 997 == 0})
            if len(rows) == 10_000:
                s.execute(sa.insert(Message), rows)
                rows = []
        if rows:
            s.execute(sa.insert(Message), rows)
        s.commit()


PARTS = {
    "mailboxes": lambda s: health.mailboxes(s, now=NOW),
    "outbox": lambda s: health.outbox(s, now=NOW),
    "ingest": health.ingest,
    "jobs": health.job_durations,
    "outbox per mailbox": lambda s: health.outbox_by_mailbox(s, now=NOW),
}


def scrape(engine: sa.Engine, parts: dict[str, list[float]]) -> None:
    with Session(engine) as s:
        for name, fn in PARTS.items():
            t = time.perf_counter()
            fn(s)
            parts.setdefault(name, []).append(time.perf_counter() - t)


def run(url: str, messages: int, label: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    t = time.perf_counter()
    seed(engine, messages)
    print(f"{label}: seeded {messages} messages in {time.perf_counter() - t:.1f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:  # as autovacuum would
        c.execute(sa.text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    times: list[float] = []
    parts: dict[str, list[float]] = {}
    for _ in range(5):
        t = time.perf_counter()
        scrape(engine, parts)
        times.append(time.perf_counter() - t)
    print(f"{label}: /metrics database work, median of 5: {statistics.median(times) * 1000:.0f} ms ("
          + ", ".join(f"{k} {statistics.median(v) * 1000:.0f}" for k, v in parts.items()) + ")")
    t = time.perf_counter()
    with Session(engine) as s:
        counts = retention.erase_customer(s, "c123@example.jp", actor_id=None, now=NOW)
        s.commit()
    print(f"{label}: erase one customer ({counts.messages} messages): {(time.perf_counter() - t) * 1000:.0f} ms")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--backend", default="sqlite,postgresql")
    args = parser.parse_args()
    backends = args.backend.split(",")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.sqlite", args.messages, "sqlite")
    if "postgresql" in backends:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {name}"))
        try:
            run(PG_URL.rsplit("/", 1)[0] + f"/{name}", args.messages, "postgresql")
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
            admin.dispose()


if __name__ == "__main__":
    main()

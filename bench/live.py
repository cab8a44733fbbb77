"""Benchmark: what 200 idle open queue pages cost while they poll for changes (inbox.web.live).

Each open page polls its own URL every 3 s with If-None-Match (static/live.js); nothing
changes meanwhile, so every poll is answered 304 after the version query. The figures are
per minute for 200 pages (200 × 20 = 4,000 polls a minute): CPU seconds of the app process
(Flask, SQLAlchemy and, on SQLite, the database engine itself), CPU seconds of the
PostgreSQL backends serving the app (read from /proc), and SQL statements (writes apart). Then one
change (a note on a thread) and the cost of the 200 renders it causes.

Uses bench/web.py's data (10 agents of 5 mailboxes; default 10,000 threads here) and the
Flask test client: 200 logged-in clients, 20 per agent.

Run: .venv/bin/python bench/live.py [--backend sqlite,postgresql] [--threads 10000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import re
import resource
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from inbox import create_app
from inbox.crypto import generate_key
from inbox.db import make_engine, utcnow
from inbox.models import User
from inbox.schema import upgrade
from inbox.services import notes

_spec = importlib.util.spec_from_file_location("bench_web", Path(__file__).with_name("web.py"))
bench_web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_web)

PAGES, AGENTS, POLL_S = 200, 10, 3


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class PostgresBackends:
    """CPU seconds of the PostgreSQL backends serving the app's own connections (from /proc;
    the server and the benchmark share the machine). Other sessions' backends are left out."""

    def __init__(self, engine: sa.Engine) -> None:
        self.pids: set[int] = set()
        sa.event.listen(engine, "connect", self._connected)
        engine.dispose()  # connect again, through the listener

    def _connected(self, dbapi_connection, record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        self.pids.add(cursor.fetchone()[0])
        cursor.close()

    def cpu(self) -> float:
        total = 0.0
        for pid in self.pids:
            try:
                text = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


class Counter:
    def __init__(self, engine: sa.Engine) -> None:
        self.reads = self.writes = 0
        sa.event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.writes += 1
        else:
            self.reads += 1


def _log_in(app, email: str):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)
    r = client.post("/login", data={"email": email, "password": bench_web.PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.status_code
    return client


def _open(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'data-etag="([^"]+)"', html).group(1)


def measure(app, engine_pg: bool, rounds: int) -> None:
    counter = Counter(app.extensions["inbox"].engine)
    backends = PostgresBackends(app.extensions["inbox"].engine) if engine_pg else None
    pages = []
    for i in range(PAGES):
        client = _log_in(app, f"agent{i % AGENTS}@shop.example")
        path = "/" if i % 4 else "/?view=mine"
        pages.append([client, path, _open(client, path)])
    polls = PAGES * 60 // POLL_S
    per_minute = polls / (PAGES * rounds)

    def poll_all() -> dict[int, int]:
        codes: dict[int, int] = {}
        for page in pages:
            client, path, etag = page
            r = client.get(path, headers={"X-Inbox-Live": "1", "If-None-Match": f'"{etag}"'})
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
            if r.status_code == 200:
                page[2] = r.headers["ETag"].strip('"')
        return codes

    poll_all()  # warm up
    counter.reads = counter.writes = 0
    cpu0, pg0, wall0 = _cpu(), backends.cpu() if backends else 0.0, time.perf_counter()
    codes: dict[int, int] = {}
    for _ in range(rounds):
        for code, n in poll_all().items():
            codes[code] = codes.get(code, 0) + n
    cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
    pg = (backends.cpu() - pg0) if backends else 0.0
    n = PAGES * rounds
    print(f"  idle: {n} polls {codes}, {wall / n * 1000:.2f} ms wall per poll")
    print(f"  per minute for {PAGES} pages ({polls} polls): app CPU {cpu * per_minute:.1f} s"
          + (f", PostgreSQL CPU {pg * per_minute:.1f} s" if engine_pg else "")
          + f", {counter.reads * per_minute:,.0f} reads + {counter.writes * per_minute:,.0f} writes"
          + f" ({counter.reads / n:.1f} + {counter.writes / n:.1f} per poll)")

    with app.extensions["inbox"].Session() as session:  # one change: every page renders once
        notes.add_note(session, 1, "bench", by=session.get(User, 1), now=utcnow())
        session.commit()
    counter.reads = counter.writes = 0
    cpu0, wall0 = _cpu(), time.perf_counter()
    codes = poll_all()
    cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
    print(f"  after one change: {codes}, app CPU {cpu:.2f} s, {wall:.2f} s wall, "
          f"{counter.reads / PAGES:.1f} reads per poll")


def run(backend: str, args: argparse.Namespace) -> None:
    with bench_web.database(backend, args.pg_url, None) as url:
        engine = make_engine(url)
        upgrade(engine)
        if backend == "postgresql":  # bench/web.py's fill drops and rebuilds these trigram
            with engine.begin() as conn:  # indexes, which the schema no longer has
                for col in ("text", "subject", "from_address"):
                    conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS ix_messages_{col}_trgm "
                                         f"ON messages USING gin ({col} gin_trgm_ops)")
        bench_web.fill(engine, args.threads, 2, random.Random(42))
        engine.dispose()
        print(f"\n== {backend}: {args.threads:,} threads, {PAGES} open queue pages polling every {POLL_S} s")
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app({
                "server": {"secret_key": "bench-secret-key-0123456789"},
                "security": {"encryption_key": generate_key()},
                "database": {"url": url}, "storage": {"blob_dir": tmp},
                "scheduler": {"enabled": False},
            })  # fmt: skip
            measure(app, backend == "postgresql", args.rounds)
            app.extensions["inbox"].engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for backend in args.backend.split(","):
        run(backend, args)


if __name__ == "__main__":
    main()

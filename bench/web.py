"""Benchmark: queue, thread and search pages on a large database (100,000 threads / 500,000 messages).

Builds a migrated database on SQLite (temporary file) and/or PostgreSQL (a dedicated
database created here and dropped afterwards), fills it with Core ``insert()`` executemany,
then times pages through the Flask test client as a logged-in agent of all five mailboxes
(the widest queue) and prints p50/p95 per page plus EXPLAIN of the queue and search SQL.

Run: .venv/bin/python bench/web.py [--backend sqlite,postgresql] [--threads 100000]
     [--messages 5] [--requests 200] [--warmup 20] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from inbox import create_app
from inbox.crypto import generate_key
from inbox.db import make_engine
from inbox.models import (
    Contact,
    Mailbox,
    Message,
    Thread,
    ThreadTag,
)
from inbox.schema import upgrade
from inbox.services import accounts

PASSWORD = "bench-password-1"
NOW = datetime.now(UTC).replace(microsecond=0)
SURNAMES = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水 山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川".split()
GIVEN = "太郎 花子 結衣 陽翔 美咲 蓮 葵 湊 さくら 大翔 凛 悠真 陽菜 颯 莉子 健太 真央 翔 愛 誠".split()
PRODUCTS = ["有田焼のマグカップ", "南部鉄器の急須", "今治タオル", "抹茶セット", "信楽焼の花瓶",
            "備前焼の湯呑み", "江戸切子のグラス", "ほうじ茶ティーバッグ", "波佐見焼のお皿", "竹の箸"]
JA_SUBJECTS = ["{p}の配送について", "{p}の返品について", "注文番号{o}のキャンセル", "{p}の在庫確認",
               "領収書の発行依頼（注文{o}）", "{p}のサイズ交換", "ポイントが付与されていません",
               "お届け先の変更（注文{o}）", "{p}が破損していました", "ギフト包装について"]
JA_BODIES = [
    "{n}様\nいつもご利用いただきありがとうございます。ご注文の{p}の配送が遅れております。申し訳ございません。",
    "お世話になっております。{n}です。注文番号{o}で購入した{p}について、返品の手続きを教えてください。",
    "{p}を注文したのですが、まだ届きません。発送予定日を教えていただけますか。{n}",
    "先日届いた{p}が割れていました。写真を添付しますので交換をお願いします。{n}",
    "{n}様\nお問い合わせありがとうございます。{p}は来週入荷予定です。入荷次第ご連絡いたします。",
    "注文{o}の届け先を変更したいです。新しい住所は東京都世田谷区です。よろしくお願いいたします。{n}",
]
EN_SUBJECTS = ["Question about order {o}", "Wholesale inquiry: {p}", "Damaged {p} on arrival",
               "Shipping to Singapore", "Invoice with wrong VAT (order {o})"]
EN_BODIES = [
    "Hello, I ordered {p} (order {o}) two weeks ago and it has not arrived yet. Could you check?",
    "Hi team, we run a cafe and would like wholesale prices for {p}. Best regards",
    "Dear {n}, thank you for your message. We have shipped a replacement today.",
]


def timings(fn: Callable[[], object], n: int, warmup: int) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


@contextmanager
def database(backend: str, pg_url: str, keep: str | None) -> Iterator[str]:
    if backend == "sqlite" and keep:
        yield f"sqlite:///{keep}"
        return
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite"
        return
    name = f"inbox_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield str(sa.engine.make_url(pg_url).set(database=name).render_as_string(False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def fill(engine: sa.Engine, n_threads: int, per_thread: int, rnd: random.Random) -> dict:
    """Insert mailboxes, agents, contacts, threads, tags and messages; returns what the timing needs."""
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        boxes = [Mailbox(name=f"mailbox-{i}", kind="local", address=f"support{i}@shop.example")
                 for i in range(5)]  # fmt: skip
        s.add_all(boxes)
        s.flush()
        agents = [
            accounts.create_user(s, email=f"agent{i}@shop.example", name=f"担当{i}", password=PASSWORD,
                                 mailbox_ids=[b.id for b in boxes])
            for i in range(10)
        ]  # fmt: skip
        s.commit()
        box_ids, agent_ids = [b.id for b in boxes], [a.id for a in agents]
    n_contacts = max(n_threads // 5, 10)
    names = [f"{rnd.choice(SURNAMES)}{rnd.choice(GIVEN)}" for _ in range(n_contacts)]
    contacts = [{"id": i + 1, "address": f"customer{i}@mail.example.jp", "name": names[i],
                 "created_at": NOW} for i in range(n_contacts)]  # fmt: skip
    threads, tags, messages = [], [], []
    mid = 0
    for tid in range(1, n_threads + 1):
        c = rnd.randrange(n_contacts)
        ja = rnd.random() < 0.8
        p, o = rnd.choice(PRODUCTS), rnd.randint(100000, 999999)
        subject = (rnd.choice(JA_SUBJECTS) if ja else rnd.choice(EN_SUBJECTS)).format(p=p, o=o)
        r = rnd.random()
        status = "resolved" if r < 0.7 else "new" if r < 0.8 else "open" if r < 0.92 else "waiting"
        age = timedelta(minutes=rnd.randint(5, 60 * 24 * (14 if status != "resolved" else 700)))
        last = NOW - age
        due = None
        if status in ("new", "open"):
            due = last + timedelta(hours=rnd.choice([4, 8, 24, 48]))
        assignee = None if status == "new" and rnd.random() < 0.8 else rnd.choice(agent_ids)
        box = box_ids[tid % 5]
        threads.append({
            "id": tid, "mailbox_id": box, "subject": subject, "normalized_subject": subject[:255],
            "contact_id": c + 1, "status": status, "assignee_id": assignee, "priority": "normal",
            "due_at": due, "due_set_by_hand": False, "last_activity_at": last,
            "last_inbound_at": last - timedelta(minutes=30), "created_at": last - timedelta(days=1),
            "message_count": per_thread, "external_meta": {}, "version": 1,
        })  # fmt: skip
        if rnd.random() < 0.2:
            tags.append({"thread_id": tid, "tag": rnd.choice(["VIP", "返品", "法人", "至急"])})
        for k in range(per_thread):
            mid += 1
            inbound = k % 2 == 0
            body = (rnd.choice(JA_BODIES) if ja else rnd.choice(EN_BODIES)).format(
                n=names[c] + ("様" if ja else ""), p=p, o=o
            )
            messages.append({
                "id": mid, "thread_id": tid, "mailbox_id": box,
                "direction": "inbound" if inbound else "outbound", "kind": "normal",
                "source_key": f"bench:{mid}", "message_id": f"<{mid}@bench.example>",
                "references": [], "subject": subject if k == 0 else f"Re: {subject}",
                "from_name": names[c] if inbound else "サポート",
                "from_address": f"customer{c}@mail.example.jp" if inbound else f"support{box}@shop.example",
                "to": [], "cc": [], "reply_to": [], "sent_at": last,
                "received_at": last - timedelta(hours=per_thread - k), "text": body,
                "new_text": body, "parse_warnings": [], "parse_failed": False,
                "deleted_by_source": False, "created_at": last,
            })  # fmt: skip
    pg = engine.dialect.name == "postgresql"
    # The search indexes of migration 0011 (over the folded text), as that migration makes them.
    folded = "inbox_search_text(subject, from_name, from_address, text)"
    search_indexes = {
        "ix_messages_search_trgm": f"CREATE INDEX ix_messages_search_trgm ON messages USING gin ({folded} gin_trgm_ops)",
        "ix_messages_search_bigrams": "CREATE INDEX ix_messages_search_bigrams ON messages "
        f"USING gin (inbox_bigrams({folded}, '', ''))",
    }
    with engine.begin() as conn:
        if pg:  # bulk-load habit: build the GIN indexes once after the load
            for ix in search_indexes:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {ix}")
        for table, rows in ((Contact, contacts), (Thread, threads), (ThreadTag, tags),
                            (Message, messages)):  # fmt: skip
            for i in range(0, len(rows), 20000):
                conn.execute(sa.insert(table.__table__), rows[i : i + 20000])
        if pg:
            for create in search_indexes.values():
                conn.exec_driver_sql(create)
            for seq, n in (("threads_id_seq", n_threads), ("messages_id_seq", mid), ("contacts_id_seq", n_contacts)):
                conn.exec_driver_sql(f"SELECT setval('{seq}', {n})")
    with engine.connect() as conn:
        if pg:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    if not pg:  # fold the load's WAL back into the main file, outside any transaction
        raw = engine.raw_connection()
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
    return {"agent_email": "agent0@shop.example", "thread_ids": list(range(1, n_threads + 1))}


class SqlRecorder:
    """Keeps the SQL of one request, to EXPLAIN exactly what the page ran."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine, self.statements, self.on = engine, [], False
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on:
            self.statements.append((statement, parameters))

    def explain(self, needle: str) -> str:
        statement, params = next((s, p) for s, p in self.statements if needle in s)
        pg = self.engine.dialect.name == "postgresql"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(prefix + statement, params).all()
        body = "\n".join(str(r[0]) if pg else f"{r[0]:>4} {r[1]:>4} {r[-1]}" for r in rows)
        return f"-- SQL:\n{statement}\n-- params: {params}\n-- plan:\n{body}"


def run(backend: str, args: argparse.Namespace) -> None:
    rnd = random.Random(42)
    with database(backend, args.pg_url, args.keep_sqlite) as url:
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        with engine.connect() as conn:
            filled = conn.scalar(sa.text("SELECT count(*) FROM threads"))
        if filled:  # a kept SQLite file from an earlier run
            info = {"agent_email": "agent0@shop.example", "thread_ids": list(range(1, filled + 1))}
        else:
            info = fill(engine, args.threads, args.messages, rnd)
        load = time.perf_counter() - t0
        with engine.connect() as conn:
            counts = [conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in ("threads", "messages")]
        print(f"\n== {backend}: {counts[0]:,} threads / {counts[1]:,} messages, load {load:.0f} s")
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app({
                "server": {"secret_key": "bench-secret-key-0123456789"},
                "security": {"encryption_key": generate_key()},
                "database": {"url": url}, "storage": {"blob_dir": tmp},
                "scheduler": {"enabled": False},
            })  # fmt: skip
            time_pages(app, info, args, rnd)
            app.extensions["inbox"].engine.dispose()
        engine.dispose()


def time_pages(app, info: dict, args: argparse.Namespace, rnd: random.Random) -> None:
    import re

    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)
    r = client.post("/login", data={"email": info["agent_email"], "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.status_code
    first = client.get("/").get_data(as_text=True)
    cursor = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    ids = info["thread_ids"]
    pages: list[tuple[str, Callable[[], str]]] = [
        ("queue (default view)", lambda: "/"),
        ("queue page 2 (cursor)", lambda: cursor),
        ("queue all, by activity", lambda: "/?view=all"),
        ("queue one mailbox, overdue", lambda: "/?view=overdue&mailbox=1"),
        ("queue tag 返品", lambda: "/?tag=返品"),
        ("thread page", lambda: f"/threads/{rnd.choice(ids)}"),
        ("search 高橋結衣 (name, 4 chars)", lambda: "/search?q=高橋結衣"),
        ("search 急須 交換 (2+2 chars)", lambda: "/search?q=急須+交換"),
        ("search マグカップ (common)", lambda: "/search?q=マグカップ"),
        ("search 配送 (2 chars, common)", lambda: "/search?q=配送"),
        ("search 漆器 (2 chars, no match)", lambda: "/search?q=漆器"),
        ("search customer123@ (address)", lambda: "/search?q=customer123@"),
    ]
    print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8}   ({args.requests} requests after {args.warmup} warm-up)")
    for name, url in pages:
        def hit(url=url, name=name):
            response = client.get(url())
            assert response.status_code == 200, (name, response.status_code)
        p50, p95 = timings(hit, args.requests, args.warmup)
        print(f"{name:34} {p50:8.1f} {p95:8.1f}")
    engine = app.extensions["inbox"].engine
    recorder = SqlRecorder(engine)
    for label, url, needle in (
        ("queue (default view)", "/", "ORDER BY threads.due_at"),
        ("queue all, by activity", "/?view=all", "ORDER BY threads.last_activity_at"),
        ("search 高橋結衣", "/search?q=高橋結衣", "ORDER BY messages.id DESC"),
        ("search 配送 (bigram index)", "/search?q=配送", "ORDER BY messages.id DESC"),
        ("search 漆器 (bigram index)", "/search?q=漆器", "ORDER BY messages.id DESC"),
    ):
        recorder.statements.clear()
        recorder.on = True
        client.get(url)
        recorder.on = False
        print(f"\n-- EXPLAIN {label}\n{recorder.explain(needle)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=5, help="messages per thread")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--keep-sqlite", help="SQLite file to fill once and reuse")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for backend in args.backend.split(","):
        run(backend, args)


if __name__ == "__main__":
    main()

"""Benchmark: what the hardening costs per request, per reply and per log line.

- an authenticated page (GET /settings) with the server-side log-in check, p50/p95 in ms,
  and the check alone (``login_sessions.resume``) in microseconds, with N other log-ins
  of other users in the table;
- ``build_mail`` of a Japanese reply (header cleaning, modern-policy checks, header block
  check) in ms per mail;
- the log redaction filter in microseconds per record (httpx-style request line).

Run: .venv/bin/python bench/hardening.py [--backend sqlite,postgresql] [--sessions 10000]
     [--requests 300] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from inbox import create_app
from inbox.crypto import generate_key
from inbox.db import make_engine
from inbox.models import LoginSession, Role, User
from inbox.outgoing.compose import build_mail
from inbox.schema import upgrade
from inbox.services import accounts, login_sessions
from inbox.sources import redact

PASSWORD = "bench-password-1"


@contextmanager
def database(backend: str, pg_url: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite"
        return
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))]


def bench_requests(backend: str, url: str, sessions: int, requests: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with sa.orm.Session(engine) as s:
        user = accounts.create_user(s, email="bench@example.test", name="bench", role=Role.AGENT,
                                    password=PASSWORD)  # fmt: skip
        others = [accounts.create_user(s, email=f"u{i}@example.test", name=f"u{i}") for i in range(50)]
        s.flush()
        s.execute(sa.insert(LoginSession), [
            {"user_id": others[i % 50].id, "token_hash": uuid.uuid4().hex + uuid.uuid4().hex,
             "remember": False, "created_at": now, "expires_at": now + timedelta(days=30)}
            for i in range(sessions)
        ])  # fmt: skip
        token = login_sessions.open_session(s, user, remember=False, now=now, lifetime=timedelta(days=30))
        s.commit()
        user_id = user.id
    with sa.orm.Session(engine) as s:
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            assert login_sessions.resume(s, user_id, token, now=now) is not None
            times.append((time.perf_counter() - start) * 1e6)
            s.rollback()
    print(f"{backend:<10} resume() with {sessions} other log-ins: p50 {pct(times, .5):7.0f} µs"
          f"  p95 {pct(times, .95):7.0f} µs")  # fmt: skip
    with sa.orm.Session(engine) as s:
        before = []
        for _ in range(requests):  # what the user loader did before: load the user by id
            start = time.perf_counter()
            assert s.get(User, user_id) is not None
            before.append((time.perf_counter() - start) * 1e6)
            s.rollback()
    print(f"{backend:<10} get(User) (the check before):    p50 {pct(before, .5):7.0f} µs"
          f"  p95 {pct(before, .95):7.0f} µs")  # fmt: skip
    app = create_app({
        "server": {"secret_key": "bench-secret-key-0123456789"},
        "security": {"encryption_key": generate_key()},
        "database": {"url": url}, "scheduler": {"enabled": False},
        "storage": {"blob_dir": tempfile.mkdtemp()},
    })  # fmt: skip
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]
    response = client.post("/login", data={"email": "bench@example.test", "password": PASSWORD,
                                           "csrf_token": csrf})  # fmt: skip
    assert response.status_code == 302
    times = []
    for i in range(requests + 20):
        start = time.perf_counter()
        assert client.get("/settings").status_code == 200
        if i >= 20:
            times.append((time.perf_counter() - start) * 1000)
    print(f"{backend:<10} GET /settings logged in:          p50 {pct(times, .5):7.2f} ms"
          f"  p95 {pct(times, .95):7.2f} ms")  # fmt: skip
    app.extensions["inbox"].engine.dispose()
    engine.dispose()


def bench_build_mail(count: int) -> None:
    times = []
    for i in range(count):
        start = time.perf_counter()
        build_mail(
            from_=("サンプル商店 サポート", "support@example.jp"),
            to=[("山田 太郎", "yamada@example.jp")], cc=[("佐藤 花子", "sato@example.jp")],
            subject=f"Re: 注文番号 {i} の配送について [#{i}]", text="ご連絡ありがとうございます。\n" * 20,
            message_id=f"inbox.{i}.abc@example.jp", date=datetime.now(UTC),
            in_reply_to="c1@example.jp", references=["root@example.jp", "c1@example.jp"],
            charset="iso-2022-jp" if i % 2 else "utf-8",
        )  # fmt: skip
        times.append((time.perf_counter() - start) * 1000)
    print(f"build_mail (half ISO-2022-JP): p50 {pct(times, .5):.3f} ms  p95 {pct(times, .95):.3f} ms")


def bench_redact(count: int) -> None:
    redact.remember_secret(*(f"secret-value-{i}" for i in range(20)))
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, 'HTTP Request: %s %s "%s"',
        ("GET", "https://api.example/es/1.0/x?licenseKey=abc&fromDate=2026-11-01", "HTTP/1.1 200 OK"), None,
    )  # fmt: skip
    flt = redact.RedactingFilter()
    start = time.perf_counter()
    for _ in range(count):
        record.msg, record.args = 'HTTP Request: %s %s "%s"', (
            "GET", "https://api.example/es/1.0/x?licenseKey=abc&fromDate=2026-11-01", "HTTP/1.1 200 OK")
        flt.filter(record)
    per = (time.perf_counter() - start) / count * 1e6
    print(f"redact filter, one request line, 20 known secrets: {per:.1f} µs per record")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for backend in args.backend.split(","):
        with database(backend, args.pg_url) as url:
            bench_requests(backend, url, args.sessions, args.requests)
    bench_build_mail(1000)
    bench_redact(20000)


if __name__ == "__main__":
    main()

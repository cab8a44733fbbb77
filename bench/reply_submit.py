"""Benchmark: submitting a reply with a large attachment while a scheduler-like writer runs (SQLite).

Builds a migrated SQLite database in a temporary directory, logs in through the Flask test
client and posts replies with one attachment of ``--mb`` MB. Meanwhile a second engine on the
same file writes one small transaction every 20 ms (as the scheduler's claims do) with
SQLite's default 5 s busy timeout. Prints per submit: seconds, and the writer's longest wait
for the write lock plus its "database is locked" errors during the submits.

Run: .venv/bin/python bench/reply_submit.py [--mb 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inbox import create_app
from inbox.crypto import generate_key
from inbox.db import make_engine
from inbox.schema import upgrade
from tests.factories import PASSWORD, make_mailbox, make_thread, make_user


class Writer(threading.Thread):
    """Small write transactions every 20 ms; records the longest wait and lock errors."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.stop = threading.Event()
        self.waits: list[float] = []
        self.locked = 0

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.text("UPDATE mailboxes SET poll_interval_seconds = poll_interval_seconds"))
            except OperationalError:
                self.locked += 1
            self.waits.append(time.perf_counter() - t0)
            time.sleep(0.02)

    def reset(self) -> None:
        self.waits, self.locked = [], 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/inbox.sqlite"
        engine = make_engine(url)
        upgrade(engine)
        with sa.orm.Session(engine) as s:
            box = make_mailbox(s, address="support@example.test",
                               settings={"smtp_host": "127.0.0.1", "smtp_security": "plain"})
            agent = make_user(s, mailboxes=[box])
            threads = [make_thread(s, box, f"件名 {n}", customer="c@example.jp").id for n in range(args.runs)]
            email = agent.email
            s.commit()
        app = create_app({
            "server": {"secret_key": "bench-secret-key-0123456789"},
            "security": {"encryption_key": generate_key()},
            "database": {"url": url}, "storage": {"blob_dir": f"{tmp}/blobs"},
            "scheduler": {"enabled": False},
        })  # fmt: skip
        client = app.test_client()
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                          client.get("/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        writer = Writer(url)
        writer.start()
        payload = os.urandom(args.mb * 1024 * 1024)
        print(f"reply with one {args.mb} MB attachment, SQLite, writer every 20 ms")
        times = []
        for thread_id in threads:
            html = client.get(f"/threads/{thread_id}/reply").get_data(as_text=True)
            fields = dict(re.findall(r'name="(csrf_token|reply_key|opened_at)" value="([^"]*)"', html))
            import io

            data = {**fields, "to": "c@example.jp", "subject": "Re", "body": "資料をお送りします。",
                    "attachments": (io.BytesIO(payload), "catalogue.pdf")}
            writer.reset()
            t0 = time.perf_counter()
            r = client.post(f"/threads/{thread_id}/reply", data=data,
                            content_type="multipart/form-data")
            took = time.perf_counter() - t0
            assert r.status_code == 302, (r.status_code, r.get_data(as_text=True)[:500])
            times.append(took)
            print(f"  submit {took:.2f} s; writer longest wait {max(writer.waits):.3f} s, "
                  f"'database is locked' {writer.locked}")
        writer.stop.set()
        writer.join()
        print(f"median submit {statistics.median(times):.2f} s over {len(times)}")
        app.extensions["inbox"].engine.dispose()
        engine.dispose()


if __name__ == "__main__":
    main()

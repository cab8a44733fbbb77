"""Kill -9 of a real ``inbox scheduler`` process while it delivers the outbox, against a real SMTP server.

The server records every DATA it accepts and answers each one a little late; each kill comes
a random number of sends into a round, at a random point of a send, so kills land before,
during and after sends. After every kill the dead process's claims are expired (as a
later round would once their lease ran out); at the end a last scheduler drains the queue.
Proof: no Message-ID arrives twice, every item is either sent and received once, or
``unknown`` with its attempt recorded as started; an item whose send never began was put back
in the queue and sent, never left waiting for a person.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

import inbox.senders  # noqa: F401  (registers the deliverers for expire_stale's hooks)
from inbox.db import make_engine, make_sessionmaker, utcnow
from inbox.models import OutboxItem, OutboxStatus
from inbox.services import alerts, outbox
from tests.conftest import ENCRYPTION_KEY
from tests.factories import make_mailbox

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SEED = 20261130
REPLIES, ALERTS, KILLS = 36, 12, 7


def _raw(n: int) -> tuple[str, bytes]:
    msg = EmailMessage()
    msg["From"] = "support@example.test"
    msg["To"] = f"customer{n}@example.jp"
    msg["Subject"] = f"お問い合わせ {n}"
    msg["Message-ID"] = f"<crash-{n}@example.test>"
    msg.set_content(f"返信 {n}\n")
    return msg["Message-ID"], msg.as_bytes()


def _config(tmp_path: Path, url: str, smtp_port: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[server]
secret_key = "test-secret-key-0123456789"
[security]
encryption_key = "{ENCRYPTION_KEY}"
[database]
url = "{url}"
[storage]
blob_dir = "{tmp_path / 'blobs'}"
[scheduler]
outbox_seconds = 1
alert_scan_seconds = 3600
[alerts]
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_security = "plain"
"""
    )
    return path


def _scheduler(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOX_")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from inbox.cli import main; main()",
             "--config", str(config), "scheduler"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def _statuses(Session) -> Counter[str]:
    with Session() as s:
        rows = s.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status))
        return Counter({status.value: n for status, n in rows})


def test_kill_9_during_delivery_sends_nothing_twice_and_loses_nothing(
    fresh_databases, smtp_server, tmp_path
):
    url = fresh_databases.migrated_url()
    engine = make_engine(url)
    Session = make_sessionmaker(engine)
    expected: dict[str, str] = {}  # Message-ID -> idempotency key
    with Session() as session:
        box = make_mailbox(
            session, address="support@example.test", active=False,
            settings={"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                      "smtp_security": "plain"},
        )
        now = utcnow()
        for n in range(REPLIES + ALERTS):
            mid, raw = _raw(n)
            kind = "reply" if n < REPLIES else alerts.KIND
            outbox.enqueue(
                session, kind=kind, idempotency_key=f"crash:{n}", now=now,
                mail_from="support@example.test", recipients=[f"customer{n}@example.jp"],
                raw=raw, mailbox_id=box.id if kind == "reply" else None,
            )
            expected[mid] = f"crash:{n}"
        session.commit()

    smtp_server.delay = 0.08
    config, log = _config(tmp_path, url, smtp_server.port), tmp_path / "scheduler.log"
    rng = random.Random(SEED)
    requeued = unknown = 0
    for _ in range(KILLS):
        proc = _scheduler(config, log)
        target, deadline = len(smtp_server.messages) + rng.randint(1, 6), time.monotonic() + 60
        while len(smtp_server.messages) < target and time.monotonic() < deadline:
            time.sleep(0.005)  # kill in the middle of a round, at a random point of a send
        time.sleep(rng.uniform(0, smtp_server.delay * 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        with Session() as session:  # the dead claims' lease runs out
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.status == OutboxStatus.SENDING)
                .values(claimed_until=utcnow() - timedelta(seconds=1))
            )
            counts = outbox.expire_stale(session, now=utcnow())
            session.commit()
        requeued, unknown = requeued + counts["requeued"], unknown + counts["unknown"]

    proc = _scheduler(config, log)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            left = _statuses(Session)
            if not left["queued"] and not left["sending"]:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)

    received = Counter(m.message()["Message-ID"] for m in smtp_server.messages)
    with Session() as session:
        items = {i.idempotency_key: i for i in session.scalars(select(OutboxItem))}
    engine.dispose()
    print(f"\nkills={KILLS} requeued-after-crash={requeued} unknown={unknown} "
          f"received={sum(received.values())} of {len(expected)}")

    assert [mid for mid, n in received.items() if n > 1] == [], "sent twice"
    assert set(received) <= set(expected)
    for mid, key in expected.items():
        item = items[key]
        if item.status == OutboxStatus.SENT:
            assert received[mid] == 1, (mid, "recorded sent but not received")
        else:
            assert item.status == OutboxStatus.UNKNOWN, (mid, item.status, item.last_error)
            assert item.attempt_started_at is not None, (mid, "unknown without an attempt")
    assert unknown == sum(1 for i in items.values() if i.status == OutboxStatus.UNKNOWN)
    assert requeued > unknown, "the kills should mostly catch claimed items not yet attempted"

"""Exactly once across processes: two scheduler processes plus a crash and restart, a real SMTP server, one simulated clock.

Run as ``python -m tests.services.test_alerts_processes`` it is the scheduler-like driver: it
calls ``alerts.run_scan`` (or, in "race" mode, the lease-free ``alerts.scan``) and
``outbox.deliver_due`` in a loop with an injected clock shared by every process: a file
holding the simulated time, which each loop takes and moves on by ``STEP`` under a file
lock (so no stage is skipped however slow a process is). Product code is not changed; the
crash hooks wrap it in the driver process only.

Environment: ``DRIVER_DB``, ``DRIVER_SMTP_PORT``, ``DRIVER_CLOCK`` (the file), ``DRIVER_END``
(ISO), ``DRIVER_OWNER``, ``DRIVER_MODE`` ("lease" or "race"), and
``DRIVER_KILL_AFTER_SCANS=N`` (SIGKILL right after the N-th scan committed, before delivering)
or ``DRIVER_KILL_AT_ISSUE=N`` (SIGKILL inside the N-th alert's transaction, before commit).
"""

from __future__ import annotations

import email
import email.policy
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
JST = ZoneInfo("Asia/Tokyo")
STEP = timedelta(minutes=15)  # far below the 3 h between any two stages of these threads
T0 = datetime(2026, 11, 24, 6, tzinfo=JST)  # Tue morning, before any stage starts
END = datetime(2026, 11, 26, 20, tzinfo=JST)


def _tick(path: str, step: timedelta) -> datetime:
    """The shared simulated time; ``step`` moves it on for the next caller."""
    with open(path, "r+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        now = datetime.fromisoformat(fh.read().strip())
        if step:
            fh.seek(0)
            fh.write((now + step).isoformat())
            fh.truncate()
    return now


def _driver() -> None:  # pragma: no cover - runs in the child processes
    from inbox.config import load_settings
    from inbox.runtime import build_runtime
    from inbox.services import alerts, outbox

    env = os.environ
    settings = load_settings(
        {
            "database": {"url": env["DRIVER_DB"]},
            "alerts": {
                "smtp_host": "127.0.0.1",
                "smtp_port": int(env["DRIVER_SMTP_PORT"]),
                "smtp_security": "plain",
            },
        }
    )
    runtime = build_runtime(settings)
    import inbox.senders  # noqa: F401

    # Simulated time runs ~15 min per loop, so a 5-minute sending lease would "expire" while a
    # live process is still talking SMTP; a day of simulated time is the same margin in real terms.
    outbox.LEASE = timedelta(days=1)

    path, end = env["DRIVER_CLOCK"], datetime.fromisoformat(env["DRIVER_END"])
    owner, mode = env["DRIVER_OWNER"], env["DRIVER_MODE"]
    kill_after, kill_at = (
        int(env.get("DRIVER_KILL_AFTER_SCANS", 0)),
        int(env.get("DRIVER_KILL_AT_ISSUE", 0)),
    )

    def clock() -> datetime:
        return _tick(path, timedelta(0))

    if kill_at:
        real_issue, calls = alerts.issue, [0]

        def issue(session, due, **kw):
            ok = real_issue(session, due, **kw)
            calls[0] += ok
            if calls[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)  # the alert is flushed, not committed
            return ok

        alerts.issue = issue
    scans = 0
    while (now := _tick(path, STEP)) < end:
        if mode == "lease":
            alerts.run_scan(runtime, owner=owner, now=now)
        else:
            alerts.scan(runtime.Session, settings, now=now)
        scans += 1
        if scans == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        outbox.deliver_due(runtime.Session, runtime, owner=owner, now=clock)
        time.sleep(0.005)
    for _ in range(3):
        outbox.deliver_due(runtime.Session, runtime, owner=owner, now=clock)
    runtime.engine.dispose()


def _start(env: dict[str, str], **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.services.test_alerts_processes"],
        cwd=ROOT,
        env={**env, **extra},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "crash"),
    [("lease", "DRIVER_KILL_AFTER_SCANS"), ("race", "DRIVER_KILL_AT_ISSUE")],
)
def test_each_alert_arrives_once_with_two_schedulers_and_a_restart(
    fresh_databases, smtp_server, tmp_path, mode, crash
):
    from inbox.db import make_engine, make_sessionmaker
    from inbox.models import OutboxItem, OutboxStatus, Role, Status
    from inbox.services import alerts
    from inbox.services.business_hours import BusinessCalendar, stage_starts
    from tests.conftest import ENCRYPTION_KEY
    from tests.factories import make_mailbox, make_thread, make_user

    url = fresh_databases.migrated_url()
    engine = make_engine(url)
    expected: set[str] = set()
    with make_sessionmaker(engine)() as session:
        box = make_mailbox(session, "support", timezone="Asia/Tokyo")
        agent = make_user(session, Role.AGENT, mailboxes=[box])
        make_user(session, Role.LEAD, mailboxes=[box])
        cal = BusinessCalendar(tz=JST)
        for n in range(24):
            due = datetime(2026, 11, 25 + n % 2, 12 + n % 7, 0, tzinfo=JST)
            thread = make_thread(
                session,
                box,
                f"件名 {n}",
                due_at=due,
                status=Status.OPEN,
                assignee_id=agent.id if n % 3 else None,
            )
            for stage in stage_starts(due, cal):
                key = alerts.idempotency_key(thread.id, stage, due.astimezone(UTC))
                expected.add(alerts.message_id_for(key))
        session.commit()

    clock = tmp_path / "clock"
    clock.write_text(T0.isoformat())
    env = {
        **os.environ,
        "INBOX_SECRET_KEY": "test-secret-key-0123456789",
        "INBOX_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "INBOX_BLOB_DIR": str(tmp_path / "blobs"),
        "DRIVER_DB": url,
        "DRIVER_SMTP_PORT": str(smtp_server.port),
        "DRIVER_CLOCK": str(clock),
        "DRIVER_END": END.isoformat(),
        "DRIVER_MODE": mode,
    }
    first = _start(env, DRIVER_OWNER="one", **{crash: "3"})
    second = _start(env, DRIVER_OWNER="two")
    _out, err = first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL, err.decode()
    restarted = _start(env, DRIVER_OWNER="one-again")
    for proc in (second, restarted):
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()

    ids = Counter(
        email.message_from_bytes(m.content, policy=email.policy.default)["Message-ID"]
        for m in smtp_server.messages
    )
    assert [mid for mid, n in ids.items() if n > 1] == []
    assert set(ids) == expected and len(expected) == 24 * 3
    with make_sessionmaker(engine)() as session:
        statuses = Counter(i.status for i in session.query(OutboxItem).filter_by(kind="alert"))
    assert statuses == {OutboxStatus.SENT: 24 * 3}
    engine.dispose()


if __name__ == "__main__":  # pragma: no cover
    _driver()

"""Exactly-once ingest under failure, against a real Dovecot: killed pollers, cut connections,
two scheduler processes, a message the parser chokes on, and after-fetch "move".

Every test ends with the same proof: each delivered Message-ID is stored exactly once and
none is missing. The subprocess tests run ``tests/ingest/poll_driver.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from inbox.config import load_settings
from inbox.db import utcnow
from inbox.ingest.notices import english
from inbox.jobs.poll import Poller
from inbox.models import JobClaim, Message, SourceCursor
from inbox.runtime import Runtime, build_runtime
from inbox.services import claims
from inbox.sources import imap
from tests.conftest import ENCRYPTION_KEY, base_config
from tests.ingest.test_poll import USER, imap_mailbox, raw_mail
from tests.support.dovecot_server import DovecotServer

pytestmark = pytest.mark.dovecot

REPO = Path(__file__).resolve().parents[2]
BATCH = 5


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    config = base_config(tmp_path, fresh_databases.migrated_url())
    settings = load_settings(config | {"ingest": {"batch_size": BATCH}}, environ={})
    rt = build_runtime(settings)
    yield rt
    rt.engine.dispose()


def message_ids(runtime: Runtime) -> Counter[str]:
    with runtime.Session() as s:
        return Counter(s.scalars(select(Message.message_id)))


def expected(ids: range) -> Counter[str]:
    return Counter(f"m{i}@example.jp" for i in ids)


def inbox_cursor(runtime: Runtime, box: int) -> int:
    with runtime.Session() as s:
        return s.scalar(
            select(SourceCursor.last_uid).where(
                SourceCursor.mailbox_id == box, SourceCursor.name == "INBOX"
            )
        )


# -- the subprocess driver --------------------------------------------------------------------


@dataclass
class DriverRun:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def wait(self, timeout: float = 60) -> DriverRun:
        self.proc.wait(timeout)
        return self

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    @property
    def events(self) -> list[dict[str, Any]]:
        text = self.log_path.read_text() if self.log_path.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["ev"] == kind]

    @property
    def owner(self) -> str:
        return self.of("start")[0]["owner"]

    def committed_uids(self) -> list[int]:
        return [uid for e in self.of("batch") for uid in e["uids"]]

    def explain(self) -> str:
        err = self.log_path.with_suffix(".err")
        return self.log_path.read_text() + (err.read_text() if err.exists() else "")


def start_driver(
    runtime: Runtime, box: int, tmp_path: Path, name: str, **env: str | int
) -> DriverRun:
    """Start ``python -m tests.ingest.poll_driver`` on ``box`` with the runtime's database."""
    s = runtime.settings
    environ = {k: v for k, v in os.environ.items() if not k.startswith("INBOX_")}
    environ |= {
        "PYTHONPATH": str(REPO),
        "INBOX_DATABASE_URL": s.database_url,
        "INBOX_SECRET_KEY": s.secret_key,
        "INBOX_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "INBOX_BLOB_DIR": str(s.blob_dir),
        "POLL_DRIVER_MAILBOX": str(box),
        "POLL_DRIVER_BATCH_SIZE": str(BATCH),
    }
    environ |= {f"POLL_DRIVER_{k.upper()}": str(v) for k, v in env.items()}
    log_path = tmp_path / f"driver-{name}.log"
    with log_path.open("wb") as out, log_path.with_suffix(".err").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.ingest.poll_driver"],
            cwd=tmp_path,  # no config.toml there: settings come from the environment only
            env=environ,
            stdout=out,
            stderr=err,
        )
    return DriverRun(proc, log_path)


def expire_lease(runtime: Runtime, box: int) -> None:
    """Let the dead process's lease run out (instead of waiting claim_seconds)."""
    with runtime.Session() as s:
        s.execute(
            update(JobClaim)
            .where(JobClaim.name == f"poll:{box}")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        s.commit()


@pytest.mark.parametrize(
    "hook, batch",
    [("kill_after_commit", 3), ("kill_before_commit", 4)],
    ids=["after-commit-of-batch-3", "mid-batch-4-before-commit"],
)
def test_killed_poller_restarts_without_duplicates_or_gaps(
    runtime: Runtime, dovecot: DovecotServer, tmp_path: Path, hook: str, batch: int
) -> None:
    dovecot.deliver_many(USER, [raw_mail(i) for i in range(40)])
    box = imap_mailbox(runtime, dovecot)

    first = start_driver(runtime, box, tmp_path, "first", **{hook: batch}).wait()
    assert first.returncode == -signal.SIGKILL, first.explain()
    assert first.of("kill")[0]["batch"] == batch
    # Three batches were committed either way; a batch killed before its commit left nothing.
    assert first.committed_uids() == list(range(1, 16))
    assert message_ids(runtime) == expected(range(15))
    assert inbox_cursor(runtime, box) == 15

    with runtime.Session() as s:  # the dead process still holds the lease ...
        assert claims.holder(s, f"poll:{box}", now=utcnow()) == first.owner
    assert Poller(runtime).poll(box).claimed is False  # ... so nobody polls until it expires
    expire_lease(runtime, box)

    second = start_driver(runtime, box, tmp_path, "second").wait()
    assert second.returncode == 0, second.explain()
    (done,) = second.of("done")
    assert (done["imported"], done["duplicates"]) == (25, 0)
    assert second.committed_uids() == list(range(16, 41))
    assert message_ids(runtime) == expected(range(40))
    assert inbox_cursor(runtime, box) == 40


def test_two_scheduler_processes_share_one_mailbox_without_duplicates(
    runtime: Runtime, dovecot: DovecotServer, tmp_path: Path, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers from two processes are a PostgreSQL deployment")
    box = imap_mailbox(runtime, dovecot)
    stop = tmp_path / "stop"
    drivers = [
        start_driver(runtime, box, tmp_path, name, stop_file=stop, interval=0.02)
        for name in ("a", "b")
    ]
    try:
        deadline = time.monotonic() + 20
        while not all(d.of("start") for d in drivers):  # both are up before mail arrives
            assert time.monotonic() < deadline and all(d.proc.poll() is None for d in drivers)
            time.sleep(0.05)
        for i in range(0, 60, 3):  # 60 messages over ~3 s, while both poll
            dovecot.deliver_many(USER, [raw_mail(j) for j in range(i, i + 3)])
            time.sleep(0.14)
        stop.touch()
        for d in drivers:
            d.wait(30)
    finally:
        for d in drivers:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
    for d in drivers:
        assert d.returncode == 0, d.explain()
        assert all(p["error"] is None for p in d.of("poll")), d.explain()

    assert message_ids(runtime) == expected(range(60))
    done = [d.of("done")[0] for d in drivers]
    assert sum(x["imported"] for x in done) == 60
    assert sum(x["duplicates"] for x in done) == 0  # nobody ever fetched what the other had

    # Claim windows [claim, release] of the two owners never overlap, every batch was
    # committed inside its owner's window, and together the batches cover UIDs 1..60 in order.
    windows = sorted((e["since"], e["t"], d.owner) for d in drivers for e in d.of("release"))
    assert all(d.of("release") for d in drivers), "each process polled at least once"
    for (_, end, a), (start, _, b) in itertools.pairwise(windows):
        assert start > end, f"{a} and {b} held the mailbox at the same time"
    batches = sorted((e["t"], d.owner, e["uids"]) for d in drivers for e in d.of("batch"))
    for t, owner, _ in batches:
        assert any(s <= t <= e and o == owner for s, e, o in windows)
    assert [uid for _, _, uids in batches for uid in uids] == list(range(1, 61))


# -- in-process failures ----------------------------------------------------------------------


class CuttingProxy:
    """TCP proxy to Dovecot that cuts its first connection once the server has sent
    ``cut_after`` bytes, so the cut lands inside a FETCH answer; later connections pass."""

    def __init__(self, target: int, cut_after: int) -> None:
        self.target, self.cut_after = target, cut_after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = self.cuts = 0
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._socks += [client, upstream]
            self.connections += 1
            limit = self.cut_after if self.connections == 1 else None
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, limit), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: limit - sent])
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        for s in self._socks:
            s.close()


def big_mail(i: int) -> bytes:
    return raw_mail(i).replace(b"\r\n\r\n", b"\r\n\r\n" + b"x" * 20_000 + b"\r\n", 1)


def test_connection_cut_mid_fetch_is_retried_and_each_message_stored_once(
    runtime: Runtime, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.deliver_many(USER, [big_mail(i) for i in range(20)])  # ~20 KB each
    proxy = CuttingProxy(dovecot.port, cut_after=150_000)  # inside the 2nd FETCH (~100 KB each)
    sleeps: list[float] = []
    monkeypatch.setattr(
        imap, "with_retries", functools.partial(imap.with_retries, sleep=sleeps.append)
    )
    try:
        box = imap_mailbox(runtime, dovecot, imap_port=proxy.port)
        result = Poller(runtime).poll(box)
    finally:
        proxy.close()
    assert (proxy.cuts, proxy.connections, sleeps) == (1, 2, [1.0])
    assert result.error is None
    assert (result.counts.imported, result.counts.duplicates) == (20, 0)
    assert message_ids(runtime) == expected(range(20))
    assert inbox_cursor(runtime, box) == 20


def test_poison_message_is_stored_raw_and_flagged_and_the_batch_goes_on(
    runtime: Runtime, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inbox.ingest import store

    real_parse = store.parse_message

    def parse(raw: bytes, **kw: Any):
        if b"<m2@example.jp>" in raw:
            raise ValueError("parser bug")
        return real_parse(raw, **kw)

    monkeypatch.setattr(store, "parse_message", parse)
    raws = [raw_mail(i) for i in range(10)]  # m2 sits in the middle of the first batch
    dovecot.deliver_many(USER, raws)
    box = imap_mailbox(runtime, dovecot)
    result = Poller(runtime).poll(box)
    assert result.error is None
    assert (result.counts.imported, result.counts.duplicates) == (10, 0)

    with runtime.Session() as s:
        rows = {m.source_key.rsplit(":", 1)[1]: m for m in s.scalars(select(Message))}
        poison_raw = store.raw_source(s, rows["3"].raw_sha256)
    assert sorted(rows, key=int) == [str(uid) for uid in range(1, 11)]
    poison = rows["3"]
    assert poison.parse_failed and "could not be read (ValueError)" in english(poison.parse_warnings[0])
    assert poison_raw == raws[2]  # the exact bytes are kept
    assert not any(m.parse_failed for uid, m in rows.items() if uid != "3")
    assert Counter(m.message_id for uid, m in rows.items() if uid != "3") == expected(
        [i for i in range(10) if i != 2]
    )

    # Fetched again under a new UIDVALIDITY, the unreadable one is not stored twice either.
    dovecot.set_uidvalidity(USER, "INBOX", 424242)
    again = Poller(runtime).poll(box)
    assert (again.error, again.counts.imported, again.counts.duplicates) == (None, 0, 10)


def test_move_after_fetch_happens_only_after_the_commit(
    runtime: Runtime, dovecot: DovecotServer
) -> None:
    c = dovecot.client(USER)
    c.create_folder("Archive")
    c.logout()
    dovecot.deliver_many(USER, [raw_mail(i) for i in range(12)])
    box = imap_mailbox(runtime, dovecot, after_fetch="move", move_to="Archive")

    seen: list[tuple[list[int], int, int]] = []

    class WatchedConnection(imap.ImapConnection):
        """The real connection, noting what was committed when each move starts."""

        def after_batch(self, folder: str, uids: list[int]) -> None:
            with runtime.Session() as s:  # a separate session sees only committed rows
                keys = set(s.scalars(select(Message.source_key)))
            committed = sum(1 for k in keys if int(k.rsplit(":", 1)[1]) in uids)
            seen.append((uids, committed, dovecot.status(USER)["messages"]))
            super().after_batch(folder, uids)

    runtime = dataclasses.replace(runtime, seams=dataclasses.replace(runtime.seams, imap=WatchedConnection))
    result = Poller(runtime).poll(box)
    assert result.error is None and result.counts.imported == 12
    # each batch was committed, and still in INBOX, when the move for it started
    assert seen == [
        ([1, 2, 3, 4, 5], 5, 12),
        ([6, 7, 8, 9, 10], 5, 7),
        ([11, 12], 2, 2),
    ]
    assert dovecot.status(USER, "INBOX")["messages"] == 0
    assert dovecot.status(USER, "Archive")["messages"] == 12
    assert message_ids(runtime) == expected(range(12))
    assert Poller(runtime).poll(box).counts.imported == 0  # Archive is not watched

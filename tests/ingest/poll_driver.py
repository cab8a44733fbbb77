"""A scheduler-like poll loop for crash tests, run as ``python -m tests.ingest.poll_driver``.

It builds a runtime the way ``inbox scheduler`` does (``load_settings`` from INBOX_* variables)
and calls ``Poller(runtime).poll(mailbox_id)`` in a loop with one owner for the process.
Product code is never changed: the hooks below wrap it by monkeypatching, in this process only.

Environment:

- ``POLL_DRIVER_MAILBOX``: the mailbox id (required);
- ``POLL_DRIVER_BATCH_SIZE``, ``POLL_DRIVER_CLAIM_SECONDS``: settings overrides (5 and 300);
- ``POLL_DRIVER_KILL_AFTER_COMMIT=N``: SIGKILL itself once the N-th batch is committed
  (before the server is told, i.e. before ``after_batch``);
- ``POLL_DRIVER_KILL_BEFORE_COMMIT=N``: SIGKILL itself once the N-th batch has gone
  through ``ingest_items`` but before its commit;
- ``POLL_DRIVER_STOP_FILE``: poll in a loop until this file exists; without it, stop
  after the first claimed poll;
- ``POLL_DRIVER_INTERVAL``: seconds between polls (0.05); ``POLL_DRIVER_DEADLINE``: give up
  after this many seconds (60).

Stdout gets one JSON object per line (``ev``: start, claim, batch, release, poll, done).
Times are ``time.monotonic()``, which is one clock for all processes on Linux, so the
test can compare the claim windows of two drivers. Batch lines cover the watched folders
(where ``after_batch`` runs), not the Sent folder.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from inbox.config import load_settings
from inbox.jobs.poll import Poller
from inbox.runtime import build_runtime
from inbox.services import claims
from inbox.sources.imap import ImapConnection


def emit(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def crash() -> None:
    """Die like a killed process: no finally blocks, no rollback, no claim release."""
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install_hooks(poller: Poller, env: dict[str, str]) -> None:
    kill_after = int(env.get("POLL_DRIVER_KILL_AFTER_COMMIT", 0))
    kill_before = int(env.get("POLL_DRIVER_KILL_BEFORE_COMMIT", 0))
    stored = {"batches": 0, "last": None}
    holding = {"since": None}

    real_store = Poller.store_batch
    real_after = ImapConnection.after_batch
    real_claim, real_release = claims.try_claim, claims.release

    def store_batch(self, session, mailbox, batch, *args):  # after ingest_items, before commit
        counts = real_store(self, session, mailbox, batch, *args)
        stored["batches"] += 1
        stored["last"] = counts
        if stored["batches"] == kill_before:
            emit(ev="kill", where="before commit", batch=stored["batches"])
            crash()
        return counts

    def after_batch(self, folder, uids):  # poll_imap calls it right after the commit
        counts = stored["last"]
        emit(
            ev="batch",
            t=time.monotonic(),
            n=stored["batches"],
            folder=folder,
            uids=uids,
            imported=counts.imported,
            duplicates=counts.duplicates,
        )
        if stored["batches"] == kill_after:
            emit(ev="kill", where="after commit", batch=stored["batches"])
            crash()
        return real_after(self, folder, uids)

    def try_claim(session, name, owner, *, now, ttl):
        ok = real_claim(session, name, owner, now=now, ttl=ttl)
        if ok and holding["since"] is None:  # later successes are renewals inside one hold
            holding["since"] = time.monotonic()
            emit(ev="claim", t=holding["since"])
        return ok

    def release(session, name, owner):
        emit(ev="release", t=time.monotonic(), since=holding["since"])
        holding["since"] = None
        return real_release(session, name, owner)

    Poller.store_batch = store_batch
    ImapConnection.after_batch = after_batch
    claims.try_claim, claims.release = try_claim, release


def main(env: dict[str, str]) -> int:
    mailbox_id = int(env["POLL_DRIVER_MAILBOX"])
    settings = load_settings(
        {
            "ingest": {"batch_size": int(env.get("POLL_DRIVER_BATCH_SIZE", 5))},
            "scheduler": {
                "enabled": False,
                "claim_seconds": int(env.get("POLL_DRIVER_CLAIM_SECONDS", 300)),
            },
        },
        environ=env,
    )
    runtime = build_runtime(settings)
    poller = Poller(runtime)  # one owner per process, as in InboxScheduler
    install_hooks(poller, env)
    stop_file = Path(env["POLL_DRIVER_STOP_FILE"]) if env.get("POLL_DRIVER_STOP_FILE") else None
    interval = float(env.get("POLL_DRIVER_INTERVAL", 0.05))
    deadline = time.monotonic() + float(env.get("POLL_DRIVER_DEADLINE", 60))
    emit(ev="start", owner=poller.owner, pid=os.getpid())
    imported = duplicates = 0
    try:
        while time.monotonic() < deadline:
            stopping = stop_file is None or stop_file.exists()  # read before the poll starts
            result = poller.poll(mailbox_id)
            imported += result.counts.imported
            duplicates += result.counts.duplicates
            emit(
                ev="poll",
                claimed=result.claimed,
                imported=result.counts.imported,
                duplicates=result.counts.duplicates,
                error=result.error,
            )
            if stopping and result.claimed and result.error is None:
                emit(ev="done", owner=poller.owner, imported=imported, duplicates=duplicates)
                return 0
            time.sleep(interval)
        emit(ev="timeout")
        return 3
    finally:
        if runtime.engine is not None:
            runtime.engine.dispose()


if __name__ == "__main__":
    sys.exit(main(dict(os.environ)))

"""`inbox scheduler`, unchanged but for the clock its deadline-alert scan reads: a file the test
moves on (``SCALEOUT_CLOCK``, an ISO instant), so a test can cross the day-before, same-day and
overdue stages in seconds. Polling, the outbox, leases and everything else keep the real clock.

It also appends one line per committed ingest batch to ``SCALEOUT_BATCHES``
("<pid> <mailbox id> <imported> <duplicates>"): two processes polling one mailbox at once
(a lease that is not exclusive) show up as duplicates there, even though the store itself
keeps every message once.

Run as ``python -m tests.support.clocked_scheduler`` with the same environment as the command.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime


def simulated_now() -> datetime:
    with open(os.environ["SCALEOUT_CLOCK"], encoding="utf-8") as fh:
        return datetime.fromisoformat(fh.read().strip())


def main() -> None:  # pragma: no cover - runs in the child processes
    from inbox import scheduler
    from inbox.cli import main as inbox_main
    from inbox.jobs.poll import Poller
    from inbox.services import alerts

    def scan_alerts(self: scheduler.InboxScheduler) -> None:
        alerts.run_scan(self.runtime, owner=self.owner, now=simulated_now())

    scheduler.InboxScheduler.scan_alerts = scan_alerts  # type: ignore[method-assign]
    real_commit, depth = Poller.commit_batch, threading.local()

    def commit_batch(self, mailbox_id, items, after=None):  # type: ignore[no-untyped-def]
        depth.n = getattr(depth, "n", 0) + 1  # a failed batch retries in halves: count it once
        try:
            counts = real_commit(self, mailbox_id, items, after)
        finally:
            depth.n -= 1
        if depth.n == 0:
            line = f"{os.getpid()} {mailbox_id} {counts.imported} {counts.duplicates}\n"
            with open(os.environ["SCALEOUT_BATCHES"], "a", encoding="utf-8") as fh:
                fh.write(line)
        return counts

    Poller.commit_batch = commit_batch  # type: ignore[method-assign]
    sys.argv = ["inbox", "scheduler"]
    inbox_main()


if __name__ == "__main__":  # pragma: no cover
    main()

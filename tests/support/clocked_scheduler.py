"""`inbox scheduler`, unchanged but for the clock its deadline-alert scan reads: a file the test
moves on (``SCALEOUT_CLOCK``, an ISO instant), so a test can cross the day-before, same-day and
overdue stages in seconds. Polling, the outbox, leases and everything else keep the real clock.

Run as ``python -m tests.support.clocked_scheduler`` with the same environment as the command.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime


def simulated_now() -> datetime:
    with open(os.environ["SCALEOUT_CLOCK"], encoding="utf-8") as fh:
        return datetime.fromisoformat(fh.read().strip())


def main() -> None:  # pragma: no cover - runs in the child processes
    from inbox import scheduler
    from inbox.cli import main as inbox_main
    from inbox.services import alerts

    def scan_alerts(self: scheduler.InboxScheduler) -> None:
        alerts.run_scan(self.runtime, owner=self.owner, now=simulated_now())

    scheduler.InboxScheduler.scan_alerts = scan_alerts  # type: ignore[method-assign]
    sys.argv = ["inbox", "scheduler"]
    inbox_main()


if __name__ == "__main__":  # pragma: no cover
    main()

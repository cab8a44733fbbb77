"""The last run of each named piece of scheduled work: when, how long, what it did.

Written by the process that ran the job (a scheduler, a CLI command) and read by /metrics in
any web process, so that a duration measured in one process is visible from all of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import JobRun


def record(
    session: Session, name: str, *, started: datetime, duration: float, result: dict[str, Any]
) -> JobRun:
    """Overwrite the last run of ``name``; the caller commits."""
    run = session.get(JobRun, name)
    if run is None:
        run = JobRun(name=name)
        session.add(run)
    run.started_at = started
    run.finished_at = started + timedelta(seconds=max(0.0, float(duration)))
    run.duration_seconds = max(0.0, float(duration))
    run.result = dict(result)
    session.flush()
    return run


def last_runs(session: Session) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.name)))

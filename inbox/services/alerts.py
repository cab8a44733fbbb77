"""Deadline alerts: find threads entering a stage and queue one alert per (thread, stage, deadline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def run_scan(runtime: Any, *, owner: str, now: datetime) -> None:
    """Scheduler entry point; filled in with the alert rules."""

"""The date-sensitive tests pass with the clock moved a year ahead.

A test that travels to a fixed calendar date after logging in at the real time, or a stub
whose licence key expires on a fixed day, passes until that day and then turns CI red with
no change to the code. This runs the tests that deal in dates (deadlines, business hours,
alerts, queue ages, mall windows and licence expiry) once more in a child pytest whose whole
session lives ``SHIFT_DAYS`` in the future (``INBOX_TEST_CLOCK_SHIFT_DAYS``, read by
tests/conftest.py), so such a test fails here more than a year before it would fail for real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIFT_DAYS = 400
DATE_SENSITIVE = [
    "tests/services/test_deadlines.py",
    "tests/services/test_business_hours.py",
    "tests/services/test_alerts.py",
    "tests/services/test_queue.py",
    "tests/services/test_replies.py",
    "tests/services/test_presence.py",
    "tests/services/test_assignment.py",
    "tests/ingest/test_store.py",
    "tests/web/test_deadlines.py",
    "tests/web/test_queue.py",
    "tests/malls/test_mall_credentials.py",
    "tests/malls/test_mall_admin.py",
    "tests/malls/test_rakuten_poll.py",
    "tests/malls/test_yahoo_poll.py",
]


@pytest.mark.slow
def test_date_sensitive_tests_pass_a_year_from_now(tmp_path):
    if os.environ.get("INBOX_TEST_CLOCK_SHIFT_DAYS"):
        pytest.skip("already running with a shifted clock")
    env = {
        **os.environ,
        "INBOX_TEST_CLOCK_SHIFT_DAYS": str(SHIFT_DAYS),
        "INBOX_TEST_BACKENDS": "sqlite",  # the date logic is the same on both databases
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
            "-m", "not browser", "--basetemp", str(tmp_path / "run"), *DATE_SENSITIVE,
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )
    tail = "\n".join(result.stdout.splitlines()[-40:])
    assert result.returncode == 0, f"with the clock {SHIFT_DAYS} days ahead:\n{tail}\n{result.stderr[-2000:]}"

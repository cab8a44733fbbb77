"""Start a web server as a child process on a loopback port, wait until it answers, stop it.

For tests of what a person runs by hand (`inbox run`, gunicorn): the real process, its real
port, its output kept in a log file that a failing assertion shows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


class ServerDidNotStart(AssertionError):
    """The process exited or never answered; the message carries the end of its output."""


def log_tail(log: Path, lines: int = 40) -> str:
    if not log.exists():
        return "(no output)"
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@contextmanager
def serving(
    command: Sequence[str | os.PathLike[str]],
    *,
    url: str,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    timeout: float = 60.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` until ``url`` answers 200, yield the process, then terminate it.

    Raises ServerDidNotStart (with the log's tail) if the process exits first or ``timeout``
    seconds pass. The process gets its own process group, and the whole group is stopped.
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(command), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ServerDidNotStart(
                    f"{os.fspath(command[0])} exited with {proc.returncode}:\n{log_tail(log)}"
                )
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ServerDidNotStart(f"{url} did not answer in {timeout} s:\n{log_tail(log)}")
            time.sleep(0.3)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without INBOX_* and Python path variables, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("INBOX_") and key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env.update(extra)
    return env

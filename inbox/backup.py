"""Online backup: a consistent copy of the database (and the blob folder) while inbox runs.

SQLite is copied with its online backup API, which reads one consistent snapshot even while
the scheduler writes; the copy holds the poll cursors of that same instant, so a restored
database polls on from there and stores what came later exactly once (the copy's work
leases are released, since no process of the copy's time runs any more). PostgreSQL is backed
up with its own tool: ``backup_command`` gives the pg_dump line. Blobs (attachments) are
content-addressed files that are never changed once written: they are copied by name.
Knows nothing of the web or the scheduler.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class BackupResult:
    database: Path
    database_bytes: int
    blobs_copied: int
    blobs_dir: Path | None


def pg_dump_command(url: str, target: str) -> str:
    """The pg_dump line that backs up the PostgreSQL database of ``url`` (password left out)."""
    u = make_url(url)
    parts = ["pg_dump", "--format=custom", f"--file={target}"]
    if u.host:
        parts.append(f"--host={u.host}")
    if u.port:
        parts.append(f"--port={u.port}")
    if u.username:
        parts.append(f"--username={u.username}")
    parts.append(u.database or "")
    return " ".join(parts)


def backup_sqlite(engine: Engine, target: Path, *, blob_dir: Path | None = None) -> BackupResult:
    """Copy the SQLite database of ``engine`` to ``target`` (which must not exist yet).

    With ``blob_dir``, its files are copied to ``<target>.blobs`` too (only those not there).
    Raises FileExistsError rather than overwrite an earlier backup.
    """
    if engine.dialect.name != "sqlite":
        raise ValueError("backup_sqlite needs a SQLite database")
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists already; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    raw = engine.raw_connection()
    try:
        source: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
        partial.touch(mode=0o600)  # customer mail and sealed secrets: owner only
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            # No process holds a lease in the copy: a restored database is polled at once,
            # not after the leases of the processes that ran when it was taken expire.
            copy.execute("UPDATE job_claims SET owner = NULL, expires_at = NULL")
            copy.commit()
        finally:
            copy.close()
    finally:
        raw.close()
    partial.rename(target)  # a file at ``target`` is always a complete backup
    copied, blobs_target = 0, None
    if blob_dir is not None and Path(blob_dir).is_dir():
        blobs_target = target.with_name(target.name + ".blobs")
        blobs_target.mkdir(mode=0o700, exist_ok=True)
        for src in Path(blob_dir).rglob("*"):
            if not src.is_file():
                continue
            dst = blobs_target / src.relative_to(blob_dir)
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
                copied += 1
    return BackupResult(target, target.stat().st_size, copied, blobs_target)

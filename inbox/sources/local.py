"""Local mail files: a folder of .eml files, a Maildir, or an mbox file, read one message at a time."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from inbox.sources import RawItem


class LocalSourceError(Exception):
    """The path is not a readable .eml folder, Maildir or mbox file."""


def detect_kind(path: Path) -> str:
    """Return "maildir", "mbox" or "eml-dir" for ``path``; raise LocalSourceError otherwise."""
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            return "maildir"
        return "eml-dir"
    if path.is_file():
        with path.open("rb") as fh:
            head = fh.read(5)
        if head == b"From ":
            return "mbox"
        if path.suffix.lower() == ".eml":
            return "eml-file"
        raise LocalSourceError(f"{path} is neither an mbox file (it does not start with 'From ') nor an .eml file.")
    raise LocalSourceError(f"{path} does not exist.")


def _item(raw: bytes, mtime: float | None) -> RawItem:
    when = datetime.fromtimestamp(mtime, UTC) if mtime is not None else None
    return RawItem(source_key="sha256:" + hashlib.sha256(raw).hexdigest(), raw=raw, received_at=when)


def _eml_files(path: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(".eml"):
                yield Path(root) / name


def iter_local(path: Path | str) -> Iterator[RawItem]:
    """Yield every message under ``path`` in a stable order, holding one message in memory at a time.

    The identity of a file message is the SHA-256 of its bytes, so importing the same
    files twice (or resuming an interrupted import) adds nothing.
    """
    path = Path(path)
    kind = detect_kind(path)
    if kind == "eml-file":
        yield _item(path.read_bytes(), path.stat().st_mtime)
    elif kind == "eml-dir":
        for file in _eml_files(path):
            yield _item(file.read_bytes(), file.stat().st_mtime)
    elif kind == "maildir":
        # Maildir file names start with the delivery time, so name order is arrival order.
        files = [path / sub / name for sub in ("new", "cur") for name in os.listdir(path / sub)]
        for file in sorted((f for f in files if not f.name.startswith(".")), key=lambda f: f.name):
            yield _item(file.read_bytes(), file.stat().st_mtime)
        for sub in sorted(p for p in path.iterdir() if p.name.startswith(".") and p.is_dir()):
            if (sub / "cur").is_dir():
                yield from iter_local(sub)
    else:
        for raw in iter_mbox(path):
            yield _item(raw, None)


def iter_mbox(path: Path | str) -> Iterator[bytes]:
    """Yield each message of an mbox file without its ``From `` line, reading line by line.

    Splits exactly as ``mailbox.mbox`` does (every line starting with ``From `` begins a
    message; the blank line before it belongs to no message), so message bytes and their
    SHA-256 identities match what the standard library would give. Unlike ``mailbox.mbox``
    it keeps no table of offsets: memory stays flat however large the file is.
    """
    current: list[bytes] | None = None
    last_was_empty = False
    with Path(path).open("rb") as fh:
        for line in fh:
            if line.startswith(b"From "):
                if current is not None:
                    yield _join(current, last_was_empty)
                current, last_was_empty = [], False
            elif current is None:
                continue  # text before the first "From " line belongs to no message
            else:
                current.append(line)
                last_was_empty = line == b"\n"
    if current is not None:
        yield _join(current, last_was_empty)


def _join(lines: list[bytes], last_was_empty: bool) -> bytes:
    raw = b"".join(lines)
    return raw[:-1] if last_was_empty else raw


def count_local(path: Path | str) -> int | None:
    """How many messages ``iter_local`` will yield, when that is cheap to know; else None."""
    path = Path(path)
    kind = detect_kind(path)
    if kind == "eml-file":
        return 1
    if kind == "eml-dir":
        return sum(1 for _ in _eml_files(path))
    if kind == "maildir":
        return sum(len(os.listdir(path / sub)) for sub in ("cur", "new"))
    return count_mbox(path)


def count_mbox(path: Path | str, chunk_size: int = 1 << 20) -> int:
    """Count the messages of an mbox file (lines starting with ``From ``) at disk speed."""
    count = 0
    tail = b"\n"  # the file's start counts as a line start
    with Path(path).open("rb") as fh:
        while chunk := fh.read(chunk_size):
            data = tail + chunk
            count += data.count(b"\nFrom ")
            tail = data[-5:]  # "\nFrom" may straddle two chunks; 5 bytes cannot hold a match
    return count

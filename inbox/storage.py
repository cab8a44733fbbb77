"""Content-addressed blob store on disk for raw messages and attachments."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def make_private_dir(path: Path | str) -> Path:
    """Create ``path`` (and missing parents) readable by the owner only (0700).

    Directories that exist already are left as they are: their owner chose their mode.
    """
    path = Path(path)
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is reduced by the umask; this is exact
    return path


class BlobStore:
    """Files named by their SHA-256 under ``root/ab/abcdef…``; writing the same bytes twice is free."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store ``data`` durably (written, fsynced, renamed into place) and return its hash."""
        digest = sha256 or hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        if not target.parent.exists():
            make_private_dir(target.parent)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> bool:
        """Remove the blob's file; False if there was none. The caller checks nothing names it."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

"""Sources: fetch raw items from the outside (IMAP, local files, EC-mall feeds). No parsing, no database.

Every source hands the ingest path the same thing: raw bytes with a stable identity
(``source_key``) and when it arrived. Keeping state (cursors) is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RawItem:
    """One message as a source delivers it."""

    source_key: str  # unique within the mailbox, stable across runs
    raw: bytes
    received_at: datetime | None = None
    from_sent_folder: bool = False

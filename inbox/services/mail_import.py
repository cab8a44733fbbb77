"""History import from local mail files: one batch through the ingest path, or a dry run that only counts.

The caller (``inbox import``) reads the files with ``inbox.sources.local``, cuts them into
batches and commits after each one, so an interrupted import resumes where it stopped: the
content-hash identities make a rerun skip what is already stored. Knows nothing of terminals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.ingest.parse import parse_message
from inbox.ingest.store import BatchCounts, IngestOptions, ingest_items
from inbox.models import Mailbox, Message
from inbox.sources import RawItem
from inbox.storage import BlobStore


def import_batch(
    session: Session,
    blobs: BlobStore,
    mailbox: Mailbox,
    batch: Iterable[RawItem],
    *,
    now: datetime,
    options: IngestOptions,
) -> BatchCounts:
    """Store one batch exactly as polling would (threading, deadlines, dedupe). No commit."""
    return ingest_items(session, blobs, mailbox, batch, now=now, options=options)


class DryRun:
    """Counts what an import would do without writing anything, not even blobs.

    Mirrors the ingest path's duplicate rules: the same source identity, or the same
    Message-ID (a stand-in from the bytes when there is none), in the mailbox or earlier
    in this run. The identities seen so far are the only thing that grows (a few dozen
    bytes per message).
    """

    def __init__(self, options: IngestOptions) -> None:
        self.options = options
        self._seen_keys: set[str] = set()
        self._seen_ids: set[str] = set()

    def batch(self, session: Session, mailbox: Mailbox, batch: Iterable[RawItem]) -> BatchCounts:
        items = list(batch)
        keys = {i.source_key for i in items}
        stored_keys = set(
            session.scalars(
                select(Message.source_key).where(
                    Message.mailbox_id == mailbox.id, Message.source_key.in_(keys)
                )
            )
        )
        fresh: list[tuple[str, bool]] = []
        counts = BatchCounts()
        for item in items:
            if item.source_key in stored_keys or item.source_key in self._seen_keys:
                counts.duplicates += 1
                continue
            self._seen_keys.add(item.source_key)
            fresh.append(self._read(item.raw or b"\r\n"))
        mids = {mid for mid, _warned in fresh}
        stored_ids = set(
            session.scalars(
                select(Message.message_id).where(
                    Message.mailbox_id == mailbox.id, Message.message_id.in_(mids)
                )
            )
        )
        for mid, warned in fresh:
            if mid in stored_ids or mid in self._seen_ids:
                counts.duplicates += 1
                continue
            self._seen_ids.add(mid)
            counts.imported += 1
            counts.with_warnings += int(warned)
        return counts

    def _read(self, raw: bytes) -> tuple[str, bool]:
        """(the Message-ID ingest would store, whether it would carry warnings)."""
        stand_in = f"{hashlib.sha256(raw).hexdigest()[:32]}@inbox.generated"
        if len(raw) > self.options.max_message_bytes:
            return stand_in, True
        try:
            parsed = parse_message(raw, ticket_pattern=self.options.ticket_pattern)
        except Exception:  # noqa: BLE001 - ingest stores such mail raw, with a warning
            return stand_in, True
        return (parsed.message_id or stand_in)[:998], bool(parsed.warnings)

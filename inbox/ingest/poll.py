"""Polling one mailbox: claim it, fetch from its source in batches, ingest, commit, then move the cursor.

The per-batch order is what makes ingest exactly-once: rows and the new cursor are
committed together; only after that is the server touched (mark seen / move). A crash
anywhere repeats at most one batch, and the duplicate checks turn the repeat into no-ops.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.db import utcnow
from inbox.ingest.store import BatchCounts, IngestOptions, ingest_items
from inbox.models import Mailbox, MailboxKind, SourceCursor
from inbox.services import claims
from inbox.sources import RawItem

if TYPE_CHECKING:
    from inbox.runtime import Runtime

log = logging.getLogger(__name__)


def process_owner() -> str:
    """A name for this process in claims: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class PollResult:
    mailbox_id: int
    claimed: bool
    counts: BatchCounts = field(default_factory=BatchCounts)
    error: str | None = None


def ingest_options(runtime: Runtime) -> IngestOptions:
    s = runtime.settings
    return IngestOptions(
        ticket_pattern=s.ticket_pattern,
        subject_match_days=s.subject_match_days,
        max_message_bytes=s.max_message_bytes,
    )


def chunks(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    while batch := list(islice(items, size)):
        yield batch


def cursor_for(session: Session, mailbox_id: int, name: str) -> SourceCursor:
    cursor = session.scalar(
        select(SourceCursor).where(SourceCursor.mailbox_id == mailbox_id, SourceCursor.name == name)
    )
    if cursor is None:
        cursor = SourceCursor(
            mailbox_id=mailbox_id, name=name, uidvalidity=None, last_uid=0, state={}
        )
        session.add(cursor)
        session.flush()
    return cursor


class Poller:
    """Runs one poll of one mailbox for one process; the scheduler and CLI both use it."""

    def __init__(
        self, runtime: Runtime, *, owner: str | None = None, now: Callable[[], datetime] = utcnow
    ):
        self.runtime = runtime
        self.owner = owner or process_owner()
        self.now = now
        self.ttl = timedelta(seconds=runtime.settings.claim_seconds)
        self.options = ingest_options(runtime)

    def renew(self, session: Session, mailbox_id: int) -> None:
        if not claims.try_claim(
            session, f"poll:{mailbox_id}", self.owner, now=self.now(), ttl=self.ttl
        ):
            raise LostClaim(f"Another process took over mailbox {mailbox_id}; stopping this poll.")

    def store_batch(self, session: Session, mailbox: Mailbox, batch: list[RawItem]) -> BatchCounts:
        return ingest_items(
            session, self.runtime.blobs, mailbox, batch, now=self.now(), options=self.options
        )

    def poll(self, mailbox_id: int) -> PollResult:
        Session = self.runtime.Session
        with Session() as session:
            ok = claims.try_claim(
                session, f"poll:{mailbox_id}", self.owner, now=self.now(), ttl=self.ttl
            )
            session.commit()
        result = PollResult(mailbox_id, ok)
        if not ok:
            return result
        try:
            with Session() as session:
                mailbox = session.get(Mailbox, mailbox_id)
                kind = mailbox.kind if mailbox else None
            fetch = SOURCE_POLLERS.get(kind) if kind else None
            if fetch is None:
                raise PollError(f"Mailbox {mailbox_id} has no source that can be polled.")
            fetch(self, mailbox_id, result)
            self._record(mailbox_id, error=None)
        except Exception as exc:  # noqa: BLE001 - recorded on the mailbox for the admin to see
            log.warning("poll of mailbox %s failed: %s", mailbox_id, exc)
            result.error = str(exc) or exc.__class__.__name__
            self._record(mailbox_id, error=result.error)
        finally:
            with Session() as session:
                claims.release(session, f"poll:{mailbox_id}", self.owner)
                session.commit()
        return result

    def _record(self, mailbox_id: int, *, error: str | None) -> None:
        with self.runtime.Session() as session:
            mailbox = session.get(Mailbox, mailbox_id)
            if mailbox is None:
                return
            now = self.now()
            mailbox.last_poll_at = now
            if error is None:
                mailbox.last_success_at = now
                mailbox.last_error = None
            else:
                mailbox.last_error, mailbox.last_error_at = error[:2000], now
            session.commit()


class PollError(Exception):
    """A poll could not run; the message is shown on the mailbox page."""


class LostClaim(PollError):
    """The lease on the mailbox expired and another process holds it now."""


def poll_local(poller: Poller, mailbox_id: int, result: PollResult) -> None:
    """Read a Maildir, mbox file or .eml folder named by the mailbox's ``path`` setting."""
    from inbox.sources.local import iter_local

    with poller.runtime.Session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        path = (mailbox.settings or {}).get("path")
    if not path:
        raise PollError("This local mailbox has no path set.")
    for batch in chunks(iter_local(Path(path)), poller.runtime.settings.batch_size):
        with poller.runtime.Session() as session:
            mailbox = session.get(Mailbox, mailbox_id)
            poller.renew(session, mailbox_id)
            result.counts.add(poller.store_batch(session, mailbox, batch))
            session.commit()


def poll_imap(poller: Poller, mailbox_id: int, result: PollResult) -> None:
    """Fetch new mail from every watched folder (and the Sent folder, as outbound) over IMAP."""
    from inbox.services.mailboxes import imap_settings
    from inbox.sources.imap import FolderState, ImapConnection, with_retries

    with poller.runtime.Session() as session:
        settings = imap_settings(session.get(Mailbox, mailbox_id), poller.runtime.secrets)
    folders = list(settings.folders)
    if settings.sent_folder and settings.sent_folder not in folders:
        folders.append(settings.sent_folder)

    def run_once() -> None:
        with ImapConnection(settings) as conn:
            for folder in folders:
                with poller.runtime.Session() as session:
                    cursor = cursor_for(session, mailbox_id, folder)
                    state = FolderState(cursor.uidvalidity, cursor.last_uid)
                    session.commit()
                run = conn.fetch_new(folder, state, batch_size=poller.runtime.settings.batch_size)
                if run.uidvalidity_changed or state.uidvalidity is None:
                    with poller.runtime.Session() as session:
                        cursor = cursor_for(session, mailbox_id, folder)
                        cursor.uidvalidity = run.uidvalidity
                        if run.uidvalidity_changed:
                            cursor.last_uid = 0  # the folder starts over; Message-IDs catch repeats
                        cursor.updated_at = poller.now()
                        session.commit()
                is_sent = folder == settings.sent_folder
                for batch in run:
                    items = [
                        RawItem(
                            source_key=f"{folder}:{m.uidvalidity}:{m.uid}",
                            raw=m.raw,
                            received_at=m.internaldate,
                            from_sent_folder=is_sent,
                        )
                        for m in batch
                    ]
                    with poller.runtime.Session() as session:
                        mailbox = session.get(Mailbox, mailbox_id)
                        poller.renew(session, mailbox_id)
                        result.counts.add(poller.store_batch(session, mailbox, items))
                        cursor = cursor_for(session, mailbox_id, folder)
                        state_after = run.state_after(batch)
                        cursor.uidvalidity, cursor.last_uid = (
                            state_after.uidvalidity,
                            state_after.last_uid,
                        )
                        cursor.updated_at = poller.now()
                        session.commit()
                    if not is_sent:
                        conn.after_batch(folder, [m.uid for m in batch])

    with_retries(run_once)


# Mailbox kind -> how its source is fetched and stored; filled by ``inbox.wiring``.
SOURCE_POLLERS: dict[MailboxKind, Callable[[Poller, int, PollResult], None]] = {}


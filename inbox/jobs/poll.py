"""Polling one mailbox: claim it, fetch from its source in batches, ingest, commit, then move the cursor.

The per-batch order is what makes ingest exactly-once: rows and the new cursor are
committed together; only after that is the server touched (mark seen / move). A crash
anywhere repeats at most one batch, and the duplicate checks turn the repeat into no-ops.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from inbox.db import utcnow
from inbox.ingest.parse import ParsedMessage
from inbox.ingest.store import (
    BatchCounts,
    IngestOptions,
    cursor_for,
    ingest_items,
    ingest_quarantined,
    known_source_keys,
    parse_items,
)
from inbox.models import Mailbox, MailboxKind
from inbox.services import claims, mailbox_health
from inbox.services.mailboxes import imap_settings
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
        ticket_token=s.ticket_token,
        subject_match_days=s.subject_match_days,
        max_message_bytes=s.max_message_bytes,
    )


def chunks(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    while batch := list(islice(items, size)):
        yield batch


class Poller:
    """Runs one poll of one mailbox for one process; the scheduler and CLI both use it.

    The lease ``poll:<mailbox id>`` is taken, and renewed, in short transactions of its own
    (before each batch, and by a heartbeat thread every ``heartbeat_seconds``), never inside a
    batch transaction: a batch only reads the lease row before it commits, so a holder that
    hangs mid-batch keeps no lock that would stop another process taking over once the lease
    expires.
    """

    def __init__(
        self, runtime: Runtime, *, owner: str | None = None, now: Callable[[], datetime] = utcnow
    ):
        self.runtime = runtime
        self.owner = owner or process_owner()
        self.now = now
        self.ttl = timedelta(seconds=runtime.settings.claim_seconds)
        # Renewed often enough that two missed beats still leave the lease alive.
        self.heartbeat_seconds = min(
            runtime.settings.heartbeat_seconds, runtime.settings.claim_seconds / 3
        )
        self.options = ingest_options(runtime)
        self.database_down_since: datetime | None = None
        # Mailboxes whose lease this process lost during the current poll (the scheduler
        # polls several mailboxes at once with one Poller).
        self._lost: set[int] = set()

    # --- the lease ---------------------------------------------------------------------------

    def renew(self, mailbox_id: int) -> None:
        """Renew the lease in its own short transaction; LostClaim if another process has it."""
        if mailbox_id in self._lost:
            raise LostClaim(f"Another process took over mailbox {mailbox_id}; stopping this poll.")
        with self.runtime.Session() as session:
            ok = claims.try_claim(
                session, f"poll:{mailbox_id}", self.owner, now=self.now(), ttl=self.ttl
            )
            session.commit()
        if not ok:
            self._lost.add(mailbox_id)
            raise LostClaim(f"Another process took over mailbox {mailbox_id}; stopping this poll.")

    def check_holder(self, session: Session, mailbox_id: int) -> None:
        """Inside a batch transaction: still ours? A read, so it locks nothing."""
        if mailbox_id in self._lost or not claims.holds(
            session, f"poll:{mailbox_id}", self.owner, now=self.now()
        ):
            raise LostClaim(f"Another process took over mailbox {mailbox_id}; stopping this poll.")

    def _heartbeat(self, mailbox_id: int, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_seconds):
            try:
                self.renew(mailbox_id)
            except LostClaim:
                return
            except Exception as exc:  # noqa: BLE001 - the next batch's own renewal decides
                log.debug("lease heartbeat for mailbox %s failed: %s", mailbox_id, exc)

    # --- batches -----------------------------------------------------------------------------

    def store_batch(
        self,
        session: Session,
        mailbox: Mailbox,
        batch: list[RawItem],
        parsed: Mapping[str, ParsedMessage] | None = None,
    ) -> BatchCounts:
        counts = ingest_items(
            session, self.runtime.blobs, mailbox, batch, now=self.now(), options=self.options,
            parsed=parsed,
        )  # fmt: skip
        # End on a plain round trip. Observed on PostgreSQL 15 with psycopg: when the batch's last
        # statement was the ORM's multi-row INSERT (the KPI facts of new threads), a holder frozen
        # right after it was never ended by idle_in_transaction_session_timeout, and kept its
        # locks; after a simple statement the timeout fires (tests/ingest/test_failover.py).
        session.execute(text("SELECT 1"))
        return counts

    def _begin(self, session: Session) -> None:
        """Start a batch transaction. On PostgreSQL the server ends it, and frees its row and
        unique-key locks, if it stays idle for a lease period: a holder frozen in the middle
        of a batch (SIGSTOP, a hung disk) then holds back the next holder by at most that."""
        if session.get_bind().dialect.name == "postgresql":
            ms = int(self.ttl.total_seconds() * 1000)
            session.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {ms}"))

    def _parse_ahead(self, mailbox_id: int, items: list[RawItem]) -> dict[str, ParsedMessage]:
        """Parse the items not stored yet before the batch transaction begins, so that the
        transaction is never idle for long while parsing."""
        with self.runtime.Session() as session:
            known = known_source_keys(session, mailbox_id, [i.source_key for i in items])
            session.rollback()
        return parse_items((i for i in items if i.source_key not in known), self.options)

    def commit_batch(
        self,
        mailbox_id: int,
        items: list[RawItem],
        after: Callable[[Session], None] | None = None,
    ) -> BatchCounts:
        """Store ``items`` and run ``after`` (the cursor move) in one transaction, then commit.

        If the transaction fails for a reason other than a lost lease or an unreachable
        database, the batch is retried in halves (the cursor moves with the last half only),
        down to the one message that fails, which is stored raw and flagged instead. So one
        message that the database refuses never holds back the rest of the mailbox.
        """
        self.renew(mailbox_id)
        try:
            parsed = self._parse_ahead(mailbox_id, items)
            with self.runtime.Session() as session:
                self._begin(session)
                mailbox = session.get(Mailbox, mailbox_id)
                counts = self.store_batch(session, mailbox, items, parsed)
                if after is not None:
                    after(session)
                self.check_holder(session, mailbox_id)
                session.commit()
                return counts
        except LostClaim:
            raise
        except Exception as exc:
            if transient(exc):
                raise
            if len(items) == 1:
                return self.quarantine(mailbox_id, items[0], exc, after)
            half = len(items) // 2
            log.info(
                "mailbox %s: a batch of %s failed (%s); retrying in halves",
                mailbox_id, len(items), exc.__class__.__name__,
            )  # fmt: skip
            counts = self.commit_batch(mailbox_id, items[:half])
            counts.add(self.commit_batch(mailbox_id, items[half:], after))
            return counts

    def quarantine(
        self,
        mailbox_id: int,
        item: RawItem,
        exc: Exception,
        after: Callable[[Session], None] | None,
    ) -> BatchCounts:
        """Store the one message that could not be stored as raw bytes, flagged, with the error."""
        error = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        log.warning("mailbox %s: message %s stored raw: %s", mailbox_id, item.source_key, error)
        with self.runtime.Session() as session:
            self._begin(session)
            mailbox = session.get(Mailbox, mailbox_id)
            counts = ingest_quarantined(
                session, self.runtime.blobs, mailbox, item, error=error, now=self.now()
            )
            if after is not None:
                after(session)
            self.check_holder(session, mailbox_id)
            session.commit()
        return counts

    # --- one poll ----------------------------------------------------------------------------

    def poll(self, mailbox_id: int) -> PollResult:
        try:
            with self.runtime.Session() as session:
                ok = claims.try_claim(
                    session, f"poll:{mailbox_id}", self.owner, now=self.now(), ttl=self.ttl
                )
                session.commit()
        except Exception as exc:
            if not transient(exc):
                raise
            self._database_trouble(exc)
            return PollResult(mailbox_id, False, error=str(exc).splitlines()[0])
        result = PollResult(mailbox_id, ok)
        if not ok:
            return result
        self._lost.discard(mailbox_id)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(mailbox_id, stop), daemon=True, name="lease-heartbeat"
        )
        beat.start()
        try:
            with self.runtime.Session() as session:
                mailbox = session.get(Mailbox, mailbox_id)
                kind = mailbox.kind if mailbox else None
            fetch = SOURCE_POLLERS.get(kind) if kind else None
            if fetch is None:
                raise PollError(f"Mailbox {mailbox_id} has no source that can be polled.")
            fetch(self, mailbox_id, result)
            self._database_back()
            self._record(mailbox_id, error=None)
        except PollPaused as exc:  # not polled at all: nothing to record
            result.error = str(exc).splitlines()[0]
        except Exception as exc:  # noqa: BLE001 - recorded on the mailbox for the admin to see
            result.error = (str(exc) or exc.__class__.__name__).splitlines()[0]
            if unreachable(exc):
                self._database_down(exc)
            else:
                log.warning("poll of mailbox %s failed: %s", mailbox_id, result.error)
                self._record(mailbox_id, error=result.error)
        finally:
            stop.set()
            beat.join()
            try:
                with self.runtime.Session() as session:
                    claims.release(session, f"poll:{mailbox_id}", self.owner)
                    session.commit()
            except Exception as exc:
                if not transient(exc):
                    raise
        return result

    def _database_trouble(self, exc: Exception) -> None:
        if unreachable(exc):
            self._database_down(exc)
        else:
            log.warning("could not take the lease on a mailbox: %s", str(exc).splitlines()[0])

    def _database_down(self, exc: Exception) -> None:
        if self.database_down_since is None:
            self.database_down_since = self.now()
            log.error(
                "The database cannot be reached (%s); polling resumes by itself when it is back.",
                str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__,
            )

    def _database_back(self) -> None:
        if self.database_down_since is not None:
            log.warning(
                "The database is reachable again (unreachable since %s); polling resumed.",
                self.database_down_since.isoformat(timespec="seconds"),
            )
            self.database_down_since = None

    def _record(self, mailbox_id: int, *, error: str | None) -> None:
        try:
            with self.runtime.Session() as session:
                mailbox_health.record_poll(
                    session, mailbox_id, error=error, now=self.now(), settings=self.runtime.settings
                )
                session.commit()
        except Exception as exc:
            if not transient(exc):
                raise
            self._database_trouble(exc)


def transient(exc: BaseException) -> bool:
    """An error of the database connection or of locking, not of the data: retry later as is."""
    return isinstance(exc, OperationalError | InterfaceError | DisconnectionError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


_GONE = ("connect", "connection", "server closed", "terminating", "no route", "timeout expired")


def unreachable(exc: BaseException) -> bool:
    """A transient error that means the database cannot be reached (not a lock or a timeout)."""
    if isinstance(exc, InterfaceError | DisconnectionError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return True
    text_ = str(exc).lower()
    return isinstance(exc, OperationalError) and any(word in text_ for word in _GONE)


class PollError(Exception):
    """A poll could not run; the message is shown on the mailbox page."""


class PollPaused(PollError):
    """The source asked not to be polled for now (a back-off in force): no request, nothing recorded."""


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
        result.counts.add(poller.commit_batch(mailbox_id, batch))


def poll_imap(poller: Poller, mailbox_id: int, result: PollResult) -> None:
    """Fetch new mail from every watched folder (and the Sent folder, as outbound) over IMAP."""
    from inbox.sources.imap import FolderState, with_retries

    with poller.runtime.Session() as session:
        settings = imap_settings(session.get(Mailbox, mailbox_id), poller.runtime.secrets)
    folders = list(settings.folders)
    if settings.sent_folder and settings.sent_folder not in folders:
        folders.append(settings.sent_folder)

    def run_once() -> None:
        with poller.runtime.seams.imap(settings) as conn:
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
                    state_after = run.state_after(batch)

                    def move_cursor(session: Session, folder: str = folder, state=state_after) -> None:
                        cursor = cursor_for(session, mailbox_id, folder)
                        cursor.uidvalidity, cursor.last_uid = state.uidvalidity, state.last_uid
                        cursor.updated_at = poller.now()

                    result.counts.add(poller.commit_batch(mailbox_id, items, move_cursor))
                    if not is_sent:
                        conn.after_batch(folder, [m.uid for m in batch])

    with_retries(run_once)


# Mailbox kind -> how its source is fetched and stored; filled by ``inbox.wiring``.
SOURCE_POLLERS: dict[MailboxKind, Callable[[Poller, int, PollResult], None]] = {}


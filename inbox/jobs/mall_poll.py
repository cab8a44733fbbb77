"""Polling a mall channel: the source's windows, then the open threads, each step committed.

Each step stores its conversations (``inbox.ingest.mall``) and, for a step that completes a
window, moves the cursor "mall" in the same transaction; the lease is renewed before each step
and checked before each commit, as for mail (``inbox.jobs.poll``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from inbox.ingest.mall import CURSOR, StoreContext, store_conversation
from inbox.ingest.store import cursor_for
from inbox.jobs.poll import Poller, PollError, PollPaused, PollResult
from inbox.models import Mailbox, MallRecheck, Message, Status, Thread
from inbox.services import mall_credentials
from inbox.sources.mall_http import MallConversation, MallError

RECHECK_LIMIT = 200  # open threads re-fetched per poll (follow-ups on older inquiries)
RECHECK_BATCH = 10  # re-fetched threads stored (and marked checked) per transaction


def poll_mall(poller: Poller, mailbox_id: int, result: PollResult) -> None:
    """One poll of a mall channel: the source's windows, then the open threads, each step committed."""
    runtime = poller.runtime
    with runtime.Session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        blocked = mall_credentials.credentials_blocked(mailbox)
        if blocked:
            raise PollError(mailbox.last_error or f"Polling is stopped: credentials {blocked}.")
        if mall_credentials.pause_of(mailbox, runtime.secrets, poller.now()):
            raise PollPaused(mailbox.last_error or "Polling is paused.")
        source = mall_credentials.open_source(runtime, mailbox)
        state = dict(cursor_for(session, mailbox_id, CURSOR).state or {})
        session.commit()
    ctx = StoreContext(runtime.blobs, poller.now(), source.download)
    seen: set[str] = set()  # refreshed by this poll already: not re-checked
    try:
        # No mall request leaves while this poll holds a transaction: on SQLite the request
        # limiter (inbox.services.mall_rate) takes the write lock to book its slot.
        with runtime.Session() as session:
            _read_only(session)
            due = mall_credentials.license_check_due(session.get(Mailbox, mailbox_id), poller.now())
            known = stored_versions(session, mailbox_id)
        if due:
            expiry = source.license_expiry()  # type: ignore[attr-defined]
            with runtime.Session() as session:
                mailbox = session.get(Mailbox, mailbox_id)
                mall_credentials.record_license_expiry(session, runtime, mailbox, expiry, poller.now())
                session.commit()
        for step in source.sync(state, now=poller.now(), known=known):
            _store_step(poller, mailbox_id, step.conversations, step.state, ctx, result)
            seen.update(c.ref for c in step.conversations)
        with runtime.Session() as session:
            _read_only(session)
            refs = recheck_order(session, mailbox_id, exclude=seen)
        for i in range(0, len(refs), RECHECK_BATCH):
            chunk = refs[i : i + RECHECK_BATCH]
            _store_step(poller, mailbox_id, list(source.fetch(chunk)), None, ctx, result, checked=chunk)
        _after_success(poller, mailbox_id)
    except MallError as exc:
        if exc.kind in mall_credentials.PAUSE_KINDS:
            with runtime.Session() as session:
                mailbox = session.get(Mailbox, mailbox_id)
                message = mall_credentials.pause_polling(session, runtime, mailbox, exc, poller.now())
                session.commit()
            raise PollError(message) from exc
        if exc.kind not in mall_credentials.STATES:
            raise PollError(str(exc)) from exc
        with runtime.Session() as session:
            mailbox = session.get(Mailbox, mailbox_id)
            message = mall_credentials.on_credentials_failure(session, runtime, mailbox, exc, poller.now())
            session.commit()
        raise PollError(message) from exc


def stored_versions(session: Session, mailbox_id: int) -> dict[str, dict[str, Any]]:
    """What is stored of each conversation of the channel: ref -> {"last_update", "completed"}.

    The sources compare it with the mall's list and fetch only what changed since.
    """
    rows = session.execute(select(Thread.external_ref, Thread.external_meta).where(
        Thread.mailbox_id == mailbox_id, Thread.external_ref.is_not(None)))
    return {ref: {"last_update": (meta or {}).get("last_update"),
                  "completed": bool((meta or {}).get("completed"))} for ref, meta in rows}


def recheck_order(session: Session, mailbox_id: int, *, exclude: set[str] = frozenset(),
                  limit: int = RECHECK_LIMIT) -> list[str]:
    """The open threads to re-fetch this poll: never checked first, then least recently checked.

    Every thread refreshed by a poll counts as checked (``_mark_checked``), so over successive
    polls the recheck rotates through all open threads, however many there are.
    """
    stmt = (select(Thread.external_ref)
            .outerjoin(MallRecheck, MallRecheck.thread_id == Thread.id)
            .where(Thread.mailbox_id == mailbox_id, Thread.status != Status.RESOLVED,
                   Thread.external_ref.is_not(None))
            .order_by(MallRecheck.checked_at.is_not(None), MallRecheck.checked_at, Thread.id)
            .limit(limit + len(exclude)))
    return [ref for ref in session.scalars(stmt) if ref not in exclude][:limit]


def _mark_checked(session: Session, mailbox_id: int, refs: list[str], now: datetime) -> None:
    if not refs:
        return
    ids = list(session.scalars(select(Thread.id).where(
        Thread.mailbox_id == mailbox_id, Thread.external_ref.in_(refs))))
    if not ids:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(MallRecheck).values([{"thread_id": i, "checked_at": now} for i in ids])
    session.execute(stmt.on_conflict_do_update(index_elements=["thread_id"],
                                               set_={"checked_at": stmt.excluded.checked_at}))


def _read_only(session: Session) -> None:
    """A transaction that only reads: on SQLite it takes no write lock (see ``inbox.db``)."""
    session.connection(execution_options={"sqlite_begin": "DEFERRED"})


def _download_new_files(poller: Poller, mailbox_id: int, conversations: list[MallConversation],
                        ctx: StoreContext) -> dict[int, bytes]:
    """The files of the posts not stored yet, fetched before the step's write transaction opens."""
    posts = [p for c in conversations for p in c.posts if p.files]
    if not posts:
        return {}
    with poller.runtime.Session() as session:
        _read_only(session)
        stored = set(session.scalars(select(Message.source_key).where(
            Message.mailbox_id == mailbox_id, Message.source_key.in_([p.key for p in posts]))))
    return {id(f): ctx.fetch_file(f) for p in posts if p.key not in stored for f in p.files}


def _store_step(poller: Poller, mailbox_id: int, conversations: list[MallConversation],
                state: dict[str, Any] | None, ctx: StoreContext, result: PollResult,
                checked: list[str] | None = None) -> None:
    if not conversations and state is None and not checked:
        return
    files = _download_new_files(poller, mailbox_id, conversations, ctx)
    ctx = StoreContext(ctx.blobs, ctx.now, lambda f: files[id(f)] if id(f) in files else ctx.fetch_file(f))
    poller.renew(mailbox_id)
    with poller.runtime.Session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        for conv in conversations:
            result.counts.add(store_conversation(session, mailbox, conv, ctx))
        session.flush()
        _mark_checked(session, mailbox_id, [c.ref for c in conversations] + list(checked or ()), poller.now())
        if state is not None:
            cursor = cursor_for(session, mailbox_id, CURSOR)
            cursor.state, cursor.updated_at = dict(state), poller.now()
        poller.check_holder(session, mailbox_id)
        session.commit()


def _after_success(poller: Poller, mailbox_id: int) -> None:
    """The mall answered every call: lift a pause. (Consent warnings do not wait for a
    successful poll: the scheduler's "yahoo-consent" job sends them.)"""
    with poller.runtime.Session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        mall_credentials.end_pause(mailbox)
        session.commit()

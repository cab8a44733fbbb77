"""Polling a mall channel: the source's windows, then the open threads, each step committed.

Each step stores its conversations (``inbox.ingest.mall``) and, for a step that completes a
window, moves the cursor "mall" in the same transaction; the lease is renewed before each step
and checked before each commit, as for mail (``inbox.jobs.poll``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from inbox.ingest.mall import CURSOR, StoreContext, store_conversation
from inbox.ingest.store import cursor_for
from inbox.jobs.poll import Poller, PollError, PollPaused, PollResult
from inbox.models import Mailbox, Status, Thread
from inbox.services import mall_credentials, yahoo_consent
from inbox.sources.mall_http import MallConversation, MallError

RECHECK_LIMIT = 200  # open threads re-fetched per poll (follow-ups on older inquiries)


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
        with runtime.Session() as session:
            mailbox = session.get(Mailbox, mailbox_id)
            if mall_credentials.license_check_due(mailbox, poller.now()):
                expiry = source.license_expiry()  # type: ignore[attr-defined]
                mall_credentials.record_license_expiry(session, runtime, mailbox, expiry, poller.now())
                session.commit()
        for step in source.sync(state, now=poller.now()):
            _store_step(poller, mailbox_id, step.conversations, step.state, ctx, result)
            seen.update(c.ref for c in step.conversations)
        with runtime.Session() as session:
            refs = list(session.scalars(
                select(Thread.external_ref)
                .where(Thread.mailbox_id == mailbox_id, Thread.status != Status.RESOLVED,
                       Thread.external_ref.is_not(None))
                .order_by(Thread.id).limit(RECHECK_LIMIT)))
        batch: list[MallConversation] = []
        for conv in source.fetch(r for r in refs if r not in seen):
            batch.append(conv)
            if len(batch) >= 10:
                _store_step(poller, mailbox_id, batch, None, ctx, result)
                batch = []
        _store_step(poller, mailbox_id, batch, None, ctx, result)
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


def _store_step(poller: Poller, mailbox_id: int, conversations: list[MallConversation],
                state: dict[str, Any] | None, ctx: StoreContext, result: PollResult) -> None:
    if not conversations and state is None:
        return
    poller.renew(mailbox_id)
    with poller.runtime.Session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        for conv in conversations:
            result.counts.add(store_conversation(session, mailbox, conv, ctx))
        if state is not None:
            cursor = cursor_for(session, mailbox_id, CURSOR)
            cursor.state, cursor.updated_at = dict(state), poller.now()
        poller.check_holder(session, mailbox_id)
        session.commit()


def _after_success(poller: Poller, mailbox_id: int) -> None:
    """The mall answered every call: lift a pause, warn of a Yahoo! consent about to lapse."""
    with poller.runtime.Session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        mall_credentials.end_pause(mailbox)
        yahoo_consent.warn_consent(session, poller.runtime, mailbox, poller.now())
        session.commit()

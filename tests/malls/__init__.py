"""Helpers for the mall tests: a runtime on a fresh committed database, channels on the stubs, quick reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from inbox.config import load_settings
from inbox.models import Mailbox, MailboxKind, Message, SourceCursor, Thread
from inbox.runtime import Runtime, build_runtime
from inbox.services.mailboxes import create_mailbox
from inbox.sources.mall_http import MallEnv, NoLimit
from tests.conftest import base_config

INQ = "999999-20240101-0001"  # the Rakuten stub inquiry of tests/malls/conftest.py


def fast_env(sleeps: list[float] | None = None, **kw: Any) -> MallEnv:
    """No waiting between requests; backoff sleeps are recorded, not slept."""
    record = sleeps if sleeps is not None else []
    return MallEnv(limiter=NoLimit(), sleep=record.append, timeout=kw.pop("timeout", 5.0), **kw)


@contextmanager
def mall_runtime(fresh_databases, tmp_path, **config: Any) -> Iterator[Runtime]:
    settings = load_settings(base_config(tmp_path, fresh_databases.migrated_url()) | config, environ={})
    runtime = build_runtime(settings)
    runtime.mall_env = fast_env()
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


def add_channel(runtime: Runtime, kind: str, stub, *, name: str | None = None, **settings: Any) -> int:
    with runtime.Session() as s:
        box = create_mailbox(
            s, runtime.secrets, name=name or f"{kind}-shop", kind=MailboxKind(kind),
            address=f"{kind}@shop.example", display_name=f"{kind} shop",
            settings=stub.settings() | settings, secrets=stub.secrets(), now=datetime.now(UTC))
        s.commit()
        return box.id


def threads(runtime: Runtime, mailbox_id: int) -> list[Thread]:
    with runtime.Session() as s:
        return list(s.scalars(
            select(Thread).where(Thread.mailbox_id == mailbox_id).order_by(Thread.external_ref)
            .options(selectinload(Thread.messages).selectinload(Message.attachments),
                     selectinload(Thread.contact))))


def keys(runtime: Runtime, mailbox_id: int) -> list[tuple[str, str]]:
    with runtime.Session() as s:
        return [(k, d.value) for k, d in s.execute(
            select(Message.source_key, Message.direction)
            .where(Message.mailbox_id == mailbox_id).order_by(Message.source_key))]


def cursor_state(runtime: Runtime, mailbox_id: int) -> dict[str, Any]:
    with runtime.Session() as s:
        cursor = s.scalar(select(SourceCursor).where(SourceCursor.mailbox_id == mailbox_id))
        return dict(cursor.state) if cursor else {}


def mailbox(runtime: Runtime, mailbox_id: int) -> Mailbox:
    with runtime.Session() as s:
        return s.get(Mailbox, mailbox_id)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def drive() -> None:
    """A scheduler-like loop for the two-process test: ``python -c "from tests.malls import drive; drive()"``.

    Env: MALL_DB, MALL_KEY, MALL_BLOBS, MALL_BOX, MALL_POLLS. Prints one JSON line per poll.
    """
    import json
    import os
    import sys
    import time

    from inbox.jobs.poll import Poller

    config = base_config(Path(os.environ["MALL_BLOBS"]), os.environ["MALL_DB"])
    config["security"] = {"encryption_key": os.environ["MALL_KEY"]}  # the parent's key
    settings = load_settings(config, environ={})
    runtime = build_runtime(settings)
    runtime.mall_env = fast_env()
    poller = Poller(runtime)
    for _ in range(int(os.environ["MALL_POLLS"])):
        start = time.monotonic()
        result = poller.poll(int(os.environ["MALL_BOX"]))
        sys.stdout.write(json.dumps({"claimed": result.claimed, "imported": result.counts.imported,
                                     "error": result.error, "start": start, "end": time.monotonic()}) + "\n")
        sys.stdout.flush()
    runtime.engine.dispose()


"""The objects built once at start-up and shared by web, scheduler and CLI: settings, engine, sessions, blobs, secrets, seams."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from inbox.config import Settings
from inbox.crypto import SecretBox
from inbox.db import make_engine
from inbox.seams import Seams, real_seams
from inbox.sources import redact
from inbox.storage import BlobStore, make_private_dir


@dataclass
class Runtime:
    settings: Settings
    engine: Engine | None
    Session: sessionmaker[Session]
    blobs: BlobStore
    secrets: SecretBox
    seams: Seams = field(default_factory=real_seams)  # the way out to IMAP, SMTP and malls


def build_runtime(
    settings: Settings, *, bind: Engine | Connection | None = None, seams: Seams | None = None
) -> Runtime:
    """Build the runtime; ``bind`` (tests) replaces the engine made from the settings' URL and
    ``seams`` (tests, demo) the real IMAP, SMTP and mall implementations.

    Also wires the app (``inbox.wiring.wire``): every edge that builds a runtime — web app,
    scheduler, CLI command — sees the same registries; and keeps the configured secrets and the
    HTTP client's request URLs out of the logs.
    """
    from inbox.wiring import wire  # here, not at the top: `inbox parse` imports this module

    wire()
    redact.install()
    redact.remember_secret(
        settings.secret_key, settings.encryption_key, settings.alert_smtp.get("password")
    )
    redact.remember_secret(*(p.client_secret for p in settings.sso.providers))
    url_password = make_url(settings.database_url).password
    redact.remember_secret(str(url_password) if url_password else None)
    if bind is None:
        url = settings.database_url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            make_private_dir(Path(url.removeprefix("sqlite:///")).parent)
        pool = {} if url.startswith("sqlite") else {"pool_size": settings.pool_size}
        engine: Engine | None = make_engine(url, **pool)
        factory = sessionmaker(engine, expire_on_commit=False)
    else:
        engine = bind if isinstance(bind, Engine) else None
        factory = sessionmaker(
            bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
    return Runtime(
        settings=settings,
        engine=engine,
        Session=factory,
        blobs=BlobStore(settings.blob_dir),
        secrets=SecretBox(settings.encryption_key),
        seams=seams or real_seams(),
    )

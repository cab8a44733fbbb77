"""Secrets stay secret: `inbox run --demo` at DEBUG with every mall and mailbox secret set logs
none of them; the demo's config.toml and data directory are readable by the owner only."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from inbox.config import load_settings
from inbox.db import utcnow
from inbox.models import Mailbox, MailboxKind
from inbox.runtime import build_runtime
from inbox.services import outbox
from tests.support.smtp_server import SmtpServer, free_port

SECRETS = {
    MailboxKind.RAKUTEN: {"service_secret": "rk-service-S3CRET-7f1a", "license_key": "rk-licence-S3CRET-9b2c"},
    MailboxKind.YAHOO: {
        "client_id": "yh-client-ID-S3CRET-41d0", "client_secret": "yh-client-S3CRET-5e6f",
        "refresh_token": "yh-refresh-S3CRET-8a9b",
    },
}  # fmt: skip
SMTP_USER, SMTP_PASSWORD = "support-smtp", "smtp-pass-S3CRET-0c3d"
ALERT_SMTP_PASSWORD = "alert-smtp-S3CRET-2e4f"


def _inbox(*args: str, cwd: Path, env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "inbox.cli", *args], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw,
    )  # fmt: skip


def _set_every_secret(tmp_path: Path, smtp_port: int) -> None:
    runtime = build_runtime(load_settings(path=tmp_path / "config.toml"))
    try:
        with runtime.Session() as session:
            for mailbox in session.scalars(select(Mailbox)):
                if mailbox.kind in SECRETS:
                    mailbox.secret_encrypted = runtime.secrets.seal(SECRETS[mailbox.kind])
                else:
                    mailbox.settings = {
                        **mailbox.settings, "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                        "smtp_security": "plain", "smtp_username": SMTP_USER,
                    }  # fmt: skip
                    mailbox.secret_encrypted = runtime.secrets.seal(
                        {"smtp_password": SMTP_PASSWORD}
                    )
                    outbox.enqueue(
                        session, kind="reply", idempotency_key=f"log-test-{mailbox.id}",
                        now=utcnow(), mail_from=mailbox.address,
                        recipients=["customer@example.jp"], mailbox_id=mailbox.id,
                        raw=b"From: x@example.jp\r\nSubject: test\r\n\r\nhello\r\n",
                    )  # fmt: skip
            session.commit()
    finally:
        runtime.engine.dispose()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_the_demo_logs_no_secret_at_debug_level(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the demo's config.toml names paths relative to it
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("INBOX_")},
        "INBOX_LOG_LEVEL": "DEBUG", "INBOX_SMTP_PASSWORD": ALERT_SMTP_PASSWORD,
        "PYTHONUNBUFFERED": "1",
    }  # fmt: skip
    demo = _inbox("demo", cwd=tmp_path, env=env)
    out_demo = demo.communicate(timeout=300)[0].decode("utf-8", "replace")
    assert demo.returncode == 0, out_demo

    config = tmp_path / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "var" / "blobs").stat().st_mode) == 0o700
    text = config.read_text()
    text = text.replace("outbox_seconds = 10", "outbox_seconds = 1")
    config.write_text(text)
    settings = load_settings(path=config)

    with SmtpServer(auth=(SMTP_USER, SMTP_PASSWORD)) as smtp:
        _set_every_secret(tmp_path, smtp.port)
        server = _inbox("run", "--port", str(free_port()), cwd=tmp_path, env=env)
        lines: list[str] = []
        try:
            deadline = time.monotonic() + 120
            os.set_blocking(server.stdout.fileno(), False)
            while time.monotonic() < deadline:
                chunk = server.stdout.read()
                if chunk:
                    lines.append(chunk.decode("utf-8", "replace"))
                log = "".join(lines)
                done_mall = "expiry-date" in log and "externalTalkList" in log
                if done_mall and len(smtp.messages) >= 2 and "outbox:" in log:
                    break
                time.sleep(0.2)
        finally:
            server.terminate()
            rest = server.communicate(timeout=30)[0] or b""
            lines.append(rest.decode("utf-8", "replace"))
    log = out_demo + "".join(lines)
    assert "expiry-date" in log, log[-3000:]  # the licence check ran and was logged
    assert len(smtp.messages) >= 2 and all(login == SMTP_USER for login in smtp.logins)
    assert " DEBUG " in log
    secrets = [
        *(v for kind in SECRETS.values() for v in kind.values()),
        SMTP_PASSWORD, ALERT_SMTP_PASSWORD, settings.secret_key, settings.encryption_key,
        base64.b64encode(
            f"{SECRETS[MailboxKind.RAKUTEN]['service_secret']}:{SECRETS[MailboxKind.RAKUTEN]['license_key']}".encode()
        ).decode(),
    ]  # fmt: skip
    leaked = [s for s in secrets if s in log]
    assert leaked == [], [line for line in log.splitlines() if any(s in line for s in leaked)][:5]

"""pytest plugin with the outside-server fixtures: Dovecot IMAP, SMTP and headless Chromium.

Load it from tests/conftest.py with ``pytest_plugins = ["tests.support.fixtures"]``.
A missing program skips the test on a laptop and fails it in CI (see ``require_server``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.dovecot_server import DovecotServer, find_dovecot
from tests.support.requirements import require_server
from tests.support.smtp_server import SmtpServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DOVECOT_USERS = {"support@example.test": "secret", "sales@example.test": "secret"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
INSTALL_HINT = "run .ci/install-system-packages"


def _require_dovecot(tls: bool = False) -> None:
    require_server(
        "dovecot", find_dovecot() is not None, f"dovecot is not installed; {INSTALL_HINT}"
    )
    if tls:
        require_server("openssl", shutil.which("openssl") is not None, "openssl is not installed")


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A fresh Dovecot (plain IMAP on 127.0.0.1) with support@ and sales@example.test / secret."""
    _require_dovecot()
    with DovecotServer(users=DOVECOT_USERS) as srv:
        yield srv


@pytest.fixture
def dovecot_tls() -> Iterator[DovecotServer]:
    """Like ``dovecot`` plus IMAPS (``imaps_port``) and STARTTLS, self-signed cert for
    localhost/127.0.0.1; ``srv.ssl_context()`` trusts it."""
    _require_dovecot(tls=True)
    with DovecotServer(users=DOVECOT_USERS, imaps=True) as srv:
        yield srv


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on a free loopback port, no AUTH; mail lands in ``.messages``."""
    with SmtpServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium driven by Playwright for the whole session."""
    require_server("chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} is missing; {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - it is a test dependency
        require_server("playwright", False, "the playwright package is not installed")
        raise
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception:
        pw.stop()
        raise
    try:
        yield b
    finally:
        b.close()
        pw.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in its own browser context (no cookies or storage shared between tests)."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()

"""The `server` extra: gunicorn serves the app from a checkout, as README's scale-out line says."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx
import pytest

from inbox.crypto import generate_key
from inbox.db import make_engine
from inbox.schema import upgrade
from tests.support.dovecot_server import free_port
from tests.support.server_process import clean_env, serving

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("target", ["wsgi:app", "inbox.wsgi:app"])
def test_gunicorn_with_two_workers_serves_the_login_page(tmp_path, target):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    assert gunicorn, "gunicorn is not installed: it is in the test and server extras"
    url = f"sqlite:///{tmp_path}/inbox.sqlite"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    env = clean_env(
        INBOX_SECRET_KEY="gunicorn-secret-0123456789",
        INBOX_ENCRYPTION_KEY=generate_key(),
        INBOX_DATABASE_URL=url,
        INBOX_BLOB_DIR=str(tmp_path / "blobs"),
        INBOX_CONFIG=str(tmp_path / "config.toml"),  # not a config.toml of the checkout
        HOME=str(tmp_path),  # gunicorn keeps a control socket under $HOME
    )
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Started in the checkout, as README says.
    command = [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", target]
    with serving(command, url=f"{base}/login", cwd=ROOT, env=env, log=tmp_path / "gunicorn.log"):
        page = httpx.get(f"{base}/login", timeout=30)
        assert page.status_code == 200
        assert 'name="password"' in page.text

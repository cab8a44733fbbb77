"""The built wheel installs a program that runs anywhere, not only in a checkout.

Builds the sdist and, from it, the wheel (`python -m build`, as a release would), installs the
wheel with its `server` extra into a fresh venv outside the checkout, and from an empty folder
runs `inbox db upgrade`, `inbox demo`, `inbox run` and `gunicorn inbox.wsgi:app`, fetching the
log-in page from each server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from inbox.crypto import generate_key
from tests.factories import CSRF_RE
from tests.support.dovecot_server import free_port
from tests.support.server_process import clean_env, serving

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _run(command: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _check_login_page(client: httpx.Client) -> str:
    """GET /login: 200, the form, in Japanese (the catalogue is installed), and its stylesheet."""
    page = client.get("/login")
    assert page.status_code == 200
    assert '<form method="post"' in page.text and 'name="password"' in page.text
    assert "ログイン" in page.text
    assert client.get("/static/inbox.css").status_code == 200
    return page.text


def test_built_wheel_installs_a_program_that_runs_from_an_empty_folder(tmp_path):
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    env = clean_env()
    _run([sys.executable, "-m", "build", "--outdir", dist, ROOT], cwd=tmp_path, env=env)
    (wheel,) = dist.glob("inbox-*.whl")
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env)
    bin_dir = venv / "bin"
    _run([bin_dir / "python", "-m", "pip", "install", "-q", f"{wheel}[server]"], cwd=tmp_path, env=env)

    env = clean_env(
        INBOX_SECRET_KEY="wheel-smoke-secret-0123456789",
        INBOX_ENCRYPTION_KEY=generate_key(),
        HOME=str(tmp_path),  # gunicorn keeps a control socket under $HOME
    )
    where = _run([bin_dir / "python", "-c", "import inbox; print(inbox.__file__)"], cwd=work, env=env)
    assert Path(where.strip()).is_relative_to(venv), f"inbox imported from {where}, not the venv"

    assert "up to date" in _run([bin_dir / "inbox", "db", "upgrade"], cwd=work, env=env)
    assert "demo-password" in _run([bin_dir / "inbox", "demo"], cwd=work, env=env)
    assert (work / "config.toml").read_text(encoding="utf-8").startswith("# inbox configuration")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [bin_dir / "inbox", "run", "--host", "127.0.0.1", "--port", str(port)]
    with (
        serving(command, url=f"{base}/login", cwd=work, env=env, log=tmp_path / "run.log"),
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        token = CSRF_RE.search(_check_login_page(client))
        assert token, "no CSRF token on the log-in page"
        answer = client.post(
            "/login",
            data={"csrf_token": token.group(1) or token.group(2), "email": "admin@demo.example", "password": "demo-password"},
            follow_redirects=True,
        )
        assert answer.status_code == 200 and answer.url.path != "/login", answer.text[:500]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [bin_dir / "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "inbox.wsgi:app"]
    with (
        serving(command, url=f"{base}/login", cwd=work, env=env, log=tmp_path / "gunicorn.log"),
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        _check_login_page(client)

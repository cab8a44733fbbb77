"""The `inbox` command: help, migrations, users, and clear errors for bad configuration."""

import subprocess
import sys

from click.testing import CliRunner
from sqlalchemy import select

from inbox.cli import cli
from inbox.crypto import generate_key
from inbox.db import make_engine, utcnow
from inbox.models import Role, User
from inbox.schema import current_revision, head_revision
from inbox.services.accounts import authenticate


def env_for(tmp_path, url=None):
    return {
        "INBOX_SECRET_KEY": "cli-secret-key-0123456789",
        "INBOX_ENCRYPTION_KEY": generate_key(),
        "INBOX_DATABASE_URL": url or f"sqlite:///{tmp_path}/cli.sqlite",
        "INBOX_BLOB_DIR": str(tmp_path / "blobs"),
        "INBOX_CONFIG": str(tmp_path / "absent-is-fine.toml"),
    }


def test_help_lists_every_command_with_a_description():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ["run", "scheduler", "db", "users", "demo", "keygen"]:
        assert command in result.output


def test_db_upgrade_then_users_create_makes_a_user_who_can_log_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = env_for(tmp_path)
    env.pop("INBOX_CONFIG")
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    engine = make_engine(env["INBOX_DATABASE_URL"])
    assert current_revision(engine) == head_revision()
    result = runner.invoke(
        cli,
        ["users", "create", "--email", "Boss@Example.com", "--role", "admin", "--password", "long enough pw"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        user = s.scalar(select(User))
        assert user.email == "boss@example.com" and user.role == Role.ADMIN
        assert authenticate(s, "boss@example.com", "long enough pw", remote_addr="t", now=utcnow()).id == user.id
    engine.dispose()


def test_command_on_unmigrated_database_says_which_command_to_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = env_for(tmp_path)
    env.pop("INBOX_CONFIG")
    result = CliRunner().invoke(cli, ["users", "create", "--email", "a@b.c", "--password", "xxxxxxxxxxxx"], env=env)
    assert result.exit_code == 2
    assert "inbox db upgrade" in result.output


def test_missing_secret_stops_the_command_with_one_line_naming_the_key(tmp_path):
    env = {"INBOX_CONFIG": "", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "inbox.cli", "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "server.secret_key" in proc.stderr

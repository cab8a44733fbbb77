"""Fixtures for command tests: a migrated database per backend, the environment the command reads, a runner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from inbox.cli import cli
from inbox.config import load_settings
from inbox.runtime import Runtime, build_runtime
from tests.conftest import ENCRYPTION_KEY


@dataclass
class Inbox:
    """Runs `inbox ...` against one fresh database; ``runtime`` reads what the command wrote."""

    env: dict[str, str | None]
    runtime: Runtime
    blob_dir: Path

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env, input=input)


def command_env(db_url: str, tmp_path: Path) -> dict[str, str | None]:
    return {
        "INBOX_SECRET_KEY": "cli-secret-key-0123456789",
        "INBOX_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "INBOX_DATABASE_URL": db_url,
        "INBOX_BLOB_DIR": str(tmp_path / "blobs"),
        "INBOX_CONFIG": None,
    }


@pytest.fixture
def inbox(fresh_databases, tmp_path, monkeypatch) -> Iterator[Inbox]:
    monkeypatch.chdir(tmp_path)  # no ./config.toml here
    env = command_env(fresh_databases.migrated_url(), tmp_path)
    settings = load_settings({}, environ={k: v for k, v in env.items() if v})
    runtime = build_runtime(settings)
    yield Inbox(env, runtime, tmp_path / "blobs")
    runtime.engine.dispose()

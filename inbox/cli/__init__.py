"""The `inbox` command line: one click group; each module adds the commands of one area."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from inbox.config import ConfigError, Settings, load_settings
from inbox.runtime import Runtime, build_runtime
from inbox.schema import DatabaseNotMigrated, ensure_current


class CliContext:
    """Settings and runtime, built on first use so that `--help` needs no configuration."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._runtime: Runtime | None = None

    def settings(self) -> Settings:
        return self.runtime().settings

    def runtime(self, *, check_schema: bool = True) -> Runtime:
        if self._runtime is None:
            self._runtime = build_runtime(load_settings(path=self.config_path))
            if self._runtime.engine is not None:  # connections close when the command ends
                ctx = click.get_current_context(silent=True)
                if ctx is not None:
                    ctx.find_root().call_on_close(self._runtime.engine.dispose)
        if check_schema and self._runtime.engine is not None:
            ensure_current(self._runtime.engine)
        return self._runtime


pass_cli = click.make_pass_decorator(CliContext)


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn configuration and schema problems into one clear line on stderr and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, DatabaseNotMigrated) as exc:
            click.echo(f"inbox: {exc}", err=True)
            sys.exit(2)

    return wrapper


@click.group(help="inbox: shared-inbox email ticketing for support teams.")
@click.option(
    "--config",
    "config_path",
    envvar="INBOX_CONFIG",
    type=click.Path(dir_okay=False),
    help="Path of config.toml (default: ./config.toml, or $INBOX_CONFIG).",
)
@click.version_option(package_name="inbox")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    ctx.obj = CliContext(config_path)


def main() -> None:
    cli(prog_name="inbox")


# Each module adds its commands to `cli` when imported.
from inbox.cli import admin, flagged, mail, server  # noqa: E402, F401

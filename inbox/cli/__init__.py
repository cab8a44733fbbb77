"""The `inbox` command line: one click group; each module adds the commands of one area.

The area modules are imported only when one of their commands runs (or for `--help`), so a
light command such as `inbox parse` never loads the database, the web app or the scheduler.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from inbox.config import Settings
    from inbox.runtime import Runtime


class CliContext:
    """Settings and runtime, built on first use so that `--help` needs no configuration."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._runtime: Runtime | None = None

    def settings(self) -> Settings:
        return self.runtime().settings

    def runtime(self, *, check_schema: bool = True) -> Runtime:
        from inbox.config import load_settings
        from inbox.runtime import build_runtime
        from inbox.schema import ensure_current

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
        except Exception as exc:
            from inbox.config import ConfigError
            from inbox.schema import DatabaseNotMigrated

            if not isinstance(exc, ConfigError | DatabaseNotMigrated):
                raise
            click.echo(f"inbox: {exc}", err=True)
            sys.exit(2)

    return wrapper


# Commands that live in a module of their own and need nothing else loaded.
_LIGHT_COMMANDS = {"parse": "inbox.cli.parse"}
# Modules that add the other commands to `cli` when imported.
_AREA_MODULES = (
    "inbox.cli.admin", "inbox.cli.doctor", "inbox.cli.flagged", "inbox.cli.mail", "inbox.cli.server",
    "inbox.cli.parse", "inbox.cli.report", "inbox.cli.retention", "inbox.cli.mall",
)


class _LazyGroup(click.Group):
    """A group that imports a command's module only when the command is asked for."""

    def _load_all(self) -> None:
        for module in _AREA_MODULES:
            importlib.import_module(module)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name in _LIGHT_COMMANDS:
                importlib.import_module(_LIGHT_COMMANDS[cmd_name])
            else:
                self._load_all()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_all()
        return super().list_commands(ctx)


@click.group(cls=_LazyGroup, help="inbox: shared-inbox email ticketing for support teams.")
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


"""`inbox parse`: print how the ingest path reads messages, as JSON. Needs no database.

This module imports only the parser and the settings reader, never the database, the web app
or the scheduler, so the command starts fast enough to be run in a loop over many files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from inbox.cli import CliContext, cli

EXIT_PROBLEM = 1
DEFAULT_TICKET_PATTERN = r"\[#(\d+)\]"


def _ticket_pattern(config_path: str | None) -> str:
    """The configured ticket token when a configuration loads; the default otherwise."""
    from inbox.config import ConfigError, load_settings

    try:
        return load_settings(path=config_path).ticket_pattern
    except (ConfigError, OSError):
        return DEFAULT_TICKET_PATTERN


def _read(file: str) -> tuple[bytes | None, str]:
    """The message bytes, or None and a one-line reason."""
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        return None, f"cannot read {file}: {exc.strerror or exc}."
    if not raw.strip():
        where = "standard input" if file == "-" else file
        return None, f"{where} is empty: there is no message to read."
    return raw, ""


def _write(obj: dict[str, Any], *, indent: int | None) -> None:
    text = json.dumps(obj, ensure_ascii=False, indent=indent)
    out = sys.stdout.buffer
    out.write(text.encode("utf-8", "replace") + b"\n")
    out.flush()


@cli.command(
    "parse",
    help="Print as JSON how the ingest path reads messages (FILE..., or - for stdin). "
    "One file prints one indented object; several print one object per line, in order, "
    'each with its "file".',
)
@click.argument("files", metavar="FILE...", nargs=-1, required=True)
@click.option("--raw-headers", is_flag=True, help="Add the headers as they are, undecoded.")
@click.pass_obj
def parse_command(obj: CliContext | None, files: tuple[str, ...], raw_headers: bool) -> None:
    from inbox.ingest.parse import parse_message

    pattern = _ticket_pattern(obj.config_path if obj is not None else None)
    several = len(files) > 1
    failed = False
    for file in files:
        raw, problem = _read(file)
        if raw is None:
            click.echo(f"inbox: {problem}", err=True)
            failed = True
            if several:
                _write({"file": file, "error": problem}, indent=None)
            continue
        parsed = parse_message(raw, ticket_pattern=pattern).to_json_dict(raw_headers=raw_headers)
        if several:
            _write({"file": file, **parsed}, indent=None)
        else:
            _write(parsed, indent=2)
    if failed:
        sys.exit(EXIT_PROBLEM)

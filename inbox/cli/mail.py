"""Mail commands: import history, add, list, check and poll mailboxes (`inbox parse` is in parse.py)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from functools import wraps
from itertools import chain
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from inbox.cli import CliContext, cli, friendly_errors, pass_cli
from inbox.db import utcnow
from inbox.ingest.store import BatchCounts
from inbox.models import Mailbox
from inbox.runtime import Runtime
from inbox.services.errors import InboxError
from inbox.sources import RawItem

EXIT_PROBLEM = 1


def domain_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show a service's plain-words error as one line on stderr and exit 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InboxError as exc:
            click.echo(f"inbox: {exc}", err=True)
            sys.exit(EXIT_PROBLEM)

    return wrapper


def _runtime(obj: CliContext) -> Runtime:
    """The runtime, with its connections closed when the command ends."""
    runtime = obj.runtime()
    if runtime.engine is not None:
        click.get_current_context().call_on_close(runtime.engine.dispose)
    return runtime


def _fail(message: str) -> None:
    click.echo(f"inbox: {message}", err=True)
    sys.exit(EXIT_PROBLEM)


# --- inbox import --------------------------------------------------------------------------


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:.0f} messages/s" if seconds > 0 else "-"


def _status(totals: BatchCounts, started: float) -> str:
    done = totals.imported + totals.duplicates
    return (
        f"imported {totals.imported}, duplicates {totals.duplicates}, "
        f"warnings {totals.with_warnings}, {_rate(done, time.monotonic() - started)}"
    )


class _Progress:
    """A click progress bar on a terminal; nothing at all otherwise or with --quiet."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self.bar = None
        if enabled and total:
            self.bar = click.progressbar(
                length=total,
                label="Importing",
                show_pos=True,
                show_eta=True,
                item_show_func=lambda status: status,
            )
            self.bar.__enter__()

    def update(self, n: int, status: str) -> None:
        if self.bar is not None:
            self.bar.update(n, status)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _items(paths: tuple[Path, ...]) -> Iterator[RawItem]:
    from inbox.sources.local import iter_local

    return chain.from_iterable(iter_local(p) for p in paths)


@cli.command(
    "import",
    help="Import .eml files, a Maildir or an mbox file into a mailbox (resumable, safe to rerun).",
)
@click.option("--mailbox", "mailbox_name", required=True, help="Name of the mailbox to fill.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read and count, write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, only the summary.")
@click.option("--batch-size", type=click.IntRange(1), help="Messages per commit (default: ingest.batch_size).")
@pass_cli
@friendly_errors
@domain_errors
def import_command(
    obj: CliContext,
    mailbox_name: str,
    paths: tuple[Path, ...],
    dry_run: bool,
    quiet: bool,
    batch_size: int | None,
) -> None:
    from inbox.jobs.poll import chunks, ingest_options
    from inbox.services.mail_import import DryRun, import_batch
    from inbox.services.mailboxes import get_mailbox
    from inbox.sources.local import LocalSourceError, count_local

    runtime = _runtime(obj)
    with runtime.Session() as session:
        mailbox_id = get_mailbox(session, name=mailbox_name).id
    options = ingest_options(runtime)
    show = not quiet and sys.stdout.isatty()
    dry = DryRun(options) if dry_run else None
    totals, started = BatchCounts(), time.monotonic()
    try:
        total = sum(count_local(p) or 0 for p in paths) if show else None
        progress = _Progress(total, show)
        try:
            for batch in chunks(_items(paths), batch_size or runtime.settings.batch_size):
                with runtime.Session() as session:
                    mailbox = session.get(Mailbox, mailbox_id)
                    if dry is not None:
                        counts = dry.batch(session, mailbox, batch)
                        session.rollback()
                    else:
                        counts = import_batch(
                            session, runtime.blobs, mailbox, batch, now=utcnow(), options=options
                        )
                        session.commit()
                totals.add(counts)
                progress.update(len(batch), _status(totals, started))
        finally:
            progress.close()
    except LocalSourceError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        click.echo(
            f"\nInterrupted: {totals.imported} messages were stored. Run the same command"
            " again to continue; what is stored is skipped.",
            err=True,
        )
        sys.exit(130)
    elapsed = time.monotonic() - started
    done = totals.imported + totals.duplicates
    if dry is not None:
        click.echo(
            f"Dry run, nothing written: would import {totals.imported}, "
            f"duplicates skipped {totals.duplicates}, with warnings {totals.with_warnings}."
        )
    else:
        click.echo(
            f"Imported {totals.imported}, duplicates skipped {totals.duplicates}, "
            f"stored with warnings {totals.with_warnings} "
            f"({elapsed:.1f} s, {_rate(done, elapsed)})."
        )


# --- inbox mailbox ... ---------------------------------------------------------------------


@cli.group("mailbox", help="Add, list, check and poll mailboxes.")
def mailbox_group() -> None:
    pass


def _when(value: Any, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if value else "never"


@mailbox_group.command("list", help="Each mailbox: kind, last successful poll, last error, open/total threads.")
@pass_cli
@friendly_errors
def mailbox_list(obj: CliContext) -> None:
    from inbox.services.mailboxes import mailbox_overview

    runtime = _runtime(obj)
    zone = ZoneInfo(runtime.settings.default_timezone)
    with runtime.Session() as session:
        rows = mailbox_overview(session)
    if not rows:
        click.echo("No mailboxes yet. Add one with: inbox mailbox add NAME --kind imap ...")
        return
    width = max(len(r.name) for r in rows)
    click.echo(f"{'NAME':<{width}}  KIND     THREADS (OPEN/TOTAL)  LAST SUCCESSFUL POLL    LAST ERROR")
    for r in rows:
        counts = f"{r.open_threads}/{r.total_threads}"
        name = r.name + ("" if r.active else " (inactive)")
        error = (r.last_error or "").replace("\n", " ")
        if error and r.last_error_at:
            error = f"{_when(r.last_error_at, zone)}: {error}"
        click.echo(
            f"{name:<{width}}  {r.kind:<7}  {counts:<20}  {_when(r.last_success_at, zone):<22}  {error or '-'}"
        )


def _secret(env_name: str | None, prompt: str) -> str:
    if env_name:
        value = os.environ.get(env_name, "")
        if not value:
            _fail(f"the environment variable {env_name} is not set or empty.")
        return value
    return click.prompt(prompt, hide_input=True, default="", show_default=False)


@mailbox_group.command("add", help="Add an IMAP or local mailbox (passwords by prompt or --password-env).")
@click.argument("name")
@click.option("--kind", type=click.Choice(["imap", "local"]), required=True)
@click.option("--address", help="The mailbox's own address (From: of replies).")
@click.option("--display-name", help="Name shown in From: of replies.")
@click.option("--path", help="local: a Maildir, an mbox file or a folder of .eml files.")
@click.option("--host", help="imap: IMAP server host name.")
@click.option("--port", type=int, help="imap: port (default 993 for ssl, 143 otherwise).")
@click.option("--security", type=click.Choice(["ssl", "starttls", "plain"]), default="ssl", show_default=True)
@click.option("--username", help="imap: log-in name (default: the address).")
@click.option("--password-env", metavar="VAR", help="imap: read the password from this environment variable.")
@click.option("--folder", "folders", multiple=True, help="Folder to watch (repeatable; default INBOX).")
@click.option("--sent-folder", default="Sent", show_default=True, help="Sent folder ('' for none).")
@click.option("--after-fetch", type=click.Choice(["leave", "mark_seen", "move"]), default="leave", show_default=True)
@click.option("--move-to", help="Folder to move fetched mail to (with --after-fetch move).")
@click.option("--poll-interval", type=click.IntRange(10), default=60, show_default=True, help="Seconds.")
@click.option("--smtp-host", help="SMTP server for replies (imap and local).")
@click.option("--smtp-port", type=int, help="SMTP port (default 587 for starttls, 465 for ssl).")
@click.option("--smtp-security", type=click.Choice(["ssl", "starttls", "plain"]), default="starttls", show_default=True)
@click.option("--smtp-username", help="SMTP log-in name (asks for the password).")
@click.option("--smtp-password-env", metavar="VAR", help="Read the SMTP password from this variable.")
@pass_cli
@friendly_errors
@domain_errors
def mailbox_add(obj: CliContext, name: str, kind: str, **opts: Any) -> None:
    from inbox.services.mailboxes import create_mailbox, validate_settings

    settings: dict[str, Any]
    secrets: dict[str, str] = {}
    if kind == "local":
        settings = {"path": opts["path"]}
    else:
        settings = {
            "imap_host": opts["host"],
            "imap_port": opts["port"],
            "imap_security": opts["security"],
            "imap_username": opts["username"],
            "folders": list(opts["folders"]) or ["INBOX"],
            "sent_folder": opts["sent_folder"],
            "after_fetch": opts["after_fetch"],
            "move_to": opts["move_to"],
        }
    if opts["smtp_host"]:  # every kind that answers by mail sends through SMTP
        smtp_port = opts["smtp_port"] or {"ssl": 465, "starttls": 587}.get(opts["smtp_security"], 25)
        settings.update(
            smtp_host=opts["smtp_host"],
            smtp_port=smtp_port,
            smtp_security=opts["smtp_security"],
            smtp_username=opts["smtp_username"],
        )
    runtime = _runtime(obj)
    with runtime.Session() as session:
        validate_settings(kind, {k: v for k, v in settings.items() if v is not None})
        if kind == "imap":
            secrets["imap_password"] = _secret(opts["password_env"], "IMAP password")
        if opts["smtp_host"] and opts["smtp_username"]:
            secrets["smtp_password"] = _secret(opts["smtp_password_env"], "SMTP password")
        mailbox = create_mailbox(
            session,
            runtime.secrets,
            name=name,
            kind=kind,
            address=opts["address"],
            settings=settings,
            secrets=secrets,
            display_name=opts["display_name"],
            poll_interval_seconds=opts["poll_interval"],
        )
        session.commit()
        click.echo(f"Added {kind} mailbox {mailbox.name} (id {mailbox.id}). Check it with: inbox mailbox check {mailbox.name}")


@mailbox_group.command("check", help="Log in to the mailbox's servers and list its folders; says what is wrong.")
@click.argument("name")
@click.option("--timeout", type=float, default=15.0, show_default=True, help="Seconds per network step.")
@pass_cli
@friendly_errors
@domain_errors
def mailbox_check(obj: CliContext, name: str, timeout: float) -> None:
    from inbox.services.mailbox_check import check_mailbox
    from inbox.services.mailboxes import get_mailbox
    from inbox.services.mall_rate import env_for

    runtime = _runtime(obj)
    with runtime.Session() as session:
        mailbox = get_mailbox(session, name=name)
        result = check_mailbox(mailbox, runtime.secrets, timeout=timeout, env=env_for(runtime))
    click.echo(f"Mailbox {result.mailbox} ({result.kind}): {result.target}")
    if result.logged_in:
        click.echo("  Logged in.")
    for f in result.folders:
        if f.ok:
            click.echo(
                f"  {f.name} ({f.role}): {f.messages} messages, UIDVALIDITY {f.uidvalidity},"
                f" UIDNEXT {f.uidnext}"
            )
        else:
            click.echo(f"  {f.name} ({f.role}): missing")
    for note in result.notes:
        click.echo(f"  {note}")
    if result.smtp_target:
        done = ", ".join(result.smtp_steps) or "nothing"
        click.echo(f"{result.smtp_target}: {done} OK" if result.smtp_steps else result.smtp_target)
    for problem in result.problems:
        click.echo(f"Problem ({problem.service}): {problem.message}", err=True)
    if not result.ok:
        sys.exit(EXIT_PROBLEM)
    click.echo("OK: everything the mailbox needs can be reached.")


@mailbox_group.command("poll", help="Poll one mailbox now (as the scheduler would) and print the counts.")
@click.argument("name")
@pass_cli
@friendly_errors
@domain_errors
def mailbox_poll(obj: CliContext, name: str) -> None:
    from inbox.jobs.poll import Poller
    from inbox.services.mailboxes import get_mailbox

    runtime = _runtime(obj)
    with runtime.Session() as session:
        mailbox_id = get_mailbox(session, name=name).id
    result = Poller(runtime).poll(mailbox_id)
    if not result.claimed:
        _fail("another process is polling this mailbox right now; try again in a moment.")
    c = result.counts
    click.echo(
        f"Imported {c.imported}, duplicates skipped {c.duplicates}, stored with warnings {c.with_warnings}."
    )
    if result.error:
        _fail(f"the poll stopped: {result.error}")


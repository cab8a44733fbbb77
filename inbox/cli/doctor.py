"""`inbox doctor`: check configuration, database, every active mailbox and mall credentials, and
print what to fix. Read-only: it connects as inbox would, writes nothing and sends no mail."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from inbox.cli import CliContext, cli, pass_cli

KEY_WARN_DAYS = 14  # a mall key expiring sooner than this needs fixing
CONSENT_WARN_DAYS = 7  # a Yahoo! consent lapsing sooner: a warning; lapsed: needs fixing


def _line(ok: bool, text: str) -> None:
    click.echo(f"{'ok  ' if ok else 'FIX '} {text}")


def _warn(text: str) -> None:
    click.echo(f"WARN {text}")


@cli.command(help="Check configuration, database, each mailbox's servers and mall credentials; "
                  "print what to fix (exit 1 when something needs fixing).")
@click.option("--timeout", type=float, default=10.0, show_default=True,
              help="Seconds per network step of a mailbox check.")
@pass_cli
def doctor(obj: CliContext, timeout: float) -> None:
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from inbox.config import ConfigError
    from inbox.models import Mailbox
    from inbox.services.health import mailboxes, readiness
    from inbox.services.mailbox_check import check_mailbox
    from inbox.services.mall_rate import env_for

    problems = 0
    try:
        runtime = obj.runtime(check_schema=False)
    except ConfigError as exc:
        _line(False, f"configuration: {exc}")
        sys.exit(1)
    _line(True, f"configuration read; database {runtime.engine.url.render_as_string(hide_password=True)}")
    state = readiness(runtime.engine)
    if not state.database:
        _line(False, f"database: {state.problem}; check database.url / INBOX_DATABASE_URL")
        sys.exit(1)
    if not state.schema_current:
        _line(False, f"database: {state.problem}; run `inbox db upgrade`")
        sys.exit(1)
    _line(True, "database reachable, schema current")

    now = datetime.now(UTC)
    try:
        with runtime.Session() as session:
            boxes = list(session.scalars(select(Mailbox).where(Mailbox.active).order_by(Mailbox.name)))
            for box in boxes:
                result = check_mailbox(box, runtime.secrets, timeout=timeout, env=env_for(runtime))
                for problem in result.problems:
                    problems += 1
                    _line(False, f"mailbox {box.name} ({problem.service}): {problem.message}")
                if result.ok:
                    _line(True, f"mailbox {box.name} ({box.kind.value}): {result.target or 'reachable'}")
            for state in mailboxes(session, now=now):  # the figures /metrics shows
                days = state.license_days_left
                if state.active and days is not None and days < KEY_WARN_DAYS:
                    problems += 1
                    _line(False, f"mailbox {state.name}: the mall key expires in {days:.0f} days;"
                                 " issue a new one and enter it on the mailbox page")
                consent = state.consent_days_left
                if not state.active or consent is None or consent > CONSENT_WARN_DAYS:
                    continue
                if consent <= 0:
                    problems += 1
                    _line(False, f"mailbox {state.name}: the Yahoo! consent lapsed {-consent:.0f} days"
                                 " ago; authorise again at Yahoo! JAPAN on the mailbox page")
                else:
                    _warn(f"mailbox {state.name}: the Yahoo! consent lapses in {consent:.1f} days;"
                          " authorise again at Yahoo! JAPAN on the mailbox page")
    except SQLAlchemyError as exc:
        _line(False, f"database: {exc.__class__.__name__} while reading mailboxes")
        sys.exit(1)
    if not boxes:
        _line(False, "no active mailbox: add one with `inbox mailbox add` or on the Mailboxes page")
        problems += 1
    click.echo("Nothing to fix." if not problems else f"{problems} thing(s) to fix.")
    sys.exit(1 if problems else 0)

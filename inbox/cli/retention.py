"""Retention and erasure commands: `inbox retention show|set|run [--dry-run]` and
`inbox customer erase ADDRESS` (a customer's request to delete their data) and
`inbox customer backfill-orders` (order numbers of mail stored before they were gathered)."""

from __future__ import annotations

import sys

import click

from inbox.cli import CliContext, cli, friendly_errors, pass_cli


def _fail(message: object) -> None:
    click.echo(f"inbox: {message}", err=True)
    sys.exit(2)


def _counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in counts.items())


@cli.group(help="Delete or anonymise resolved threads after N months, per mailbox (off by default).")
def retention() -> None:
    pass


@retention.command("show", help="Each mailbox's retention policy.")
@pass_cli
@friendly_errors
def retention_show(obj: CliContext) -> None:
    from sqlalchemy import select

    from inbox.models import Mailbox
    from inbox.services import retention as service

    with obj.runtime().Session() as session:
        for box in session.scalars(select(Mailbox).order_by(Mailbox.name)):
            p = service.policy(box)
            click.echo(f"{box.name}\t" + ("off" if p is None else f"{p.action} after {p.months} months"))


@retention.command("set", help="Set a mailbox's policy: --months N --action delete|anonymise, or --off.")
@click.argument("mailbox")
@click.option("--months", type=int, help="Resolved threads whose last activity is older than this.")
@click.option("--action", type=click.Choice(["delete", "anonymise"]), help="What to do with them.")
@click.option("--off", is_flag=True, help="Keep everything (the default).")
@pass_cli
@friendly_errors
def retention_set(obj: CliContext, mailbox: str, months: int | None, action: str | None, off: bool) -> None:
    from sqlalchemy import select

    from inbox.db import utcnow
    from inbox.models import Mailbox
    from inbox.services import retention as service
    from inbox.services.errors import InvalidInput

    if off == (months is not None):
        _fail("give either --months with --action, or --off")
    with obj.runtime().Session() as session:
        box = session.scalar(select(Mailbox).where(Mailbox.name == mailbox))
        if box is None:
            _fail(f"no mailbox named {mailbox!r}")
        try:
            p = service.set_policy(session, box, None if off else months, action, actor_id=None, now=utcnow())
        except InvalidInput as exc:
            _fail(exc)
        session.commit()
        click.echo(f"{box.name}: " + ("off" if p is None else f"{p.action} after {p.months} months"))


@retention.command("run", help="Apply every mailbox's policy now (what the scheduler does hourly).")
@click.option("--dry-run", is_flag=True, help="Only list the threads that would go; change nothing.")
@pass_cli
@friendly_errors
def retention_run(obj: CliContext, dry_run: bool) -> None:
    from inbox.db import utcnow
    from inbox.jobs.poll import process_owner
    from inbox.services import retention as service

    runtime = obj.runtime()
    now = utcnow()
    if dry_run:
        with runtime.Session() as session:
            rows = service.eligible(session, now=now)
        for row in rows:
            click.echo(f"{row.action}\tthread {row.thread_id}\t{row.mailbox}\t{row.last_activity_at:%Y-%m-%d}")
        click.echo(f"{len(rows)} threads would be deleted or anonymised.")
        return
    result = service.run(runtime, owner=process_owner(), now=now)
    if not result.claimed:
        _fail("another process is running retention now; try again later")
    for name, counts in sorted(result.by_mailbox.items()):
        click.echo(f"{name}: {_counts_line(counts.as_dict())}")
    click.echo(f"Retention done in {len(result.by_mailbox)} mailboxes.")


@cli.group(help="A customer's data.")
def customer() -> None:
    pass


@customer.command("erase", help="Erase one customer's messages, attachments and raw mail (APPI request).")
@click.argument("address")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_cli
@friendly_errors
def customer_erase(obj: CliContext, address: str, yes: bool) -> None:
    from inbox.db import utcnow
    from inbox.services import retention as service
    from inbox.services.errors import InvalidInput

    if not yes:
        click.confirm(f"Erase everything inbox keeps about {address}? This cannot be undone", abort=True)
    runtime = obj.runtime()
    with runtime.Session() as session:
        try:
            counts = service.erase_customer(session, address, actor_id=None, now=utcnow())
        except InvalidInput as exc:
            _fail(exc)
        session.commit()
    blobs = service.remove_blobs(runtime.Session, runtime.blobs, counts.blob_candidates)
    click.echo(f"Erased: {_counts_line(counts.as_dict())}, blob files {blobs}.")


@customer.command("backfill-orders", help="Gather order numbers from existing threads (new mail gets them at ingest).")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 5000), help="Threads per transaction.")
@pass_cli
@friendly_errors
def customer_backfill_orders(obj: CliContext, batch: int) -> None:
    from inbox.services import customer_orders

    runtime = obj.runtime()
    last, threads, added = 0, 0, 0
    while True:
        with runtime.Session() as session:
            read, new, last = customer_orders.backfill(session, after_id=last, batch=batch)
            session.commit()
        if not read:
            break
        threads, added = threads + read, added + new
    click.echo(f"Read {threads} threads, added {added} order numbers.")

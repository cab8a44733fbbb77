"""Flagged mail commands: list the messages stored raw (and why), and read them again after an upgrade."""

from __future__ import annotations

import sys

import click

from inbox.cli import CliContext, cli, friendly_errors, pass_cli


@cli.group(help="Messages stored raw because they could not be read or stored as read.")
def flagged() -> None:
    pass


@flagged.command("list", help="Each flagged message: id, mailbox, received, why.")
@pass_cli
@friendly_errors
def flagged_list(obj: CliContext) -> None:
    from inbox.ingest.notices import english
    from inbox.services import quarantine

    runtime = obj.runtime()
    with runtime.Session() as session:
        rows = quarantine.flagged(session, limit=10_000)
        for m in rows:
            why = "; ".join(english(w) for w in m.parse_warnings)[:200]
            click.echo(f"{m.id}\tmailbox {m.mailbox_id}\t{m.received_at:%Y-%m-%d %H:%M}\t{why}")
        click.echo(f"{len(rows)} flagged messages.")
    runtime.engine and runtime.engine.dispose()


@flagged.command("reprocess", help="Read flagged messages again (the given ids, or --all) and fill them in.")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "all_", is_flag=True, help="Every flagged message.")
@pass_cli
@friendly_errors
def flagged_reprocess(obj: CliContext, ids: tuple[int, ...], all_: bool) -> None:
    from inbox.db import utcnow
    from inbox.jobs.poll import ingest_options
    from inbox.models import Message
    from inbox.services import quarantine

    if not ids and not all_:
        click.echo("inbox: give message ids, or --all.", err=True)
        sys.exit(2)
    runtime = obj.runtime()
    options = ingest_options(runtime)
    with runtime.Session() as session:
        if all_:
            outcomes = quarantine.reprocess_all(session, runtime.blobs, now=utcnow(), options=options)
        else:
            outcomes = []
            for message_id in ids:
                message = session.get(Message, message_id)
                if message is None or not message.parse_failed:
                    click.echo(f"{message_id}: not a flagged message", err=True)
                    continue
                outcomes.append(
                    quarantine.reprocess(session, runtime.blobs, message, now=utcnow(), options=options)
                )
        session.commit()
    for o in outcomes:
        click.echo(f"{o.message_id}: " + ("read, no longer flagged" if o.readable else f"still flagged: {o.error}"))
    click.echo(f"{sum(o.readable for o in outcomes)} of {len(outcomes)} read again.")
    runtime.engine and runtime.engine.dispose()

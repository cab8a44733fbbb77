"""`inbox mall check CHANNEL`: every read-only endpoint of a mall channel, and what it confirmed."""

from __future__ import annotations

import sys

import click

from inbox.cli import CliContext, cli, friendly_errors, pass_cli
from inbox.cli.mail import EXIT_PROBLEM, _runtime, domain_errors
from inbox.db import utcnow


@cli.group("mall", help="Mall channels (Rakuten, Yahoo!).")
def mall_group() -> None:
    pass


@mall_group.command(
    "check",
    help="Call each read-only endpoint the channel uses against the real mall and"
    " print what answered how, and which assumptions it confirmed or contradicted.",
)
@click.argument("name")
@pass_cli
@friendly_errors
@domain_errors
def mall_check(obj: CliContext, name: str) -> None:
    from inbox.services import mall_probe
    from inbox.services.mailboxes import get_mailbox

    runtime = _runtime(obj)
    with runtime.Session() as session:
        mailbox = get_mailbox(session, name=name)
        session.expunge(mailbox)  # no transaction held while rotated tokens are stored
    probes = mall_probe.probe_channel(runtime, mailbox, now=utcnow())
    click.echo(f"Channel {mailbox.name} ({mailbox.kind.value}):")
    for line in mall_probe.lines(probes):
        click.echo(f"  {line}")
    refused = [p for p in probes if p.outcome == "refused"]
    contradicted = [a for p in probes for a in p.assumptions if a.held is False]
    if refused or contradicted:
        click.echo(
            f"{len(refused)} endpoint(s) refused, {len(contradicted)} assumption(s) contradicted.",
            err=True,
        )
        sys.exit(EXIT_PROBLEM)
    click.echo("OK: every endpoint called answered as the connector assumes.")

"""Report commands: the reports page's figures for a period, CSV export, and rebuilding the KPI facts."""

from __future__ import annotations

import sys
from typing import Any

import click

from inbox.cli import CliContext, cli, friendly_errors, pass_cli


def _period(start: str | None, end: str | None, zone: str, **filters: Any):
    from zoneinfo import ZoneInfo

    from inbox.db import utcnow
    from inbox.services import reports
    from inbox.services.errors import InvalidInput

    tz = ZoneInfo(zone)
    args = {"start": start, "end": end, **{k: v for k, v in filters.items() if v is not None}}
    try:
        return reports.parse_filter(args, zone=tz, today=utcnow().astimezone(tz).date())
    except InvalidInput as exc:
        click.echo(f"inbox: {exc}", err=True)
        sys.exit(2)


_FILTERS = [
    click.option("--from", "start", metavar="YYYY-MM-DD", help="First day (default: 29 days before --to)."),
    click.option("--to", "end", metavar="YYYY-MM-DD", help="Last day (default: today)."),
    click.option("--zone", default="Asia/Tokyo", show_default=True, help="Timezone of the days."),
    click.option("--mailbox", type=int, help="Only this mailbox id."),
    click.option("--channel", help="Only mailboxes of this kind (imap, local, rakuten, yahoo)."),
    click.option("--agent", type=int, help="Only threads assigned to (replies written by) this user id."),
    click.option("--tag", help="Only threads with this tag."),
]


def _with_filters(fn):
    for option in reversed(_FILTERS):
        fn = option(fn)
    return fn


@cli.group(invoke_without_command=True, help="KPI figures for a period (as on the reports page).")
@_with_filters
@pass_cli
@friendly_errors
@click.pass_context
def report(ctx: click.Context, obj: CliContext, start, end, zone, mailbox, channel, agent, tag) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from inbox.services import report_export, reports

    flt = _period(start, end, zone, mailbox=mailbox, channel=channel, agent=agent, tag=tag)
    runtime = obj.runtime()
    with runtime.Session() as session:
        result = reports.build_report(session, None, flt)
        prev = flt.previous()
        click.echo(f"{'':<52}{str(flt.start) + '..' + str(flt.end):>24}{str(prev.start) + '..' + str(prev.end):>24}")
        for label, now, before in report_export.summary_rows(result):
            show = ["—" if v is None else str(v) for v in (now, before)]
            click.echo(f"{label:<52}{show[0]:>24}{show[1]:>24}")
        click.echo("Replies per agent:")
        for _id, name, n, before in result.agents:
            click.echo(f"  {name:<50}{n:>24}{before:>24}")


@report.command("export", help="Write one table as CSV: threads, summary, agents, backlog or heatmap.")
@click.argument("table")
@_with_filters
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout).")
@click.option("--plain", is_flag=True, help="UTF-8 without the byte-order mark Excel needs.")
@pass_cli
@friendly_errors
def report_export_cmd(obj: CliContext, table, start, end, zone, mailbox, channel, agent, tag, output, plain) -> None:
    from inbox.services import report_export
    from inbox.services.errors import InvalidInput

    flt = _period(start, end, zone, mailbox=mailbox, channel=channel, agent=agent, tag=tag)
    runtime = obj.runtime()
    with runtime.Session() as session:
        try:
            rows = report_export.table_rows(session, None, flt, table)
        except InvalidInput as exc:
            click.echo(f"inbox: {exc} Tables: {', '.join(report_export.TABLES)}.", err=True)
            sys.exit(2)
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            for line in report_export.csv_lines(rows, bom=not plain):
                out.write(line)
        finally:
            if output:
                out.close()


@report.command("rebuild-facts", help="Compute every thread's KPI facts again from its recorded history, "
                "then the daily report roll-ups from the facts.")
@click.option("--batch", default=1000, show_default=True, help="Threads per transaction.")
@pass_cli
@friendly_errors
def rebuild_facts(obj: CliContext, batch: int) -> None:
    from inbox.services import kpi_facts, report_rollups

    runtime = obj.runtime()
    with runtime.Session() as session:
        done = kpi_facts.rebuild_all(session, batch=max(1, batch), commit=session.commit)
        session.commit()
        report_rollups.rebuild(session)
        session.commit()
    click.echo(f"Rebuilt the facts of {done} threads and the report roll-ups.")

"""Long-running commands: the web UI with the scheduler in one process, or the scheduler alone."""

from __future__ import annotations

import logging
import os
import signal
import threading

import click

from inbox.cli import CliContext, cli, friendly_errors, pass_cli


def _logging() -> None:
    """Log to stderr at INBOX_LOG_LEVEL (default INFO), with secrets masked at every level."""
    from inbox.sources import redact

    level = os.environ.get("INBOX_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level if level in logging.getLevelNamesMapping() else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    redact.install(*logging.getLogger().handlers)


@cli.command(help="Run the web UI and the scheduler in one process (the embedded default).")
@click.option(
    "--demo", is_flag=True, help="First set up the demo (config, database, sample mail, users)."
)
@click.option("--host", default=None, help="Address to listen on (default: server.host).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: server.port).")
@click.option("--no-scheduler", is_flag=True, help="Serve the web UI only.")
@click.option("--threads", type=int, default=8, show_default=True, help="Web worker threads.")
@pass_cli
@friendly_errors
def run(
    obj: CliContext,
    demo: bool,
    host: str | None,
    port: int | None,
    no_scheduler: bool,
    threads: int,
) -> None:
    from waitress import serve

    from inbox import create_app
    from inbox.scheduler import start_background

    _logging()
    if demo:
        from inbox.cli.admin import demo as demo_command

        click.get_current_context().invoke(demo_command)
    runtime = obj.runtime()
    if obj.config_path:
        os.environ["INBOX_CONFIG"] = obj.config_path
    app = create_app()
    settings = runtime.settings
    scheduler = None
    if settings.scheduler_enabled and not no_scheduler:
        from inbox.demo import catcher_dir, start_catcher_if_used

        if start_catcher_if_used(runtime) is not None:
            click.echo(f"Demo replies are kept in {catcher_dir(runtime)} (Maildir).")
        scheduler = start_background(runtime)
    host, port = host or settings.host, port or settings.port
    click.echo(f"inbox is running at http://{host}:{port}/ (Ctrl-C to stop)")
    try:
        serve(app, host=host, port=port, threads=threads, ident="inbox")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@cli.command(help="Run the scheduler alone (polling, sending, alerts), e.g. beside gunicorn.")
@pass_cli
@friendly_errors
def scheduler(obj: CliContext) -> None:
    from inbox.scheduler import start_background

    _logging()
    runtime = obj.runtime()
    sched = start_background(runtime)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("Scheduler running (Ctrl-C to stop).")
    stop.wait()
    sched.shutdown(wait=True)

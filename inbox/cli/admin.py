"""Set-up commands: keys, database migrations, users, and the demo data."""

from __future__ import annotations

import click

from inbox.cli import CliContext, cli, friendly_errors, pass_cli
from inbox.crypto import generate_key
from inbox.db import utcnow
from inbox.models import Role
from inbox.schema import upgrade
from inbox.services import accounts
from inbox.services.errors import InvalidInput


@cli.command(help="Print a new encryption key for security.encryption_key.")
def keygen() -> None:
    click.echo(generate_key())


@cli.group(help="Database schema commands.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply all database migrations (safe to run again).")
@pass_cli
@friendly_errors
def db_upgrade(obj: CliContext) -> None:
    runtime = obj.runtime(check_schema=False)
    upgrade(runtime.engine)
    click.echo("Database is up to date.")


@db.command(
    "backup",
    help="Copy the database to PATH while inbox runs (SQLite), with the blob folder beside it "
    "as PATH.blobs; for PostgreSQL print the pg_dump line to run.",
)
@click.argument("path", type=click.Path(dir_okay=False))
@pass_cli
@friendly_errors
def db_backup(obj: CliContext, path: str) -> None:
    from pathlib import Path

    from inbox.backup import backup_sqlite, pg_dump_command

    runtime = obj.runtime()
    if runtime.engine.dialect.name != "sqlite":
        click.echo("PostgreSQL: back up with pg_dump (it reads one consistent snapshot):")
        click.echo("  " + pg_dump_command(runtime.settings.database_url, path))
        click.echo(f"and copy the blob folder {runtime.settings.blob_dir} beside it.")
        return
    try:
        result = backup_sqlite(runtime.engine, Path(path), blob_dir=runtime.settings.blob_dir)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up the database to {result.database} ({result.database_bytes} bytes).")
    if result.blobs_dir is not None:
        click.echo(f"Copied {result.blobs_copied} new blob files to {result.blobs_dir}.")


@cli.group(help="Manage user accounts.")
def users() -> None:
    pass


@users.command("create", help="Create a user (asks for the password when not given).")
@click.option("--email", required=True, help="Log-in mail address.")
@click.option("--name", default="", help="Display name (default: the address).")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default="agent", show_default=True
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 10 characters.",
)
@click.option("--language", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
@click.option("--timezone", default="Asia/Tokyo", show_default=True)
@pass_cli
@friendly_errors
def users_create(
    obj: CliContext, email: str, name: str, role: str, password: str, language: str, timezone: str
) -> None:
    runtime = obj.runtime()
    with runtime.Session() as session:
        try:
            user = accounts.create_user(
                session,
                email=email,
                name=name,
                role=role,
                password=password,
                language=language,
                timezone=timezone,
            )
        except InvalidInput as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")


@cli.command(
    help="Write config.toml if missing, migrate, and load the demo mailboxes, users and mail."
)
@pass_cli
@friendly_errors
def demo(obj: CliContext) -> None:
    from inbox.demo import ensure_demo_config, load_demo, print_credentials

    ensure_demo_config(obj.config_path)
    runtime = obj.runtime(check_schema=False)
    upgrade(runtime.engine)
    summary = load_demo(runtime, now=utcnow())
    click.echo(summary)
    print_credentials()

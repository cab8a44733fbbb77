"""Demo set-up: a config with fresh keys, two mailboxes of sample mail, and one user per role."""

from __future__ import annotations

import email.utils
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy import func, select

from inbox.crypto import generate_key
from inbox.demo import catcher
from inbox.demo.malls import load_mall_demo
from inbox.ingest.store import BatchCounts, ingest_items
from inbox.jobs.poll import chunks, ingest_options
from inbox.models import Event, Mailbox, MailboxKind, Role, Status, Thread, User
from inbox.resources import config_example
from inbox.runtime import Runtime
from inbox.services import accounts
from inbox.services.mailboxes import create_mailbox
from inbox.sources.local import iter_local

MAIL_DIR = Path(__file__).resolve().parent / "mail"
PASSWORD = "demo-password"
USERS = [
    ("admin@demo.example", "管理者 花子", Role.ADMIN, ("support", "sales")),
    ("lead@demo.example", "リーダー 一郎", Role.LEAD, ("support", "sales")),
    ("agent@demo.example", "担当 次郎", Role.AGENT, ("support",)),
    ("agent2@demo.example", "Emma Agent", Role.AGENT, ("sales",)),
]
MAILBOXES = [
    ("support", "support@demo.example", "サンプル商店 サポート"),
    ("sales", "sales@demo.example", "Sample Trading Sales"),
]
# The demo mailboxes send to the in-process catcher (inbox.demo.catcher) that `inbox run` starts.
CATCHER_SETTINGS = {
    "smtp_host": "127.0.0.1", "smtp_port": catcher.PORT, "smtp_security": "plain", "demo_catcher": True,
}
# The sample mail ends here; the demo shifts it so that the newest mail is an hour old.
SAMPLES_END = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
_DATE_RE = re.compile(rb"^Date:[ \t]*(.+?)\r?$", re.MULTILINE | re.IGNORECASE)


def ensure_demo_config(path: str | None) -> Path:
    """Write config.toml from config.example.toml with fresh keys, unless it exists.

    The file holds the secret and encryption keys: it is created readable by the owner only.
    """
    target = Path(path or "config.toml")
    if target.exists():
        return target
    text = config_example().read_text(encoding="utf-8")
    text = text.replace('secret_key = ""', f'secret_key = "{generate_key()}"', 1)
    text = text.replace('encryption_key = ""', f'encryption_key = "{generate_key()}"', 1)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(target, 0o600)  # os.open's mode is reduced by the umask; this is exact
    click.echo(f"Wrote {target} with new secret keys.")
    return target


def _shifted(item, shift: timedelta):
    match = _DATE_RE.search(item.raw[:8192])
    if not match:
        return item
    try:
        sent = email.utils.parsedate_to_datetime(match.group(1).decode("ascii", "replace"))
    except (TypeError, ValueError):
        return item
    return replace(item, received_at=sent.astimezone(UTC) + shift)


def load_demo(runtime: Runtime, *, now: datetime) -> str:
    """Create the demo mailboxes and users and ingest the sample mail; does nothing twice."""
    with runtime.Session() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return "Demo data already loaded (users exist); nothing changed."
        boxes = {}
        for name, address, display in MAILBOXES:
            boxes[name] = create_mailbox(
                session,
                runtime.secrets,
                name=name,
                kind=MailboxKind.LOCAL,
                address=address,
                display_name=display,
                settings={"path": str(MAIL_DIR / name), **CATCHER_SETTINGS},
                poll_interval_seconds=3600,
                signature=f"--\n{display}\n{address}",
            )
        people = {}
        for email_addr, name, role, mailboxes in USERS:
            people[email_addr] = accounts.create_user(
                session,
                email=email_addr,
                name=name,
                role=role,
                password=PASSWORD,
                language="en" if email_addr.startswith("agent2") else "ja",
                mailbox_ids=[boxes[m].id for m in mailboxes],
            )
        shift = (now - timedelta(hours=1)) - SAMPLES_END
        options = ingest_options(runtime)
        total = BatchCounts()
        for name, mailbox in boxes.items():
            items = (_shifted(i, shift) for i in iter_local(MAIL_DIR / name))
            for batch in chunks(items, 100):
                total.add(
                    ingest_items(session, runtime.blobs, mailbox, batch, now=now, options=options)
                )
        _vary_work(session, people, now)
        load_mall_demo(runtime, session, now, [people["lead@demo.example"], people["agent@demo.example"]])
        session.commit()
    return (
        f"Demo loaded: {len(MAILBOXES)} mailboxes, {len(USERS)} users, "
        f"{total.imported} messages ({total.with_warnings} with parse warnings)."
    )


def _vary_work(session, people: dict[str, User], now: datetime) -> None:
    """Give the demo queue the look of a working day: some threads taken, some done."""
    threads = list(session.scalars(select(Thread).order_by(Thread.id)))
    agent, agent2 = people["agent@demo.example"], people["agent2@demo.example"]
    for i, thread in enumerate(threads):
        owner = agent if thread.mailbox.name == "support" else agent2
        if i % 5 == 1:
            thread.assignee_id, thread.status = owner.id, Status.OPEN
        elif i % 5 == 3:
            thread.assignee_id, thread.status, thread.due_at = owner.id, Status.RESOLVED, None
        else:
            continue
        session.add(
            Event(
                thread_id=thread.id,
                actor_id=owner.id,
                kind="status_changed",
                data={"to": thread.status.value},
            )
        )


def catcher_dir(runtime: Runtime) -> Path:
    return Path(runtime.settings.blob_dir).parent / "demo-sent"


def start_catcher_if_used(runtime: Runtime) -> catcher.CatcherServer | None:
    """Start the demo's mail catcher when a mailbox sends to it (the demo mailboxes do)."""
    with runtime.Session() as session:
        boxes = session.scalars(select(Mailbox.settings)).all()
    if not any((s or {}).get("demo_catcher") for s in boxes):
        return None
    return catcher.start(catcher_dir(runtime))


def print_credentials() -> None:
    click.echo("Replies from the demo mailboxes go to a local mail catcher (127.0.0.1:"
               f"{catcher.PORT}, started by `inbox run`); nothing leaves this machine.")
    click.echo(f"Demo users (password for all: {PASSWORD}):")
    for email_addr, name, role, mailboxes in USERS:
        click.echo(f"  {role.value:<6} {email_addr:<22} {name}  [{', '.join(mailboxes)}]")

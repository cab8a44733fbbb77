"""Small builders that keep tests short: users, mailboxes, threads and messages, and logging in."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from inbox.db import utcnow
from inbox.models import (
    Contact,
    Direction,
    Mailbox,
    MailboxKind,
    Message,
    Role,
    Status,
    Thread,
    User,
)
from inbox.services import accounts

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_user(session: Session, role: Role | str = Role.AGENT, *, mailboxes=(), **kw) -> User:
    n = next(_seq)
    user = accounts.create_user(
        session,
        email=kw.pop("email", f"user{n}@example.test"),
        name=kw.pop("name", f"User {n}"),
        role=role,
        password=kw.pop("password", PASSWORD),
        mailbox_ids=[m.id for m in mailboxes],
        **kw,
    )
    return user


def make_mailbox(session: Session, name: str | None = None, **kw) -> Mailbox:
    n = next(_seq)
    mailbox = Mailbox(
        name=name or f"mailbox-{n}",
        kind=kw.pop("kind", MailboxKind.LOCAL),
        address=kw.pop("address", f"support{n}@example.test"),
        **kw,
    )
    session.add(mailbox)
    session.flush()
    return mailbox


def make_thread(
    session: Session,
    mailbox: Mailbox,
    subject: str = "配送について",
    *,
    status: Status = Status.NEW,
    customer: str = "customer@example.test",
    body: str = "商品がまだ届きません。",
    at: datetime | None = None,
    **kw,
) -> Thread:
    at = at or utcnow() - timedelta(minutes=next(_seq))
    contact = session.query(Contact).filter_by(address=customer).one_or_none()
    if contact is None:
        contact = Contact(address=customer, name=customer.split("@")[0])
        session.add(contact)
        session.flush()
    thread = Thread(
        mailbox_id=mailbox.id,
        subject=subject,
        normalized_subject=subject,
        contact_id=contact.id,
        status=status,
        last_activity_at=at,
        last_inbound_at=at,
        message_count=1,
        **kw,
    )
    session.add(thread)
    session.flush()
    session.add(
        Message(
            thread_id=thread.id,
            mailbox_id=mailbox.id,
            direction=Direction.INBOUND,
            source_key=f"test:{thread.id}",
            message_id=f"t{thread.id}@example.test",
            subject=subject,
            from_address=customer,
            received_at=at,
            text=body,
            new_text=body,
        )
    )
    session.flush()
    return thread


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login_as(client, user: User, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"email": user.email, "password": password, "csrf_token": token}
    )


def logout(client):
    token = csrf_token(client, "/settings")
    return client.post("/logout", data={"csrf_token": token})

"""A mailbox whose polls keep failing says so once: on the admin page (the outage row) and by one mail to the admins."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import func, select

from inbox.config import load_settings
from inbox.db import utcnow
from inbox.models import MailboxOutage, OutboxItem, Role
from inbox.services.mailbox_health import FAILURES_BEFORE_NOTICE, record_poll
from tests.conftest import base_config
from tests.factories import make_mailbox, make_user


def mails(session) -> list[OutboxItem]:
    return list(session.scalars(select(OutboxItem).where(OutboxItem.payload["mailbox_failing"].is_not(None))))


def settings_for(tmp_path):
    return load_settings(base_config(tmp_path, "sqlite://"), environ={})


def test_one_mail_per_outage_to_the_admins(session, tmp_path):
    settings = settings_for(tmp_path)
    box = make_mailbox(session)
    admin = make_user(session, Role.ADMIN)
    make_user(session, Role.AGENT, mailboxes=[box])
    now = utcnow()
    for i in range(FAILURES_BEFORE_NOTICE + 4):
        record_poll(session, box.id, error="Login failed.", now=now + timedelta(minutes=i), settings=settings)
    session.flush()
    (item,) = mails(session)
    assert item.recipients == [admin.email]
    body = message_from_bytes(item.raw, policy=policy.default).get_body().get_content()
    assert "Login failed." in body and box.name in body
    outage = session.get(MailboxOutage, box.id)
    assert outage.failed_polls == FAILURES_BEFORE_NOTICE + 4 and outage.since == now

    record_poll(session, box.id, error=None, now=now + timedelta(hours=1), settings=settings)
    session.flush()
    assert session.get(MailboxOutage, box.id) is None and box.last_error is None

    for i in range(FAILURES_BEFORE_NOTICE):  # a new outage: one new mail
        record_poll(session, box.id, error="Timed out.", now=now + timedelta(hours=2, minutes=i), settings=settings)
    session.flush()
    assert len(mails(session)) == 2
    assert session.scalar(select(func.count(MailboxOutage.mailbox_id))) == 1


def test_a_short_hiccup_mails_nobody(session, tmp_path):
    settings = settings_for(tmp_path)
    box = make_mailbox(session)
    make_user(session, Role.ADMIN)
    now = utcnow()
    for i in range(FAILURES_BEFORE_NOTICE - 1):
        record_poll(session, box.id, error="Timed out.", now=now + timedelta(minutes=i), settings=settings)
    record_poll(session, box.id, error=None, now=now + timedelta(minutes=5), settings=settings)
    session.flush()
    assert mails(session) == []

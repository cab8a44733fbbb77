"""Credentials of mall channels: licence expiry warnings by mail, the connection test in plain words, secrets never shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import inbox.senders  # noqa: F401  (registers the credential_alert deliverer)
from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import Mailbox, OutboxItem, Role
from inbox.services import outbox
from inbox.services.mailbox_check import check_mailbox
from inbox.services.mall_credentials import record_license_expiry
from inbox.sources.rakuten import jst
from tests.factories import make_user
from tests.malls import add_channel, mailbox, mall_runtime
from tests.support.mall_stubs import RakutenStub, YahooStub


@pytest.fixture
def runtime(fresh_databases, tmp_path, smtp_server):
    alerts = {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "smtp_security": "plain",
              "from_address": "inbox@shop.example"}
    with mall_runtime(fresh_databases, tmp_path, alerts=alerts) as rt:
        with rt.Session() as s:
            make_user(s, Role.ADMIN, email="admin@shop.example")
            make_user(s, Role.AGENT, email="agent@shop.example")
            s.commit()
        yield rt


@pytest.fixture
def rakuten():
    with RakutenStub() as s:
        yield s


def alerts(runtime) -> list[OutboxItem]:
    with runtime.Session() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.kind == "credential_alert").order_by(OutboxItem.id)))


def test_the_licence_expiry_is_read_and_admins_are_warned_14_and_3_days_before_once_each(runtime, rakuten, smtp_server):
    now = utcnow()
    rakuten.expiry = jst(now + timedelta(days=10, hours=1))
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    Poller(runtime).poll(box)  # checked once a day, so no second look and no second mail

    expires = mailbox(runtime, box).settings["license_expires_at"]
    assert expires.startswith((now + timedelta(days=10, hours=1)).strftime("%Y-%m-%d"))
    assert len(rakuten.calls("expiry-date")) == 1
    with runtime.Session() as s:
        mb = s.get(Mailbox, box)
        expiry = now + timedelta(days=10, hours=1)
        record_license_expiry(s, runtime, mb, expiry, now + timedelta(days=1))  # the next day's check
        record_license_expiry(s, runtime, mb, expiry, now + timedelta(days=7, hours=2))
        record_license_expiry(s, runtime, mb, expiry, now + timedelta(days=8))
        s.commit()
    items = alerts(runtime)
    assert [i.payload["stage"] for i in items] == ["14d", "3d"]
    later = now + timedelta(days=8, hours=1)
    assert outbox.deliver_due(runtime.Session, runtime, owner="t", now=lambda: later) == {"sent": 2}, [i.last_error for i in alerts(runtime)]
    mails = [m.message() for m in smtp_server.messages]
    assert [m["To"] for m in mails] == ["admin@shop.example", "admin@shop.example"]
    assert "あと10日" in mails[0]["Subject"] and "あと2日" in mails[1]["Subject"]
    assert rakuten.license_key not in mails[0].get_content()


def test_an_expired_key_mails_the_admins_once_and_says_so_on_the_channel(runtime, rakuten):
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    rakuten.expire_key()
    Poller(runtime).poll(box)
    Poller(runtime).poll(box)
    assert [i.payload["stage"] for i in alerts(runtime)] == ["expired"]
    assert "Polling has stopped" in mailbox(runtime, box).last_error


def check(runtime, box: int):
    with runtime.Session() as s:
        return check_mailbox(s.get(Mailbox, box), runtime.secrets, timeout=5)


def test_test_connection_reports_a_working_channel_with_the_key_expiry(runtime, rakuten):
    rakuten.add_inquiry("999999-20240101-0001", "質問", utcnow() - timedelta(hours=1))
    box = add_channel(runtime, "rakuten", rakuten)
    result = check(runtime, box)
    assert result.ok and result.notes == [
        "Connected to Rakuten shop 999999: 1 inquiries in the last 24 hours;"
        f" the licence key is valid until {rakuten.expiry.replace('T', ' ')} (JST)."]


def test_test_connection_tells_an_expired_key_from_a_wrong_one(runtime, rakuten):
    rakuten.expiry = jst(utcnow() - timedelta(days=1))
    box = add_channel(runtime, "rakuten", rakuten)
    [expired] = check(runtime, box).problems
    assert "expired on" in expired.message

    rakuten.service_secret = "another-secret"
    with runtime.Session() as s:
        s.get(Mailbox, box).settings = {**s.get(Mailbox, box).settings, "license_expires_at": None}
        s.commit()
    [wrong] = check(runtime, box).problems
    assert "typed wrong" in wrong.message
    assert "svc-secret" not in wrong.message and "lic-key-1" not in wrong.message


def test_test_connection_says_when_yahoo_needs_re_consent_or_a_registered_ip(runtime):
    with YahooStub() as yahoo:
        box = add_channel(runtime, "yahoo", yahoo)
        assert check(runtime, box).ok
        yahoo.bad_ip = True
        [ip] = check(runtime, box).problems
        assert "not registered" in ip.message
        yahoo.bad_ip = False
        yahoo.refresh_token = "newer"
        [consent] = check(runtime, box).problems
        assert "sign in to Yahoo! again and give consent" in consent.message

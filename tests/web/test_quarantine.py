"""Flagged mail page (admins): what was stored raw and why, read again by a button; mailbox outages in words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.db import utcnow
from inbox.ingest.store import ingest_quarantined
from inbox.models import Message, Role
from inbox.services.mailbox_health import record_poll
from inbox.sources import RawItem
from tests.factories import csrf_token, login_as, make_mailbox, make_user

RAW = (
    "From: 山田 <yamada@example.jp>\r\nTo: support@example.test\r\nSubject: 返品について\r\n"
    "Message-ID: <q1@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n返品をお願いします\r\n"
).encode()


@pytest.fixture
def flagged(session, runtime):
    box = make_mailbox(session)
    ingest_quarantined(
        session, runtime.blobs, box, RawItem("k1", RAW), error="DataError: refused \udcff", now=utcnow()
    )
    session.flush()
    return session.query(Message).filter_by(source_key="k1").one()


def test_admin_sees_flagged_mail_with_its_error_and_reads_it_again(client, session, flagged):
    assert flagged.parse_failed and flagged.subject == ""
    login_as(client, make_user(session, Role.ADMIN))
    page = client.get("/admin/flagged")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "DataError: refused" in html
    assert "データベース" in html  # translated: the user's language is Japanese
    token = csrf_token(client, "/admin/flagged")
    response = client.post(f"/admin/flagged/{flagged.id}/reprocess", data={"csrf_token": token})
    assert response.status_code == 302
    session.expire_all()  # the request wrote through its own session: read the message and thread again
    assert not flagged.parse_failed
    assert (flagged.subject, flagged.from_address, flagged.text) == ("返品について", "yamada@example.jp", "返品をお願いします")
    assert flagged.thread.subject == "返品について"


def test_read_all_again_and_unknown_ids_do_not_fail(client, session, flagged):
    login_as(client, make_user(session, Role.ADMIN))
    token = csrf_token(client, "/admin/flagged")
    assert client.post("/admin/flagged/999999/reprocess", data={"csrf_token": token}).status_code == 404
    assert client.post("/admin/flagged/reprocess", data={"csrf_token": token}).status_code == 302
    session.refresh(flagged)
    assert not flagged.parse_failed


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEAD])
def test_only_admins_see_flagged_mail(client, session, role):
    login_as(client, make_user(session, role))
    assert client.get("/admin/flagged").status_code == 403


def test_the_mailboxes_page_says_in_words_that_a_mailbox_keeps_failing(client, session, runtime):
    box = make_mailbox(session, "support")
    for i in range(4):
        record_poll(session, box.id, error="Login failed.", now=utcnow() - timedelta(minutes=10 - i), settings=runtime.settings)
    session.flush()
    login_as(client, make_user(session, Role.ADMIN))
    html = client.get("/admin/mailboxes").get_data(as_text=True)
    assert 'data-testid="outage"' in html and "4" in html and "Login failed." in html

"""Smoke tests for the test-server fixtures: each one starts, answers and cleans up."""

from __future__ import annotations

import email
import email.policy
import os
import smtplib
from email.message import EmailMessage
from typing import TYPE_CHECKING

import pytest
from imapclient import IMAPClient

from tests.support.dovecot_server import DovecotServer, make_message, seed_maildir
from tests.support.requirements import require_server
from tests.support.smtp_server import SmtpServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

USER = "support@example.test"


@pytest.mark.dovecot
def test_dovecot_login_both_users(dovecot: DovecotServer) -> None:
    for user in ("support@example.test", "sales@example.test"):
        c = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=10)
        c.login(user, "secret")
        folders = {name for _flags, _sep, name in c.list_folders()}
        assert {"INBOX", "Sent"} <= folders
        c.logout()


@pytest.mark.dovecot
def test_dovecot_deliver_and_fetch(dovecot: DovecotServer) -> None:
    uid = dovecot.deliver(USER, make_message("件名テスト", "本文です。\n"))
    uids = dovecot.deliver_many(USER, [make_message(f"m{i}") for i in range(3)])
    assert (uid, uids) == (1, [2, 3, 4])
    c = dovecot.client(USER)
    c.select_folder("INBOX", readonly=True)
    data = c.fetch([1], ["BODY.PEEK[]"])
    c.logout()
    parsed = email.message_from_bytes(data[1][b"BODY[]"], policy=email.policy.default)
    assert parsed["Subject"] == "件名テスト"
    assert dovecot.status(USER)["messages"] == 4


@pytest.mark.dovecot
def test_dovecot_seed_and_uidvalidity(dovecot: DovecotServer) -> None:
    seed_maildir(dovecot, USER, [make_message("a"), make_message("b")], seen=True)
    dovecot.set_uidvalidity(USER, "INBOX", 424242)
    st = dovecot.status(USER)
    assert (st["messages"], st["uidvalidity"], st["unseen"]) == (2, 424242, 0)


@pytest.mark.dovecot
def test_dovecot_stop_removes_everything() -> None:
    from tests.support.fixtures import _require_dovecot

    _require_dovecot()
    srv = DovecotServer().start()
    proc, path = srv.proc, srv.dir
    srv.stop()
    assert proc is not None and proc.returncode is not None
    assert not os.path.exists(path)


def _mail(subject: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "support@example.test"
    m["To"] = "customer@example.com"
    m["Subject"] = subject
    m.set_content("お問い合わせありがとうございます。\n")
    return m


def test_smtp_receives_japanese_subject(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as s:
        assert s.send_message(_mail("【受付】お問い合わせ #42")) == {}
    (received,) = smtp_server.messages
    mail_from, rcpt_tos, content = received
    assert (mail_from, rcpt_tos) == ("support@example.test", ["customer@example.com"])
    assert isinstance(content, bytes)
    assert received.message()["Subject"] == "【受付】お問い合わせ #42"
    assert "ありがとう" in received.message().get_content()


def test_smtp_auth_success_and_535() -> None:
    with SmtpServer(auth=("support", "secret")) as srv:
        with smtplib.SMTP(srv.host, srv.port, timeout=5) as s:
            with pytest.raises(smtplib.SMTPAuthenticationError) as err:
                s.login("support", "wrong")
            assert err.value.smtp_code == 535
        with smtplib.SMTP(srv.host, srv.port, timeout=5) as s:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                s.send_message(_mail("no auth"))
            assert refused.value.smtp_code == 530
        with smtplib.SMTP(srv.host, srv.port, timeout=5) as s:
            s.login("support", "secret")
            s.send_message(_mail("with auth"))
        assert [m.message()["Subject"] for m in srv.messages] == ["with auth"]
        assert srv.logins == ["support"]


def test_smtp_fail_next_then_accepts(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(2, code=451)
    for _ in range(2):
        with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as s:
            with pytest.raises(smtplib.SMTPDataError) as err:
                s.send_message(_mail("retry me"))
            assert err.value.smtp_code == 451
    smtp_server.fail_next(1, code=550, text="5.1.1 No such user", stage="RCPT")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.send_message(_mail("bad rcpt"))
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as s:
        s.send_message(_mail("retry me"))
    assert len(smtp_server.messages) == 1


@pytest.mark.browser
def test_browser_opens_data_url(page: Page) -> None:
    page.goto("data:text/html;charset=utf-8,<title>ok</title><p id=x>こんにちは</p>")
    assert page.title() == "ok"
    assert page.text_content("#x") == "こんにちは"


def test_require_server_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_server("thing", False, "thing is missing")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="thing is required in CI"):
        require_server("thing", False, "thing is missing")
    require_server("thing", True, "unused")

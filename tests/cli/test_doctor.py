"""`inbox doctor`: one line per check, what to fix in words, exit 1 when anything needs fixing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox.models import MailboxKind
from inbox.services.mailboxes import create_mailbox
from tests.cli.mail_files import message, write_mbox


def add_local(inbox, name, path, **settings):
    with inbox.runtime.Session() as s:
        create_mailbox(s, inbox.runtime.secrets, name=name, kind=MailboxKind.LOCAL,
                       settings={"path": str(path), **settings})
        s.commit()


def test_a_healthy_setup_has_nothing_to_fix(inbox, tmp_path):
    add_local(inbox, "support", write_mbox(tmp_path / "in.mbox", [message(1)]))
    result = inbox("doctor")
    assert result.exit_code == 0, result.output
    assert "ok   database reachable, schema current" in result.output
    assert "ok   mailbox support (local)" in result.output
    assert result.output.rstrip().endswith("Nothing to fix.")


def test_a_missing_mail_folder_and_an_expiring_mall_key_are_named_with_what_to_do(inbox, tmp_path):
    add_local(inbox, "archive", tmp_path / "gone")
    soon = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    add_local(inbox, "shop", write_mbox(tmp_path / "shop.mbox", [message(2)]), license_expires_at=soon)
    result = inbox("doctor")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("FIX  mailbox archive (local):") for line in lines), result.output
    assert any("mailbox shop: the mall key expires in 5 days" in line for line in lines), result.output
    assert lines[-1] == "2 thing(s) to fix."


def test_an_unmigrated_database_says_to_run_the_upgrade(inbox, tmp_path):
    inbox.env["INBOX_DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    result = inbox("doctor")
    assert result.exit_code == 1
    assert "run `inbox db upgrade`" in result.output


def add_yahoo(inbox, name, consent_at):
    with inbox.runtime.Session() as s:  # polling off: doctor reads the consent, the shop is not asked
        create_mailbox(s, inbox.runtime.secrets, name=name, kind=MailboxKind.YAHOO, active=True,
                       settings={"seller_id": "shop", "consent_at": consent_at.isoformat(),
                                 "api_base": "http://127.0.0.1:9/"})  # no secrets: not asked
        s.commit()


def test_a_yahoo_consent_warns_within_7_days_and_fails_once_lapsed(inbox, tmp_path):
    now = datetime.now(UTC)
    add_yahoo(inbox, "yahoo-soon", now - timedelta(days=23))  # lapses in 5 days
    add_yahoo(inbox, "yahoo-later", now - timedelta(days=18))  # 10 days: within the key's 14, fine
    add_yahoo(inbox, "yahoo-gone", now - timedelta(days=29))
    lines = inbox("doctor").output.splitlines()
    consent = [line for line in lines if "consent" in line]
    assert any(line.startswith("WARN mailbox yahoo-soon: the Yahoo! consent lapses in 5.0 days")
               for line in consent), lines
    assert any(line.startswith("FIX  mailbox yahoo-gone: the Yahoo! consent lapsed 1 days ago")
               for line in consent), lines
    assert not any("yahoo-later" in line for line in consent), lines

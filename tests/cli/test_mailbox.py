"""`inbox mailbox add|list|check|poll` against a real Dovecot and SMTP server on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import Mailbox, MailboxKind, Status
from inbox.services.mailboxes import create_mailbox, update_mailbox, update_secrets
from tests.cli.mail_files import message, write_mbox
from tests.factories import make_thread
from tests.support.dovecot_server import free_port
from tests.support.smtp_server import SmtpServer

USER = "support@example.test"


def add_imap(inbox, dovecot, *extra: str, password: str = "secret"):
    env_name = "TEST_IMAP_PASSWORD"
    inbox.env[env_name] = password
    return inbox(
        "mailbox", "add", "support", "--kind", "imap", "--address", USER, "--host", "127.0.0.1",
        "--port", str(dovecot.port), "--security", "plain", "--password-env", env_name, *extra,
    )


def mailbox(inbox) -> Mailbox:
    with inbox.runtime.Session() as s:
        return s.scalar(select(Mailbox).where(Mailbox.name == "support"))


@pytest.mark.dovecot
def test_add_then_check_lists_folders_with_counts_and_uidvalidity(inbox, dovecot):
    dovecot.deliver(USER, message(1))
    dovecot.deliver(USER, message(2))
    added = add_imap(inbox, dovecot)
    assert added.exit_code == 0, added.output
    box = mailbox(inbox)
    assert box.settings["imap_port"] == dovecot.port and "secret" not in box.secret_encrypted
    assert inbox.runtime.secrets.open(box.secret_encrypted) == {"imap_password": "secret"}
    result = inbox("mailbox", "check", "support")
    assert result.exit_code == 0, result.output
    inbox_status = dovecot.status(USER, "INBOX")
    sent_status = dovecot.status(USER, "Sent")
    assert result.stdout.splitlines() == [
        f"Mailbox support (imap): IMAP 127.0.0.1:{dovecot.port} (plain) as {USER}",
        "  Logged in.",
        f"  INBOX (watched): 2 messages, UIDVALIDITY {inbox_status['uidvalidity']}, UIDNEXT 3",
        f"  Sent (sent): 0 messages, UIDVALIDITY {sent_status['uidvalidity']}, UIDNEXT 1",
        "OK: everything the mailbox needs can be reached.",
    ]


@pytest.mark.dovecot
def test_check_with_a_wrong_password_says_the_login_failed(inbox, dovecot):
    add_imap(inbox, dovecot, password="wrong")
    result = inbox("mailbox", "check", "support")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Problem (imap): Login failed for {USER}: the server rejected the user name or password.\n"
    )
    assert "wrong" not in result.output


@pytest.mark.dovecot
def test_check_of_a_missing_folder_names_it_and_the_folders_that_exist(inbox, dovecot):
    add_imap(inbox, dovecot, "--folder", "INBOX", "--folder", "Orders")
    result = inbox("mailbox", "check", "support")
    assert result.exit_code == 1
    assert "  Orders (watched): missing" in result.stdout
    assert result.stderr == (
        "Problem (imap): Folder 'Orders' does not exist on the server."
        " Folders on the server: INBOX, Sent.\n"
    )


def test_check_of_a_closed_port_says_the_connection_was_refused(inbox):
    port = free_port()
    inbox.env["TEST_IMAP_PASSWORD"] = "x"
    inbox("mailbox", "add", "support", "--kind", "imap", "--host", "127.0.0.1", "--port", str(port),
          "--security", "plain", "--username", USER, "--password-env", "TEST_IMAP_PASSWORD")
    result = inbox("mailbox", "check", "support")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Problem (imap): Connection refused by 127.0.0.1:{port}:"
        " is the IMAP server running and is the port right?\n"
    )


def test_check_of_an_unknown_host_says_the_name_did_not_resolve(inbox):
    inbox.env["TEST_IMAP_PASSWORD"] = "x"
    inbox("mailbox", "add", "support", "--kind", "imap", "--host", "no-such-host.invalid",
          "--username", USER, "--password-env", "TEST_IMAP_PASSWORD")
    result = inbox("mailbox", "check", "support", "--timeout", "5")
    assert result.exit_code == 1
    assert "Host name no-such-host.invalid could not be resolved." in result.stderr


@pytest.mark.dovecot
def test_check_includes_smtp_connect_ehlo_and_auth(inbox, dovecot):
    with SmtpServer(auth=("mailer", "smtp-pw")) as smtp:
        inbox.env["TEST_SMTP_PASSWORD"] = "smtp-pw"
        add_imap(inbox, dovecot, "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port),
                 "--smtp-security", "plain", "--smtp-username", "mailer",
                 "--smtp-password-env", "TEST_SMTP_PASSWORD")
        result = inbox("mailbox", "check", "support")
        assert result.exit_code == 0, result.output
        assert f"SMTP 127.0.0.1:{smtp.port} (plain) as mailer: connected, EHLO, AUTH OK" in result.stdout
        assert smtp.messages == []  # nothing was sent

        with inbox.runtime.Session() as s:
            box = s.scalar(select(Mailbox))
            update_secrets(box, inbox.runtime.secrets, {"smtp_password": "bad-pw"})
            s.commit()
        result = inbox("mailbox", "check", "support")
        assert result.exit_code == 1
        assert result.stderr.startswith("Problem (smtp): SMTP login failed for mailer: the server rejected")
        assert "bad-pw" not in result.output


def test_smtp_check_against_the_test_server_without_auth(inbox, smtp_server, dovecot):
    add_imap(inbox, dovecot, "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_server.port),
             "--smtp-security", "plain")
    result = inbox("mailbox", "check", "support")
    assert result.exit_code == 0, result.output
    assert f"SMTP 127.0.0.1:{smtp_server.port} (plain): connected, EHLO OK" in result.stdout


def test_smtp_starttls_that_the_server_does_not_offer_is_a_problem(inbox, smtp_server, dovecot):
    add_imap(inbox, dovecot, "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_server.port),
             "--smtp-security", "starttls")
    result = inbox("mailbox", "check", "support")
    assert result.exit_code == 1
    assert "does not offer STARTTLS" in result.stderr


def test_add_asks_for_the_password_and_never_takes_it_as_an_option(inbox):
    result = inbox("mailbox", "add", "support", "--kind", "imap", "--host", "imap.example.com",
                   "--username", USER, input="typed-secret\n")
    assert result.exit_code == 0, result.output
    box = mailbox(inbox)
    assert inbox.runtime.secrets.open(box.secret_encrypted) == {"imap_password": "typed-secret"}
    assert box.settings["imap_security"] == "ssl"
    assert "typed-secret" not in result.output
    refused = inbox("mailbox", "add", "other", "--kind", "imap", "--password", "x")
    assert refused.exit_code == 2 and "No such option '--password'" in refused.stderr


def test_add_refuses_plain_imap_to_a_remote_host(inbox):
    result = inbox("mailbox", "add", "support", "--kind", "imap", "--host", "imap.example.com",
                   "--security", "plain", input="pw\n")
    assert result.exit_code == 1
    assert "Unencrypted IMAP to imap.example.com is not allowed" in result.stderr
    assert mailbox(inbox) is None


def test_list_shows_kind_last_poll_error_and_open_over_total(inbox, tmp_path):
    with inbox.runtime.Session() as s:
        box = create_mailbox(s, inbox.runtime.secrets, name="support", kind=MailboxKind.LOCAL,
                             settings={"path": str(tmp_path)})
        make_thread(s, box, status=Status.NEW)
        make_thread(s, box, status=Status.RESOLVED, customer="b@example.jp")
        make_thread(s, box, status=Status.WAITING, customer="c@example.jp")
        box.last_success_at = utcnow() - timedelta(minutes=5)
        other = create_mailbox(s, inbox.runtime.secrets, name="sales", kind=MailboxKind.IMAP,
                               settings={"imap_host": "imap.example.com"})
        update_mailbox(s, inbox.runtime.secrets, other, active=False)
        other.last_error = "Login failed for sales: the server rejected the user name or password."
        s.commit()
    result = inbox("mailbox", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "THREADS", "(OPEN/TOTAL)", "LAST", "SUCCESSFUL", "POLL", "LAST", "ERROR"]
    assert lines[1].split()[:5] == ["sales", "(inactive)", "imap", "0/0", "never"]
    assert lines[1].endswith("Login failed for sales: the server rejected the user name or password.")
    assert lines[2].split()[:3] == ["support", "local", "2/3"]
    assert lines[2].split()[-1] == "-" and "JST" in lines[2]


def test_poll_runs_one_poll_and_prints_the_counts(inbox, tmp_path):
    mbox = write_mbox(tmp_path / "in.mbox", [message(i) for i in range(4)])
    with inbox.runtime.Session() as s:
        create_mailbox(s, inbox.runtime.secrets, name="support", kind=MailboxKind.LOCAL,
                       settings={"path": str(mbox)})
        s.commit()
    first = inbox("mailbox", "poll", "support")
    assert first.exit_code == 0, first.output
    assert first.stdout == "Imported 4, duplicates skipped 0, stored with warnings 0.\n"
    assert inbox("mailbox", "poll", "support").stdout.startswith("Imported 0, duplicates skipped 4")
    assert mailbox(inbox).last_success_at is not None


def test_poll_of_a_broken_mailbox_fails_with_the_reason(inbox, tmp_path):
    with inbox.runtime.Session() as s:
        create_mailbox(s, inbox.runtime.secrets, name="support", kind=MailboxKind.LOCAL,
                       settings={"path": str(tmp_path / "gone")})
        s.commit()
    result = inbox("mailbox", "poll", "support")
    assert result.exit_code == 1
    assert result.stderr == f"inbox: the poll stopped: {tmp_path}/gone does not exist.\n"


def test_every_mail_command_has_help():
    from click.testing import CliRunner

    from inbox.cli import cli

    top = CliRunner().invoke(cli, ["--help"]).stdout
    for name in ("parse", "import", "mailbox"):
        assert name in top
    for args in (["parse"], ["import"], ["mailbox"], ["mailbox", "add"], ["mailbox", "list"],
                 ["mailbox", "check"], ["mailbox", "poll"]):
        result = CliRunner().invoke(cli, [*args, "--help"])
        assert result.exit_code == 0 and "Usage: " in result.stdout, args


def test_add_local_keeps_the_smtp_options_and_the_reply_goes_out(inbox, tmp_path):
    import importlib

    from inbox.services import outbox

    importlib.import_module("inbox.senders")  # registers the "reply" deliverer
    from tests.factories import make_user
    from tests.services.test_replies import make_draft, queue_reply

    with SmtpServer(auth=("mailer", "smtp-secret")) as smtp:
        inbox.env["TEST_SMTP_PASSWORD"] = "smtp-secret"
        result = inbox("mailbox", "add", "support", "--kind", "local", "--path", str(tmp_path),
                       "--address", USER, "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port),
                       "--smtp-security", "plain", "--smtp-username", "mailer",
                       "--smtp-password-env", "TEST_SMTP_PASSWORD")
        assert result.exit_code == 0, result.output
        box = mailbox(inbox)
        assert box.settings == {"path": str(tmp_path), "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                                "smtp_security": "plain", "smtp_username": "mailer"}
        assert inbox.runtime.secrets.open(box.secret_encrypted) == {"smtp_password": "smtp-secret"}
        with inbox.runtime.Session() as s:
            box = s.get(Mailbox, box.id)
            thread = make_thread(s, box, customer="yamada@example.jp")
            queue_reply(s, inbox.runtime, thread, make_user(s, mailboxes=[box]),
                        make_draft(opened_at=utcnow()), now=utcnow())
            s.commit()
        assert outbox.deliver_due(inbox.runtime.Session, inbox.runtime, owner="t", now=utcnow) == {"sent": 1}
        assert smtp.logins == ["mailer"]


def test_add_refuses_a_mailbox_address_that_is_not_one(inbox, tmp_path):
    result = inbox("mailbox", "add", "support", "--kind", "local", "--path", str(tmp_path),
                   "--address", "support at example.jp")
    assert result.exit_code == 1
    assert "This is not a mail address" in result.stderr
    assert mailbox(inbox) is None

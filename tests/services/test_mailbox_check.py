"""The connection check shared by `inbox mailbox check` and the admin page: a structured result in plain words."""

from __future__ import annotations

import pytest

from inbox.crypto import SecretBox
from inbox.models import Mailbox, MailboxKind
from inbox.services.mailbox_check import check_mailbox
from inbox.services.mailboxes import InvalidSetting, validate_settings
from tests.conftest import ENCRYPTION_KEY
from tests.support.dovecot_server import free_port
from tests.support.smtp_server import SmtpServer

USER = "support@example.test"
BOX = SecretBox(ENCRYPTION_KEY)


def imap_box(port: int, password: str = "secret", **settings) -> Mailbox:
    """An unsaved mailbox row: the check needs no database."""
    values = {"imap_host": "127.0.0.1", "imap_port": port, "imap_security": "plain", **settings}
    secrets = {"imap_password": password, **settings.pop("secrets", {})}
    return Mailbox(name="support", kind=MailboxKind.IMAP, address=USER, settings=values,
                   secret_encrypted=BOX.seal(secrets))


@pytest.mark.dovecot
def test_success_reports_every_folder_with_counts_and_uidvalidity(dovecot):
    dovecot.deliver(USER, b"Subject: a\r\nMessage-ID: <a@x>\r\n\r\nx\r\n")
    dovecot.deliver(USER, b"Subject: b\r\nMessage-ID: <b@x>\r\n\r\nx\r\n", folder="Archive")
    result = check_mailbox(imap_box(dovecot.port, after_fetch="move", move_to="Archive"), BOX)
    assert result.ok and result.logged_in and result.problems == []
    assert result.target == f"IMAP 127.0.0.1:{dovecot.port} (plain) as {USER}"
    got = [(f.name, f.role, f.messages, f.uidvalidity) for f in result.folders]
    assert got == [
        ("INBOX", "watched", 1, dovecot.status(USER, "INBOX")["uidvalidity"]),
        ("Sent", "sent", 0, dovecot.status(USER, "Sent")["uidvalidity"]),
        ("Archive", "move_to", 1, dovecot.status(USER, "Archive")["uidvalidity"]),
    ]
    assert result.smtp_target is None


@pytest.mark.dovecot
def test_a_missing_folder_is_reported_and_the_other_folders_still_checked(dovecot):
    result = check_mailbox(imap_box(dovecot.port, folders=["Orders", "INBOX"]), BOX)
    assert not result.ok
    assert [(f.name, f.ok) for f in result.folders] == [("Orders", False), ("INBOX", True), ("Sent", True)]
    assert [(p.service, p.kind) for p in result.problems] == [("imap", "folder")]
    assert result.problems[0].message == (
        "Folder 'Orders' does not exist on the server. Folders on the server: INBOX, Sent."
    )


@pytest.mark.dovecot
def test_a_wrong_password_is_a_login_problem_without_the_password(dovecot):
    result = check_mailbox(imap_box(dovecot.port, password="hunter2-wrong"), BOX)
    assert not result.logged_in and result.folders == []
    assert [(p.kind, p.message) for p in result.problems] == [
        ("login", f"Login failed for {USER}: the server rejected the user name or password.")
    ]


def test_a_closed_port_is_refused():
    port = free_port()
    result = check_mailbox(imap_box(port), BOX, timeout=3)
    assert [p.kind for p in result.problems] == ["refused"]


@pytest.mark.dovecot
def test_smtp_is_checked_with_auth_and_nothing_is_sent(dovecot):
    with SmtpServer(auth=("mailer", "pw")) as smtp:
        smtp_settings = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "plain",
                         "smtp_username": "mailer"}
        ok = check_mailbox(imap_box(dovecot.port, **smtp_settings, secrets={"smtp_password": "pw"}), BOX)
        assert ok.ok and ok.smtp_steps == ["connected", "EHLO", "AUTH"]
        bad = check_mailbox(imap_box(dovecot.port, **smtp_settings, secrets={"smtp_password": "nope-pw"}), BOX)
        assert [(p.service, p.kind) for p in bad.problems] == [("smtp", "login")]
        assert "nope-pw" not in bad.problems[0].message
        assert smtp.messages == []


def test_smtp_refused_port_is_reported_after_a_good_imap_check(smtp_server):
    box = Mailbox(name="x", kind=MailboxKind.IMAP, address=USER, settings={
        "imap_host": "127.0.0.1", "imap_port": free_port(), "imap_security": "plain",
        "smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_security": "plain"})
    result = check_mailbox(box, BOX, timeout=3)
    assert [(p.service, p.kind) for p in result.problems] == [("imap", "refused"), ("smtp", "refused")]
    assert "Connection refused by 127.0.0.1:" in result.problems[1].message


def test_local_mailbox_reports_its_kind_and_count(tmp_path):
    (tmp_path / "a.eml").write_bytes(b"Subject: a\r\n\r\nx\r\n")
    (tmp_path / "b.eml").write_bytes(b"Subject: b\r\n\r\nx\r\n")
    result = check_mailbox(Mailbox(name="files", kind=MailboxKind.LOCAL, settings={"path": str(tmp_path)}), BOX)
    assert result.ok and result.notes == ["folder of .eml files with 2 messages."]
    gone = check_mailbox(Mailbox(name="files", kind=MailboxKind.LOCAL, settings={"path": str(tmp_path / "x")}), BOX)
    assert [(p.kind, p.message) for p in gone.problems] == [("path", f"{tmp_path}/x does not exist.")]


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"imap_host": "imap.example.com", "imap_security": "plain"}, "imap_security", "Unencrypted IMAP"),
        ({"imap_host": ""}, "imap_host", "No IMAP host name"),
        ({"imap_host": "h", "after_fetch": "move"}, "move_to", "needs a folder"),
        ({"imap_host": "h", "smtp_host": "smtp.example.com", "smtp_port": 25, "smtp_security": "plain"},
         "smtp_security", "Unencrypted SMTP"),
        ({"imap_host": "h", "imap_password": "x"}, None, "is a secret"),
    ],
)
def test_settings_validation_names_the_field_and_says_why(settings, field, words):
    with pytest.raises(InvalidSetting) as caught:
        validate_settings(MailboxKind.IMAP, settings)
    assert caught.value.field == field and words in str(caught.value)

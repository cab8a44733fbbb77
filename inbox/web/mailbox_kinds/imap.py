"""The IMAP mailbox form: server, log-in, folders, after-fetch action, and SMTP for replies."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from inbox.models import MailboxKind
from inbox.services.auto_ack import MAX_INTERVAL_MINUTES
from inbox.web.mailbox_kinds import SMTP_KEYS, KindForm, MailboxForm, register

SECURITY_CHOICES = [
    SelectChoice("ssl", _l("IMAPS (TLS from the start, usually port 993)")),
    SelectChoice("starttls", _l("STARTTLS (usually port 143)")),
    SelectChoice("plain", _l("Unencrypted (only for a server on this machine)")),
]
SMTP_SECURITY_CHOICES = [
    SelectChoice("starttls", _l("STARTTLS (usually port 587)")),
    SelectChoice("ssl", _l("SSL/TLS (usually port 465)")),
    SelectChoice("plain", _l("Unencrypted (only for a server on this machine)")),
]
AFTER_FETCH_CHOICES = [
    SelectChoice("leave", _l("Leave as it is")),
    SelectChoice("mark_seen", _l("Mark as read")),
    SelectChoice("move", _l("Move to a folder")),
]
PORT = [Optional(), NumberRange(min=1, max=65535)]
# The form's field names are the settings keys of inbox.services.mailboxes.
SETTINGS = (
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "folders",
    "sent_folder",
    "after_fetch",
    "move_to",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
)


class SmtpFields:
    """The SMTP section every mail-answering kind's form has (IMAP and local files)."""

    smtp_host = StringField(_l("SMTP server"))
    smtp_port = IntegerField(_l("SMTP port"), validators=PORT)
    smtp_security = SelectField(
        _l("SMTP connection security"), choices=SMTP_SECURITY_CHOICES, default="starttls"
    )
    smtp_username = StringField(_l("SMTP user name"))
    smtp_password = PasswordField(_l("SMTP password"))


SMTP_SETTINGS = SMTP_KEYS


class AckFields:
    """The auto-acknowledgement (自動返信) of every kind that answers (mail and malls); the
    field names are the settings keys of inbox.services.auto_ack."""

    auto_ack_enabled = BooleanField(_l("Acknowledge each new thread automatically (自動返信)"))
    auto_ack_open_text = TextAreaField(_l("Acknowledgement during business hours"))
    auto_ack_closed_text = TextAreaField(_l("Acknowledgement outside business hours (empty: the same text)"))
    auto_ack_interval_minutes = IntegerField(
        _l("At most one acknowledgement to the same sender every (minutes; empty: 60)"),
        validators=[Optional(), NumberRange(min=1, max=MAX_INTERVAL_MINUTES)])


class AutomationFields(AckFields):
    """Mail kinds also choose whether automatic mail is work (inbox.services.automatic)."""

    automatic_mail_is_work = BooleanField(
        _l("Count automatic mail (auto-replies, bounces, newsletters) as work to do"))


ACK_SETTINGS = ("auto_ack_enabled", "auto_ack_open_text", "auto_ack_closed_text", "auto_ack_interval_minutes")
AUTOMATION_SETTINGS = ("automatic_mail_is_work", *ACK_SETTINGS)


class ImapForm(MailboxForm, SmtpFields, AutomationFields):
    imap_host = StringField(_l("IMAP server"))
    imap_port = IntegerField(_l("Port"), validators=PORT)
    imap_security = SelectField(_l("Connection security"), choices=SECURITY_CHOICES)
    imap_username = StringField(_l("User name"))
    imap_password = PasswordField(_l("Password"))
    folders = StringField(_l("Folders to watch (comma-separated)"), default="INBOX")
    sent_folder = StringField(_l("Sent folder"), default="Sent")
    after_fetch = SelectField(_l("After fetching"), choices=AFTER_FETCH_CHOICES)
    move_to = StringField(_l("Move to folder"))


register(
    KindForm(
        kind=MailboxKind.IMAP,
        label=_l("IMAP mailbox"),
        form_class=ImapForm,
        partial="admin/mailbox_kinds/imap.html",
        settings={name: name for name in (*SETTINGS, *AUTOMATION_SETTINGS)},
        secrets={"imap_password": "imap_password", "smtp_password": "smtp_password"},
        optional=frozenset(AUTOMATION_SETTINGS),
        lists=frozenset({"folders"}),
    )
)

"""The local mailbox form: a Maildir, an mbox file or a folder of .eml files on this machine, and SMTP for replies."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField

from inbox.models import MailboxKind
from inbox.web.mailbox_kinds import KindForm, MailboxForm, register
from inbox.web.mailbox_kinds.imap import (
    AUTOMATION_SETTINGS,
    SMTP_SETTINGS,
    AutomationFields,
    SmtpFields,
)


class LocalForm(MailboxForm, SmtpFields, AutomationFields):
    path = StringField(_l("Path of a Maildir, an mbox file or a folder of .eml files"))


register(
    KindForm(
        kind=MailboxKind.LOCAL,
        label=_l("Local mail files"),
        form_class=LocalForm,
        partial="admin/mailbox_kinds/local.html",
        settings={"path": "path", **{name: name for name in (*SMTP_SETTINGS, *AUTOMATION_SETTINGS)}},
        secrets={"smtp_password": "smtp_password"},
        optional=frozenset(AUTOMATION_SETTINGS),
    )
)

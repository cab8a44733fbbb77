"""Mailbox settings forms, one per mailbox kind, kept in a registry so that a new kind needs no edit here.

Each kind is a ``KindForm``: the WTForms class (a subclass of ``MailboxForm``, which holds
the fields every mailbox has), the template partial with its own fields, and which form
fields become ``Mailbox.settings`` keys and which become sealed secrets. The admin views
in ``inbox.web.admin`` only talk to this registry.

To add a kind (Rakuten, Yahoo, ...), create a module in this package, e.g.
``inbox/web/mailbox_kinds/rakuten.py``::

    from inbox.models import MailboxKind
    from inbox.web.mailbox_kinds import KindForm, MailboxForm, register

    class RakutenForm(MailboxForm):
        service_secret = PasswordField(_l("Service secret"))
        shop_url = StringField(_l("Shop URL"))

    register(KindForm(
        kind=MailboxKind.RAKUTEN, label=_l("Rakuten inquiries"), form_class=RakutenForm,
        partial="admin/mailbox_kinds/rakuten.html",
        settings={"shop_url": "shop_url"}, secrets={"service_secret": "service_secret"},
    ))

plus ``templates/admin/mailbox_kinds/rakuten.html`` rendering those fields (see imap.html).
and add the module to ``KIND_FORMS`` below. Validate the settings in the services with
``inbox.services.mailboxes.register_validator`` and add a connection check with
``inbox.services.mailbox_check.register_checker``, both called from ``inbox.wiring``; their
errors then show on the form.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from inbox.models import Mailbox, MailboxKind
from inbox.services.errors import NotFound
from inbox.web.forms import COMPANION_TYPES, presence_key

STATUS_CHOICES = [
    SelectChoice("waiting", _l("On hold")),
    SelectChoice("open", _l("In progress")),
    SelectChoice("resolved", _l("Done")),
]
CHARSET_CHOICES = [
    SelectChoice("utf-8", "UTF-8"),
    SelectChoice("iso-2022-jp", _l("ISO-2022-JP (older Japanese mail software)")),
]
SMTP_KEYS = ("smtp_host", "smtp_port", "smtp_security", "smtp_username")
# Mailbox columns edited by every form: form field -> column.
COMMON_FIELDS = {
    "display_name": "display_name",
    "poll_interval": "poll_interval_seconds",
    "status_after_reply": "status_after_reply",
    "outbound_charset": "outbound_charset",
    "signature": "signature",
    "active": "active",
}


class MailboxForm(FlaskForm):
    """The fields every mailbox has; a kind's form adds its connection fields."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    address = StringField(_l("Mail address"), validators=[Optional(), Length(max=254)])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=120)])
    poll_interval = IntegerField(
        _l("Poll interval (seconds)"), default=60, validators=[NumberRange(min=10)]
    )
    status_after_reply = SelectField(
        _l("Status after a reply"), choices=STATUS_CHOICES, default="waiting"
    )
    outbound_charset = SelectField(_l("Charset of replies"), choices=CHARSET_CHOICES)
    signature = TextAreaField(_l("Signature"))
    members = SelectMultipleField(_l("Members (who may see this mailbox)"), coerce=int)
    active = BooleanField(_l("Active"), default=True)
    # Approval before send (inbox.web.approval_settings saves them; a post without them keeps
    # the stored values, so forms posted by older pages or scripts change nothing there).
    approval_required = BooleanField(_l("Every reply needs approval before it is sent"))
    approval_lead_skip = BooleanField(_l("Replies by the approvers and leads themselves skip approval"))
    approvers = SelectMultipleField(_l("Approvers (none chosen: the mailbox's leads)"), coerce=int)
    approval_categories = SelectMultipleField(_l("Categories whose replies need approval"), coerce=int)
    keep_when_absent = frozenset({"approval_required", "approval_lead_skip", "approvers", "approval_categories"})

    def validate(self, extra_validators=None) -> bool:  # type: ignore[override]
        """A checkbox or member list missing from the post is an error, never "off" or "nobody".

        A browser leaves an unticked box and an empty list out of the post; the page sends a
        hidden companion ``<name>__shown`` beside each, so a post that lacks the companion did
        not come from the page (a script, a truncated request) and must not deactivate the
        mailbox or remove its members.
        """
        ok = super().validate(extra_validators)
        if not self.is_submitted():
            return ok
        for item in self:
            if item.name in self.keep_when_absent:
                continue
            if item.type in COMPANION_TYPES and presence_key(item) not in request.form:
                missing = _l("This field is missing from the form; reload the page and try again.")
                item.errors = [*item.errors, missing]
                ok = False
        return ok


@dataclass(frozen=True)
class KindForm:
    """How one mailbox kind is edited: its form, its partial, and where each field is kept."""

    kind: MailboxKind
    label: Any  # a lazy string
    form_class: type[MailboxForm]
    partial: str
    settings: Mapping[str, str] = field(default_factory=dict)  # form field -> settings key
    secrets: Mapping[str, str] = field(default_factory=dict)  # form field -> secret key
    lists: frozenset[str] = frozenset()  # settings edited as comma-separated text
    # Settings whose empty value (unticked, blank) means "the default": removed, not stored.
    optional: frozenset[str] = frozenset()

    def values(self, form: MailboxForm) -> dict[str, Any]:
        """Keyword arguments for ``create_mailbox`` / ``update_mailbox`` from a valid form."""
        settings: dict[str, Any] = {}
        for name, key in self.settings.items():
            value = form[name].data
            if isinstance(value, str):
                value = value.strip()
                if name in self.lists:
                    value = [v.strip() for v in value.split(",") if v.strip()]
            if name in self.optional and not value:
                value = None
            settings[key] = value  # None removes the key; "" is kept (e.g. no Sent folder)
        if "smtp_host" in settings and not settings["smtp_host"]:  # no SMTP section filled in
            settings.update(dict.fromkeys(SMTP_KEYS))
        out: dict[str, Any] = {
            "name": form.name.data,
            "address": (form.address.data or "").strip() or None,
            "settings": settings,
            "secrets": {key: form[name].data or "" for name, key in self.secrets.items()},
            "member_ids": form.members.data or [],
        }
        for name, column in COMMON_FIELDS.items():
            value = form[name].data
            out[column] = value.strip() if isinstance(value, str) and name != "signature" else value
        out["active"] = bool(form.active.data)
        return out

    def fill(self, form: MailboxForm, mailbox: Mailbox) -> None:
        """Put the stored values in the form (never the secrets)."""
        form.name.data, form.address.data = mailbox.name, mailbox.address
        for name, column in COMMON_FIELDS.items():
            value = getattr(mailbox, column)
            form[name].data = value.value if hasattr(value, "value") else value
        stored = mailbox.settings or {}
        for name, key in self.settings.items():
            value = stored.get(key)
            if name in self.lists and isinstance(value, list):
                value = ", ".join(value)
            if value is not None:
                form[name].data = value
        form.members.data = [m.user_id for m in mailbox.members]

    def field_for(self, settings_key: str | None) -> str | None:
        """The form field that shows a settings key's error (None: show it above the form)."""
        reverse = {key: name for name, key in self.settings.items()}
        reverse.update({column: name for name, column in COMMON_FIELDS.items()}, name="name",
                       address="address")
        return reverse.get(settings_key or "")


_REGISTRY: dict[MailboxKind, KindForm] = {}
_loaded = False
# The form of each mailbox kind, in the order the "new mailbox" page offers them.
KIND_FORMS = (
    "inbox.web.mailbox_kinds.imap",
    "inbox.web.mailbox_kinds.local",
    "inbox.web.mall_channels",
)


def register(spec: KindForm) -> None:
    _REGISTRY[spec.kind] = spec


def _load() -> None:
    """Import the form modules listed in ``KIND_FORMS`` (each calls ``register`` once)."""
    global _loaded
    if not _loaded:
        for module in KIND_FORMS:
            importlib.import_module(module)
        _loaded = True


def kinds() -> list[KindForm]:
    """Every kind that can be created here, in registration order."""
    _load()
    return list(_REGISTRY.values())


def get(kind: str | MailboxKind) -> KindForm:
    _load()
    try:
        return _REGISTRY[MailboxKind(kind)]
    except (ValueError, KeyError):
        raise NotFound("Mailboxes of kind %(kind)s cannot be edited here.", kind=kind) from None

"""Admin forms of the mall channels (Rakuten R-Messe, Yahoo!ショッピング), added to the mailbox-kind registry.

Secrets are written only (the form never shows them back); a new key or token lifts
a stop on polling (``credentials_state``) so the channel resumes from its cursor. A pasted
refresh token's consent time is recorded by the service (``mailboxes.enter_secrets``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from inbox.models import MailboxKind
from inbox.services.mall_complete import SETTING as MARK_COMPLETE
from inbox.web.mailbox_kinds import KindForm, MailboxForm, register
from inbox.web.mailbox_kinds.imap import ACK_SETTINGS, AckFields

# Settings cleared when new credentials are saved: polling resumes, the expiry is read again.
RESET_ON_NEW_SECRETS = ("credentials_state", "license_expires_at", "license_checked_at", "mall_pause")


@dataclass(frozen=True)
class MallKindForm(KindForm):
    def values(self, form: MailboxForm) -> dict[str, Any]:
        out = super().values(form)
        out["settings"][MARK_COMPLETE] = form[MARK_COMPLETE].data or None  # off: no key at all
        if any(out["secrets"].values()):
            out["settings"].update(dict.fromkeys(RESET_ON_NEW_SECRETS))
        return out


class MallForm(MailboxForm, AckFields):
    """What both mall channels have besides their credentials."""

    mark_complete_on_resolve = BooleanField(
        _l("When a thread is resolved, also mark the inquiry complete in the mall"))


class RakutenForm(MallForm):
    shop_id = StringField(_l("Shop ID"), validators=[Length(max=20)])
    service_secret = PasswordField(_l("Service secret"), validators=[Optional(), Length(max=200)])
    license_key = PasswordField(_l("Licence key"), validators=[Optional(), Length(max=200)])


class YahooForm(MallForm):
    seller_id = StringField(_l("Seller ID"), validators=[Length(max=64)])
    client_id = PasswordField(_l("App client ID"), validators=[Optional(), Length(max=200)])
    client_secret = PasswordField(_l("App client secret"), validators=[Optional(), Length(max=200)])
    refresh_token = PasswordField(_l("OAuth refresh token"), validators=[Optional(), Length(max=2000)])
    signature_public_key = TextAreaField(_l("Public key for the request signature (PEM)"),
                                         validators=[Optional(), Length(max=8000)])
    signature_key_version = StringField(_l("Public key version"), validators=[Optional(), Length(max=20)])
    client_cert = TextAreaField(_l("Client certificate (PEM)"), validators=[Optional(), Length(max=20000)])
    client_key = TextAreaField(_l("Client certificate key (PEM)"), validators=[Optional(), Length(max=20000)])


register(MallKindForm(
    kind=MailboxKind.RAKUTEN, label=_l("Rakuten R-Messe inquiries"), form_class=RakutenForm,
    partial="malls/rakuten_form.html", settings={"shop_id": "shop_id", MARK_COMPLETE: MARK_COMPLETE, **{k: k for k in ACK_SETTINGS}},
    optional=frozenset(ACK_SETTINGS),
    secrets={"service_secret": "service_secret", "license_key": "license_key"},
))
register(MallKindForm(
    kind=MailboxKind.YAHOO, label=_l("Yahoo!ショッピング questions"), form_class=YahooForm,
    partial="malls/yahoo_form.html",
    settings={"seller_id": "seller_id", "signature_key_version": "signature_key_version",
              MARK_COMPLETE: MARK_COMPLETE, **{k: k for k in ACK_SETTINGS}},
    optional=frozenset((*ACK_SETTINGS, "signature_key_version")),
    secrets={"client_id": "client_id", "client_secret": "client_secret", "refresh_token": "refresh_token",
             "signature_public_key": "signature_public_key", "client_cert": "client_cert",
             "client_key": "client_key"},
))

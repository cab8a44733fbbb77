"""WTForms classes for the web pages (CSRF comes with every one of them)."""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    email = EmailField(_l("Mail address"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Stay logged in"))


ROLE_CHOICES = [SelectChoice("agent", _l("Agent")), SelectChoice("lead", _l("Lead")), SelectChoice("admin", _l("Admin"))]
LANGUAGE_CHOICES = [SelectChoice("ja", "日本語"), SelectChoice("en", "English")]


# Field types a browser leaves out of the post when they are empty (unticked, nothing chosen);
# their templates add a hidden companion "<name>__shown" so that absence can be told apart.
COMPANION_TYPES = ("BooleanField", "SelectMultipleField")
COMPANION_SUFFIX = "__shown"


def presence_key(field: Field) -> str:
    """The form key whose presence shows that ``field`` was on the submitted page."""
    return field.name + COMPANION_SUFFIX if field.type in COMPANION_TYPES else field.name


class CompleteForm(FlaskForm):
    """A form whose every field must be in the post: a missing field is an error, never "empty".

    Editing forms fill fields from the stored object; without this check a post that leaves a
    field out would untick a checkbox or clear a list (WTForms reads an absent checkbox as off).
    Templates render checkboxes and multiple selects with ``companion(field)``.
    Fields named in ``keep_when_absent`` are the exception: left out, they change nothing.
    """

    keep_when_absent: frozenset[str] = frozenset()

    def validate(self, extra_validators=None) -> bool:  # type: ignore[override]
        ok = super().validate(extra_validators)
        if not self.is_submitted():
            return ok
        posted = set(request.form) | set(request.files)
        for field in self:
            if field.name in self.keep_when_absent:
                continue
            if field.type != "CSRFTokenField" and presence_key(field) not in posted:
                missing = _l("This field is missing from the form; reload the page and try again.")
                field.errors = [*field.errors, missing]
                ok = False
        return ok


class UserForm(CompleteForm):
    email = EmailField(
        _l("Mail address"), validators=[DataRequired(), Length(max=254)]
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    timezone = StringField(_l("Time zone"), default="Asia/Tokyo", validators=[DataRequired()])
    password = PasswordField(_l("Initial password"), validators=[Optional(), Length(min=10)])
    mailboxes = SelectMultipleField(_l("Mailboxes"), coerce=int)
    active = BooleanField(_l("Active"), default=True)
    approval_required = BooleanField(_l("Replies need approval (staff in training)"))
    password_login = BooleanField(_l("May log in with a password (off: single sign-on only)"), default=True)
    keep_when_absent = frozenset({"approval_required", "password_login"})  # see inbox.web.approval_settings


class SettingsForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    timezone = StringField(_l("Time zone"), validators=[DataRequired()])
    signature = TextAreaField(_l("Signature"), validators=[Optional(), Length(max=2000)])


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired()])


class SetPasswordForm(FlaskForm):
    new = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired()])


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that post."""

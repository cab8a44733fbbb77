"""WTForms classes for the web pages (CSRF comes with every one of them)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    email = EmailField(_l("Mail address"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Stay logged in"))


ROLE_CHOICES = [SelectChoice("agent", _l("Agent")), SelectChoice("lead", _l("Lead")), SelectChoice("admin", _l("Admin"))]
LANGUAGE_CHOICES = [SelectChoice("ja", "日本語"), SelectChoice("en", "English")]


class UserForm(FlaskForm):
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


class SettingsForm(FlaskForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    timezone = StringField(_l("Time zone"), validators=[DataRequired()])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that post."""

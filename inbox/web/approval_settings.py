"""The approval settings on the admin forms: a mailbox's (required, lead skip, approvers,
categories) and a user's (in training). A setting whose field (or its ``__shown`` companion)
is missing from the post keeps its stored value. The rules are ``inbox.services.approval``.
"""

from __future__ import annotations

from flask import request
from sqlalchemy import select
from wtforms import Field
from wtforms.fields.choices import SelectChoice

from inbox import models
from inbox.models import Mailbox, User
from inbox.services import approval
from inbox.services.errors import InvalidInput
from inbox.web import db
from inbox.web.errors import translated
from inbox.web.forms import presence_key


def posted(field: Field) -> bool:
    return presence_key(field) in request.form


def category_choices() -> list[SelectChoice]:
    """The sorting rules' categories, where that feature is installed."""
    category = getattr(models, "Category", None)
    if category is None:
        return []
    return [SelectChoice(c.id, c.name) for c in db().scalars(select(category).order_by(category.name))]


def prepare_mailbox_form(form, user_choices: list[SelectChoice]) -> None:
    form.approvers.choices = user_choices
    form.approval_categories.choices = category_choices()


def fill_mailbox(form, mailbox: Mailbox) -> None:
    form.approval_required.data = mailbox.approval_required
    form.approval_lead_skip.data = mailbox.approval_lead_skip
    form.approvers.data = approval.named_approver_ids(db(), mailbox)
    form.approval_categories.data = list(mailbox.approval_category_ids or [])


def save_mailbox(form, mailbox: Mailbox) -> bool:
    """Store the posted approval settings; False (with the error on the form) if refused."""
    if posted(form.approval_required):
        mailbox.approval_required = bool(form.approval_required.data)
    if posted(form.approval_lead_skip):
        mailbox.approval_lead_skip = bool(form.approval_lead_skip.data)
    if posted(form.approval_categories):
        mailbox.approval_category_ids = sorted(set(form.approval_categories.data or []))
    if posted(form.approvers):
        try:
            approval.set_approvers(db(), mailbox, form.approvers.data or [])
        except InvalidInput as exc:
            form.approvers.errors = [*form.approvers.errors, translated(exc)]
            return False
    return True


def save_user(form, user: User) -> None:
    if posted(form.approval_required):
        user.approval_required = bool(form.approval_required.data)

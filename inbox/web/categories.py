"""Category (問い合わせ種別) pages: the managed list (global and per mailbox, two levels) and each
mailbox's category settings (required before resolve, mall inquiry types mapped). Admins and
leads of the mailbox only."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import Mailbox, User
from inbox.services import categories
from inbox.services.errors import InvalidInput, NotFound
from inbox.web import db
from inbox.web.errors import translated

bp = Blueprint("categories", __name__, url_prefix="/categories")


def _me() -> User:
    return current_user._get_current_object()


def _checked_form() -> None:
    if not FlaskForm().validate_on_submit():
        raise InvalidInput(gettext("The form expired. Reload the page and try again."))


def _int(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.lstrip("-").isdigit() or abs(int(raw)) > 10**6:
        raise InvalidInput(gettext("That value is not valid for this action."))
    return int(raw)


def _page(status: int = 200):
    session, me = db(), _me()
    listed = categories.manageable(session, me)
    scopes = categories.editable_scopes(session, me)
    names = dict(session.execute(select(Mailbox.id, Mailbox.name)).all())
    return render_template(
        "categories/index.html", categories=listed, scopes=scopes, names=names,
        parents=[c for c in listed if c.parent_id is None],
    ), status


@bp.route("/")
@login_required
def index():
    return _page()


@bp.post("/new")
@login_required
def create():
    _checked_form()
    session = db()
    try:
        categories.create(
            session, _me(), mailbox_id=_int("mailbox"), name=request.form.get("name", ""),
            parent_id=_int("parent"), position=_int("position") or 0, now=utcnow(),
        )
    except InvalidInput as exc:
        session.rollback()
        flash(translated(exc), "error")
        return _page(400)
    session.commit()
    flash(gettext("Category saved."), "success")
    return redirect(url_for("categories.index"))


@bp.post("/<int:category_id>")
@login_required
def update(category_id: int):
    _checked_form()
    session = db()
    try:
        categories.update(
            session, _me(), category_id, name=request.form.get("name", ""), parent_id=_int("parent"),
            position=_int("position") or 0, active=bool(request.form.get("active")), now=utcnow(),
        )
    except InvalidInput as exc:
        session.rollback()
        flash(translated(exc), "error")
        return _page(400)
    session.commit()
    flash(gettext("Category saved."), "success")
    return redirect(url_for("categories.index"))


@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@login_required
def mailbox_settings(mailbox_id: int):
    session, me = db(), _me()
    box = session.get(Mailbox, mailbox_id)
    if box is None or mailbox_id not in categories.editable_scopes(session, me):
        raise NotFound(gettext("This mailbox does not exist or is not yours."))
    status, text = 200, categories.mapping_text(session, box)
    required = categories.required(box)
    if request.method == "POST":
        _checked_form()
        text, required = request.form.get("mapping", ""), bool(request.form.get("required"))
        try:
            categories.save_settings(session, me, box, required_=required, mapping_text=text, now=utcnow())
        except InvalidInput as exc:
            session.rollback()
            flash(translated(exc), "error")
            status = 400
        else:
            session.commit()
            flash(gettext("Settings saved."), "success")
            return redirect(url_for("categories.mailbox_settings", mailbox_id=mailbox_id))
    return render_template(
        "categories/mailbox.html", mailbox=box, mapping=text, required=required,
        choices=categories.choices(session, box.id),
    ), status

"""What a mall thread adds to the thread page: the Yahoo! completion reason, and how customers
are named (never by a mall's internal id) on every page.

The order panel itself is the template ``malls/customer_panel.html`` in the thread's side column.
"""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from inbox.services import customer_names, mall_complete, thumbnails
from inbox.services.access import get_thread
from inbox.services.errors import InvalidInput
from inbox.web import db

bp = Blueprint("mall_threads", __name__, url_prefix="/threads")


def customer_label(name: str | None, address: str | None) -> str:
    """The customer as pages show them: the name, else 「お客様（…2c9d）」 for a mall id, else the address."""
    who = customer_names.shown(name, address)
    if who.name:
        return who.name
    if who.tail:
        return gettext("Customer (…%(tail)s)", tail=who.tail)
    return who.address or (gettext("Customer") if customer_names.is_mall_id(address) else "")


def shown_address(address: str | None) -> str:
    """The address to print next to a name: nothing for a mall's internal id."""
    return customer_names.shown(None, address).address


def condition_choices() -> list[tuple[int, str]]:
    return [(k, gettext(v)) for k, v in mall_complete.CONDITION_LABELS.items()]


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        customer_label=customer_label, shown_address=shown_address,
        mall_condition_choices=condition_choices, is_image_attachment=thumbnails.is_image,
    )  # fmt: skip


@bp.post("/<int:thread_id>/mall-condition")
@login_required
def condition(thread_id: int):
    session = db()
    thread = get_thread(session, current_user._get_current_object(), thread_id)
    raw = request.form.get("condition", "")
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 3):
        raise InvalidInput(gettext("Unknown completion reason."))
    mall_complete.set_condition(session, thread, int(raw) if raw else None, by=current_user.id)
    session.commit()
    flash(gettext("Completion reason saved."), "success")
    return redirect(url_for("thread.show", thread_id=thread_id))

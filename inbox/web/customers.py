"""Customer pages: the list with search by name, address, company or order number, and one
customer's profile (their threads in the viewer's mailboxes, editable fields, linked identities,
merge suggestions, order numbers). Profiles, links and order numbers live in
``inbox.services.customers``, ``customer_links`` and ``customer_orders``."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.models import User
from inbox.services import customer_links, customers
from inbox.services.errors import InvalidInput
from inbox.web import db
from inbox.web.inputs import parse_id

bp = Blueprint("customers", __name__, url_prefix="/customers")


def _me() -> User:
    return current_user._get_current_object()


def _page() -> int:
    return max(1, min(request.args.get("page", 1, type=int), customers.MAX_PAGE))


@bp.get("")
@login_required
def index():
    query = (request.args.get("q") or "")[: customers.MAX_QUERY]
    page = _page()
    found, more = customers.search(db(), _me(), query, page=page)
    return render_template("customers/index.html", found=found, more=more, page=page, query=query)


@bp.get("/<int:customer_id>")
@login_required
def show(customer_id: int):
    session, me = db(), _me()
    found = customers.get(session, me, customer_id)
    if found.id != customer_id:  # a linked identity: its customer's page is the primary's
        return redirect(url_for("customers.show", customer_id=found.id))
    page = _page()
    threads, more = customers.threads(session, me, found, page=page)
    return render_template(
        "customers/show.html", customer=found, threads=threads, more=more, page=page,
        suggestions=customer_links.suggestions(session, me, found),
    )  # fmt: skip


@bp.post("/<int:customer_id>")
@login_required
def update(customer_id: int):
    f = request.form
    # The form sends vip=0 always and vip=1 when the box is ticked; no vip at all: unchanged.
    marks = f.getlist("vip")
    vip = ("1" in marks) if marks else None
    found = customers.update(
        db(), _me(), customer_id, name=f.get("name", ""), company=f.get("company", ""),
        phone=f.get("phone", ""), notes=f.get("notes", ""), vip=vip, now=utcnow(),
    )  # fmt: skip
    db().commit()
    flash(_("Customer saved."), "success")
    return redirect(url_for("customers.show", customer_id=found.id))


@bp.post("/<int:customer_id>/link")
@login_required
def link(customer_id: int):
    found = customer_links.link_address(
        db(), _me(), customer_id, request.form.get("address", ""), now=utcnow()
    )
    db().commit()
    flash(_("Identity linked."), "success")
    return redirect(url_for("customers.show", customer_id=found.id))


@bp.post("/<int:customer_id>/merge")
@login_required
def merge(customer_id: int):
    other = parse_id(request.form.get("other", ""))
    if other is None:
        raise InvalidInput("Choose a customer to merge.")
    found = customer_links.merge(db(), _me(), customer_id, other, now=utcnow())
    db().commit()
    flash(_("Customers merged."), "success")
    return redirect(url_for("customers.show", customer_id=found.id))


@bp.post("/<int:customer_id>/unlink/<int:contact_id>")
@login_required
def unlink(customer_id: int, contact_id: int):
    found = customer_links.unlink(db(), _me(), customer_id, contact_id, now=utcnow())
    db().commit()
    flash(_("Identity unlinked."), "success")
    return redirect(url_for("customers.show", customer_id=found.id))

"""The voice-of-the-customer page (leads for their mailboxes, admins for all): top and rising
terms of customer mail, top categories and tags with their trend, satisfaction figures, and the threads behind
a term, a tag or a category. Reads only the counts kept by ``inbox.services.voc`` and ``inbox.services.csat``."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.models import Category, Role
from inbox.services import access, csat, voc
from inbox.services.errors import InvalidInput
from inbox.web import db, user_zone

bp = Blueprint("voc", __name__, url_prefix="/reports/voc")

PERIODS = (7, 30, 90)


def _me():
    user = current_user._get_current_object()
    access.require_role(user, Role.ADMIN, Role.LEAD)
    return user


def _filters(user) -> tuple[list, list[int], voc.Period, int | None]:
    mailboxes = access.visible_mailboxes(db(), user)
    mailbox_id = request.args.get("mailbox", type=int)
    ids = [m.id for m in mailboxes if mailbox_id in (None, m.id)]
    if mailbox_id is not None and not ids:
        raise InvalidInput("You cannot see this mailbox.")
    today = utcnow().astimezone(user_zone()).date()
    try:
        end = date.fromisoformat(request.args["end"]) if request.args.get("end") else today
        start = date.fromisoformat(request.args["start"]) if request.args.get("start") else None
    except ValueError as exc:
        raise InvalidInput("Give dates as YYYY-MM-DD.") from exc
    days = request.args.get("days", type=int)
    if start is None:
        start = end - timedelta(days=(days if days in PERIODS else 30) - 1)
    if start > end or (end - start).days > 366:
        raise InvalidInput("Choose a period of one day to a year, the start before the end.")
    return mailboxes, ids, voc.Period(start, end), mailbox_id


@bp.route("")
@login_required
def index():
    user = _me()
    mailboxes, ids, period, mailbox_id = _filters(user)
    zone = user_zone()
    top, rising = voc.top_terms(db(), ids, period)
    tags = voc.top_tags(db(), ids, period, zone)
    categories = voc.top_categories(db(), ids, period, zone)
    start = datetime.combine(period.start, datetime.min.time(), zone)
    end = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), zone)
    figures = {
        by: csat.figures(db(), ids, start, end, by=by) for by in ("total", "agent", "mailbox")
    }
    return render_template(
        "voc/index.html",
        mailboxes=mailboxes,
        mailbox_id=mailbox_id,
        period=period,
        top=top,
        rising=rising,
        tags=tags,
        categories=categories,
        csat=figures,
        periods=PERIODS,
    )


@bp.route("/term")
@login_required
def term():
    user = _me()
    _mailboxes, ids, period, mailbox_id = _filters(user)
    word = (request.args.get("term") or "").strip()
    if not word:
        raise InvalidInput("Choose a term.")
    threads = voc.threads_with_term(db(), ids, word, period)
    return render_template(
        "voc/term.html", term=word, threads=threads, period=period, mailbox_id=mailbox_id
    )


@bp.route("/threads")
@login_required
def threads():
    """The threads behind a tag's or a category's count: those that arrived in the period."""
    user = _me()
    _mailboxes, ids, period, mailbox_id = _filters(user)
    tag = (request.args.get("tag") or "").strip()[:64] or None
    category_id = request.args.get("category", type=int)
    if (tag is None) == (category_id is None) or (
        category_id is not None and not 0 < category_id < 2**63
    ):
        raise InvalidInput("Choose a tag or a category.")
    label = tag
    if category_id is not None:
        category = db().get(Category, category_id)
        label = category.label if category is not None else "—"
    rows = voc.threads_arrived(db(), ids, period, user_zone(), tag=tag, category_id=category_id)
    return render_template(
        "voc/term.html",
        term=label,
        threads=rows,
        period=period,
        mailbox_id=mailbox_id,
        arrived=True,
    )

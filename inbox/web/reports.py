"""The reports page: KPI figures for a period and filters with charts, the threads behind each
number, and CSV downloads of every table. Leads see their mailboxes, admins all."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Blueprint, Response, g, render_template, request, stream_with_context, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from inbox.db import utcnow
from inbox.models import MailboxKind, Role, User
from inbox.services import report_export, reports
from inbox.services.access import require_role, visible_mailboxes
from inbox.services.errors import InvalidInput
from inbox.web import db, user_zone
from inbox.web.audit import note
from inbox.web.errors import translated

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.app_template_global()
def report_link(figure: str, flt: reports.ReportFilter, **narrowing) -> str:
    """The link to the threads behind one number: what ``url_for("reports.threads", ...)`` gives,
    built from the route once per request (the page has a few hundred of them: heat map, backlog)."""
    base = g.get("_report_threads_url")
    if base is None:
        base = g._report_threads_url = url_for("reports.threads")
    args = {"figure": figure, **flt.as_args(), **{k: v for k, v in narrowing.items() if v is not None}}
    return f"{base}?{urlencode(args, quote_via=quote)}"

# The page's sections, one template per figure, in order; another area adds its own here.
SECTIONS: list[str] = [
    "reports/_summary.html", "reports/_times.html", "reports/_agents.html",
    "reports/_backlog.html", "reports/_heatmap.html",
]


def _filter(args=None) -> reports.ReportFilter:
    today = utcnow().astimezone(user_zone()).date()
    return reports.parse_filter(args if args is not None else request.args, zone=user_zone(),
                                today=today)


def _choices(user: User) -> dict:
    session = db()
    mailboxes = visible_mailboxes(session, user)
    ids = [m.id for m in mailboxes]
    agents = report_export.agents(session, ids)
    return {"mailboxes": mailboxes, "channels": [k.value for k in MailboxKind],
            "agents": agents, "categories": report_export.categories(session, ids)}


@bp.route("")
@login_required
def index():
    user = current_user._get_current_object()
    require_role(user, Role.LEAD, Role.ADMIN)
    error = None
    try:
        flt = _filter()
    except InvalidInput as exc:
        error, flt = translated(exc), _filter({})
    report = reports.build_report(db(), user, flt)
    return render_template("reports/index.html", report=report, flt=flt, error=error,
                           sections=SECTIONS, summary=report_export.summary_rows(report),
                           **_choices(user)), (400 if error else 200)


@bp.route("/threads")
@login_required
def threads():
    user = current_user._get_current_object()
    flt = _filter()
    figure = request.args.get("figure", "")
    narrow = reports.parse_narrowing(request.args)
    before = narrow.pop("before", None)
    page = reports.threads_behind(db(), user, flt, figure, before_id=before, **narrow)
    more = len(page) == reports.PAGE
    return render_template("reports/threads.html", threads=page, flt=flt, figure=figure,
                           narrow=narrow, next_before=page[-1].id if more else None)


@bp.route("/export/<table>.csv")
@login_required
def export(table: str):
    user = current_user._get_current_object()
    flt = _filter()
    bom = request.args.get("encoding", "bom") != "utf8"
    rows = report_export.table_rows(db(), user, flt, table, translate=gettext)  # checks access and the table name first
    name = f"{table}_{flt.start:%Y%m%d}-{flt.end:%Y%m%d}.csv"
    note("export", f"report:{table}", {
        "from": flt.start.isoformat(), "to": flt.end.isoformat(), "mailbox": flt.mailbox_id,
        "channel": flt.channel, "agent": flt.agent_id, "category": flt.category_id, "tag": flt.tag,
    })  # fmt: skip
    db().commit()  # the audit entry stands even if the download is cut off
    return Response(
        stream_with_context(report_export.csv_lines(rows, bom=bom)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Content-Type": "text/csv; charset=utf-8"},
    )

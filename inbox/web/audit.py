"""The audit trail in the web layer: ``note()`` records an entry for the current request, and the
admin page (blueprint ``audit``) lists entries with filters and streams them as CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import AuditEntry, Role, User
from inbox.services import audit as audit_service
from inbox.services.access import require_role
from inbox.web import db, localtime, user_zone

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 100
FILTER_KEYS = ("actor", "action", "since", "until")
# What each action code of the log (inbox.services.audit.ACTIONS) is called on the page; the code
# itself stays in the CSV export and in the cell's title.
ACTION_LABELS = {
    "login.success": _l("Logged in"),
    "login.failure": _l("Log-in failed"),
    "login.locked": _l("Log-in locked"),
    "login.2fa_failure": _l("Two-factor check failed"),
    "login.sso_failure": _l("Single sign-on refused"),
    "logout": _l("Logged out"),
    "password.change": _l("Password changed"),
    "password.reset_sent": _l("Password reset link sent"),
    "password.reset_used": _l("Password reset link used"),
    "password.set_by_admin": _l("Password set by an administrator"),
    "2fa.enable": _l("Two-factor log-in turned on"),
    "2fa.disable": _l("Two-factor log-in turned off"),
    "2fa.reset_by_admin": _l("Two-factor log-in reset by an administrator"),
    "2fa.recovery_used": _l("Recovery code used"),
    "2fa.recovery_regenerated": _l("Recovery codes made anew"),
    "account.update": _l("Own settings changed"),
    "user.create": _l("User added"),
    "user.update": _l("User changed"),
    "mailbox.create": _l("Mailbox added"),
    "mailbox.update": _l("Mailbox changed"),
    "template.create": _l("Template added"),
    "template.update": _l("Template changed"),
    "template.delete": _l("Template deleted"),
    "export": _l("Data exported"),
    "data.delete": _l("Data deleted"),
    "api_token.create": _l("API token made"),
    "api_token.revoke": _l("API token revoked"),
    "webhook.create": _l("Webhook added"),
    "webhook.update": _l("Webhook changed"),
    "webhook.delete": _l("Webhook deleted"),
    "approval.approve": _l("Reply approved"),
    "approval.return": _l("Reply returned to its author"),
    "approval.withdraw": _l("Approval request withdrawn"),
    "thread.merge": _l("Threads merged"),
    "thread.split": _l("Thread split"),
    "thread.merge_undone": _l("Thread merge undone"),
    "thread.split_undone": _l("Thread split undone"),
    "customer.update": _l("Customer changed"),
    "customer.link": _l("Customer linked"),
    "customer.unlink": _l("Customer unlinked"),
    "customer.merge": _l("Customers merged"),
}


@bp.before_request
@login_required
def _admins_only() -> None:
    require_role(current_user, Role.ADMIN)


def client_address() -> str:
    return request.remote_addr or ""


def note(
    action: str,
    target: str = "",
    changes: Mapping[str, Any] | None = None,
    *,
    actor_id: int | None = None,
) -> None:
    """Record ``action`` by the logged-in user (or ``actor_id``) from this request's address.

    Joins the request's transaction: the view's commit stores it with the change itself.
    """
    if actor_id is None and current_user.is_authenticated:
        actor_id = current_user.id
    audit_service.record(
        db(), actor_id=actor_id, action=action, target=target, changes=changes,
        address=client_address(), now=utcnow(),
    )  # fmt: skip


def _day(value: str | None) -> datetime | None:
    """A yyyy-mm-dd in the viewer's time zone as the UTC start of that day; None if blank or bad."""
    if not value:
        return None
    try:
        day = datetime.strptime(value.strip()[:10], "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time(0), tzinfo=user_zone())


def _filters() -> tuple[audit_service.AuditFilter, list[str]]:
    problems = []
    actor = request.args.get("actor", "").strip()
    actor_id = int(actor) if actor.isdigit() and len(actor) < 19 else None
    if actor and actor_id is None:
        problems.append(_("Unknown user."))
    action = request.args.get("action", "").strip()
    if action and action not in audit_service.ACTIONS:
        problems.append(_("Unknown action."))
        action = ""
    since, until = _day(request.args.get("since")), _day(request.args.get("until"))
    for key, value in (("since", since), ("until", until)):
        if request.args.get(key) and value is None:
            problems.append(_("Enter dates as YYYY-MM-DD."))
    if until is not None:
        until += timedelta(days=1)  # the "until" day is included
    return audit_service.AuditFilter(actor_id, action or None, since, until), problems


@bp.route("/")
def index():
    f, problems = _filters()
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    rows = audit_service.entries(db(), f, limit=PAGE, before_id=before_id)
    users = list(db().scalars(select(User).order_by(User.name)))
    filter_args = {k: v for k, v in request.args.items() if k in FILTER_KEYS and v}
    return render_template(
        "audit/index.html", entries=rows, users=users, actions=audit_service.ACTIONS,
        problems=problems, more=len(rows) == PAGE, args=request.args,
        filter_args=filter_args, older_args=filter_args,
    ), 400 if problems else 200  # fmt: skip


@bp.app_template_filter("audit_action")
def action_label(action: str) -> str:
    """The action's name in the reader's language (an unknown code, of an older version, as is)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


@bp.app_template_filter("changes_text")
def changes_text(changes: dict[str, Any] | None) -> str:
    return json.dumps(changes, ensure_ascii=False, sort_keys=True) if changes else ""


def _csv_rows(entries: Iterator[AuditEntry]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(["id", "time", "actor_id", "actor", "action", "target", "changes", "address"])
    for e in entries:
        writer.writerow([
            e.id, localtime(e.created_at, "%Y-%m-%d %H:%M:%S %z"), e.actor_id or "",
            _safe_cell(e.actor_email), e.action, _safe_cell(e.target),
            _safe_cell(changes_text(e.changes)), e.address,
        ])  # fmt: skip
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def _safe_cell(value: str) -> str:
    """Text that a spreadsheet will not run as a formula (=, +, -, @ at the start)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@bp.route("/export.csv")
def export():
    f, problems = _filters()
    if problems:
        return render_template(
            "audit/index.html", entries=[], users=[], actions=audit_service.ACTIONS,
            problems=problems, more=False, args=request.args, filter_args={}, older_args={},
        ), 400  # fmt: skip
    note("export", "audit_log", {
        "actor": f.actor_id, "action": f.action, "since": f.since, "until": f.until,
    })  # fmt: skip
    db().commit()
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    rows = audit_service.stream(db(), f)
    return Response(
        stream_with_context(_csv_rows(rows)),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )

"""API: reports — the KPI figures of a period and filters, as the reports page shows them, with
the same permissions (leads their mailboxes, admins all, agents 403)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, available_timezones

from flask import Blueprint

from inbox.db import utcnow
from inbox.models import Role
from inbox.services import reports
from inbox.services.access import require_role
from inbox.services.errors import InvalidInput
from inbox.web import db
from inbox.web.api import schemas as s
from inbox.web.api.core import me, operation

bp = Blueprint("reports", __name__)


def _figures(f: reports.Figures) -> s.Figures:
    def share(x: reports.Share) -> s.Share:
        return s.Share(part=x.part, whole=x.whole, percent=x.percent)

    def spread(x: reports.Spread) -> s.Spread:
        return s.Spread(count=x.count, median_h=x.median_h, p90_h=x.p90_h)

    return s.Figures(received=f.received, first_response=spread(f.first_response),
                     resolution=spread(f.resolution), within_deadline=share(f.within_deadline),
                     reopen=share(f.reopen), fcr=share(f.fcr), replies=f.replies,
                     backlog_end=f.backlog_end)  # fmt: skip


@operation(bp, "get", "/reports", name="getReport", tag="reports", scope="read",
           summary="KPI figures of a period and the previous one (leads and admins)",
           query=s.ReportQuery, response=s.ReportOut)  # fmt: skip
def report(query: s.ReportQuery) -> s.ReportOut:
    user = me()
    require_role(user, Role.LEAD, Role.ADMIN)
    name = query.timezone or user.timezone
    if name not in available_timezones():
        raise InvalidInput("Unknown time zone.")
    zone = ZoneInfo(name)
    args = {"start": query.start.isoformat() if query.start else None,
            "end": query.end.isoformat() if query.end else None,
            "mailbox": query.mailbox, "channel": query.channel.value if query.channel else None,
            "agent": query.agent, "category": query.category, "tag": query.tag}  # fmt: skip
    flt = reports.parse_filter(args, zone=zone, today=utcnow().astimezone(zone).date())
    found = reports.build_report(db(), user, flt)
    return s.ReportOut(
        start=flt.start, end=flt.end, timezone=name, mailbox_ids=found.mailbox_ids,
        now=_figures(found.now), before=_figures(found.before),
        agents=[s.AgentReplies(user_id=uid, name=n, replies=r, replies_before=b)
                for uid, n, r, b in found.agents],
        backlog=[s.BacklogDay(day=d, open=n) for d, n in found.backlog],
        heatmap=found.heatmap,
    )  # fmt: skip

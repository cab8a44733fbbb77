"""CSV export of the reports: threads with their KPI facts, and every table of the reports page.

Rows are produced one at a time (the threads table reads the database with ``yield_per``, a
server-side cursor on PostgreSQL), so memory stays flat however many threads there are.
Output is UTF-8, with a byte-order mark by default so that Excel in Japan opens it correctly.
Header texts are msgids passed through the caller's ``translate``. Knows nothing of the web.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Mailbox, MailboxMember, Thread, ThreadFact, User
from inbox.services import reports
from inbox.services.errors import InvalidInput

TABLES = ("threads", "summary", "agents", "backlog", "heatmap")
BOM = "\ufeff"
WEEKDAY_KEYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _(text: str) -> str:
    """Marks a text for the translation catalogue; the caller translates it."""
    return text


def agents(session: Session, mailbox_ids: list[int]) -> list[User]:
    """People who work the given mailboxes (for the agent filter)."""
    if not mailbox_ids:
        return []
    member = select(MailboxMember.user_id).where(MailboxMember.mailbox_id.in_(mailbox_ids))
    return list(session.scalars(select(User).where(User.id.in_(member)).order_by(User.name)))


def categories(session: Session, mailbox_ids: list[int]) -> list[Any]:
    """Categories usable in the filter, if the category model exists (it comes with the rules area)."""
    try:
        from inbox.models import Category  # type: ignore[attr-defined]
    except ImportError:
        return []
    return list(session.scalars(
        select(Category).where((Category.mailbox_id.is_(None)) | Category.mailbox_id.in_(mailbox_ids))
        .order_by(Category.name)))


def _hours(seconds: int | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.2f}"


def _when(value: datetime | None, flt: reports.ReportFilter) -> str:
    return "" if value is None else value.astimezone(flt.zone).isoformat(timespec="seconds")


def _flag(value: bool | None) -> str:
    return "" if value is None else ("1" if value else "0")


def _num(value: float | int | None) -> str:
    return "" if value is None else str(value)


def thread_rows(session: Session, user: User | None, flt: reports.ReportFilter,
                translate: Callable[[str], str] = str) -> Iterator[list[str]]:
    """Threads that arrived in the period (with the filters), one row each with their facts."""
    ids = reports.scope_ids(session, user, flt)
    header = [_("Ticket"), _("Subject"), _("Mailbox"), _("Channel"), _("Status"), _("Received"),
              _("First reply"), _("First response (business hours)"), _("First response (hours)"),
              _("Replied within the deadline"), _("Replies"), _("First resolved"), _("Resolved"),
              _("Resolution (business hours)"), _("Resolution (hours)"), _("Reopened"),
              _("Resolved with one reply, not reopened within 7 days")]

    def generate() -> Iterator[list[str]]:
        yield [translate(h) for h in header]
        if not ids:
            return
        f = ThreadFact
        stmt = reports._narrow(
            select(Thread.id, Thread.subject, Mailbox.name, Mailbox.kind, Thread.status,
                   f.received_at, f.first_reply_at, f.first_response_business_s,
                   f.first_response_wall_s, f.replied_within_deadline, f.replies_count,
                   f.first_resolved_at, f.resolved_at, f.resolution_business_s, f.resolution_wall_s,
                   f.reopened_count, f.replies_at_first_resolve, f.first_reopen_after_s)
            .join(Thread, Thread.id == f.thread_id).join(Mailbox, Mailbox.id == f.mailbox_id)
            .where(reports.figure_condition("received", flt)),
            flt, ids, f.thread_id, f.mailbox_id,
        ).order_by(f.received_at, f.thread_id)
        window = int(reports.FCR_REOPEN_WINDOW.total_seconds())
        result = session.execute(stmt.execution_options(yield_per=2000, stream_results=True))
        for (tid, subject, mailbox, kind, status, received, first_reply, frt_b, frt_w, within,
             replies, first_resolved, resolved, res_b, res_w, reopened, at_first, reopen_after) in result:
            fcr = None
            if first_resolved is not None and (at_first or 0) >= 1:
                fcr = at_first == 1 and (reopen_after is None or reopen_after > window)
            yield [str(tid), subject, mailbox, kind.value, status.value, _when(received, flt),
                   _when(first_reply, flt), _hours(frt_b), _hours(frt_w), _flag(within),
                   str(replies), _when(first_resolved, flt), _when(resolved, flt), _hours(res_b),
                   _hours(res_w), str(reopened), _flag(fcr)]

    return generate()


def summary_rows(report: reports.Report) -> list[list[Any]]:
    """(msgid, this period, previous period) for every scalar figure."""
    a, b = report.now, report.before
    return [
        [_("Threads received"), a.received, b.received],
        [_("First response, median (business hours)"), a.first_response.median_h, b.first_response.median_h],
        [_("First response, 90th percentile (business hours)"), a.first_response.p90_h, b.first_response.p90_h],
        [_("Resolution, median (business hours)"), a.resolution.median_h, b.resolution.median_h],
        [_("Resolution, 90th percentile (business hours)"), a.resolution.p90_h, b.resolution.p90_h],
        [_("Replies within the deadline (per cent)"), a.within_deadline.percent, b.within_deadline.percent],
        [_("Replies"), a.replies, b.replies],
        [_("Reopen rate (per cent)"), a.reopen.percent, b.reopen.percent],
        [_("First contact resolution (per cent)"), a.fcr.percent, b.fcr.percent],
        [_("Open threads at the end of the period"), a.backlog_end, b.backlog_end],
    ]


def table_rows(session: Session, user: User | None, flt: reports.ReportFilter, table: str,
               translate: Callable[[str], str] = str) -> Iterable[list[Any]]:
    """The rows (header first) of one export table. Raises InvalidInput for an unknown table,
    PermissionDenied for agents, before any row is produced."""
    if table not in TABLES:
        raise InvalidInput(_("Unknown table."))
    if table == "threads":
        return thread_rows(session, user, flt, translate)
    report = reports.build_report(session, user, flt)
    t = translate
    if table == "summary":
        head = [t(_("Figure")), f"{flt.start}..{flt.end}",
                f"{flt.previous().start}..{flt.previous().end}"]
        return [head] + [[t(k), _num(x), _num(y)] for k, x, y in summary_rows(report)]
    if table == "agents":
        return [[t(_("Agent")), t(_("Replies")), t(_("Previous period"))]] + [
            [name, n, before] for _id, name, n, before in report.agents]
    if table == "backlog":
        return [[t(_("Day")), t(_("Open threads"))]] + [[d.isoformat(), n] for d, n in report.backlog]
    return [[t(_("Weekday")), *[str(h) for h in range(24)]]] + [
        [t(WEEKDAY_KEYS[dow]), *row] for dow, row in enumerate(report.heatmap)]


def csv_lines(rows: Iterable[list[Any]], *, bom: bool = True, chunk: int = 64 * 1024) -> Iterator[str]:
    """The rows as CSV text (a BOM first unless ``bom`` is false), in pieces of about ``chunk``
    characters: a whole number of lines each, so memory stays flat and the server is not asked
    to send one small write per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write(BOM)
    for row in rows:
        writer.writerow(_safe(v) for v in row)
        if buffer.tell() >= chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _safe(value: Any) -> Any:
    """Keep a spreadsheet from running a cell as a formula (=, +, -, @ at the start of text)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value

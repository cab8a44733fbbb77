"""Report figures from the KPI facts: period and previous period, percentiles, shares, backlog,
heat map, the threads behind each number, filters and who may see what; CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from inbox.models import Role, Status, ThreadTag
from inbox.services import report_export, reports
from inbox.services.errors import InvalidInput, PermissionDenied
from tests.factories import make_mailbox, make_user
from tests.services.test_kpi_facts import HOUR, Centre, jst

TOKYO = ZoneInfo("Asia/Tokyo")


def period(start, end, **kw):
    return reports.ReportFilter(start=date.fromisoformat(start), end=date.fromisoformat(end),
                                zone=TOKYO, **kw)


@pytest.fixture
def may(session, runtime):
    """May 2026 (Golden Week 3-6 May) with three threads, and one in April (the previous period)."""
    c = Centre(session, runtime)
    c.helper = make_user(session, mailboxes=[c.mailbox], name="佐藤")
    # a: Fri 1 May 17:00, answered Thu 7 May 10:00 (2 business hours), resolved at once: FCR
    a = c.customer_writes(jst(2026, 5, 1, 17))
    c.reply(a, jst(2026, 5, 7, 9), jst(2026, 5, 7, 10))
    c.set_status(a, Status.RESOLVED, jst(2026, 5, 7, 11))
    # b: Mon 11 May 9:00, answered 13:00 (4 h), resolved, reopened 2 days later: not FCR
    b = c.customer_writes(jst(2026, 5, 11, 9))
    c.reply(b, jst(2026, 5, 11, 12), jst(2026, 5, 11, 13), author=c.helper)
    c.set_status(b, Status.RESOLVED, jst(2026, 5, 11, 14))
    c.customer_writes(jst(2026, 5, 13, 10), b)
    # c: Wed 20 May 10:00, never answered, tagged 返品
    t3 = c.customer_writes(jst(2026, 5, 20, 10))
    session.add(ThreadTag(thread_id=t3.id, tag="返品"))
    # previous period (1-30 Apr is 30 days; May is 31: previous = 31 Mar - 30 Apr)
    old = c.customer_writes(jst(2026, 4, 10, 10))  # Fri
    c.reply(old, jst(2026, 4, 10, 10), jst(2026, 4, 13, 10))  # Mon 10:00: 9 business hours
    session.flush()
    c.threads = (a, b, t3, old)
    return c


def test_figures_for_may_and_the_previous_period(session, may):
    report = reports.build_report(session, may.lead, period("2026-05-01", "2026-05-31"))
    now, before = report.now, report.before
    assert now.received == 3 and before.received == 1
    assert (now.first_response.count, now.first_response.median_h, now.first_response.p90_h) == (2, 2.0, 4.0)
    assert before.first_response.median_h == 9.0
    assert now.within_deadline.part == 2 and now.within_deadline.whole == 2
    assert before.within_deadline.percent == 100.0  # Fri 10:00 + 1 business day = Mon 18:00
    assert now.replies == 2 and before.replies == 1
    assert (now.reopen.part, now.reopen.whole) == (1, 2)
    assert (now.fcr.part, now.fcr.whole, now.fcr.percent) == (1, 2, 50.0)
    # a resolved after 2+1 business hours: 1 May 17-18, 7 May 9-11
    assert now.resolution.count == 1 and now.resolution.median_h == 3.0
    assert now.backlog_end == 3  # b (reopened), c and the April thread (answered, not resolved)
    assert dict(report.backlog)[date(2026, 5, 1)] == 2  # the April thread was never resolved
    assert dict(report.backlog)[date(2026, 5, 7)] == 1
    assert report.heatmap[4][17] == 1 and report.heatmap[0][9] == 1 and sum(map(sum, report.heatmap)) == 3
    assert [(name, n, prev) for _id, name, n, prev in report.agents] == [("佐藤", 1, 0), ("鈴木", 1, 1)]


def test_each_number_leads_to_its_threads(session, may):
    a, b, t3, old = may.threads
    flt = period("2026-05-01", "2026-05-31")

    def ids(figure, f=flt, **kw):
        return sorted(t.id for t in reports.threads_behind(session, may.lead, f, figure, **kw))

    assert ids("received") == sorted([a.id, b.id, t3.id])
    assert ids("received", dow=4, hour=17) == [a.id]
    assert ids("fcr") == [a.id] and ids("reopened") == [b.id]
    assert ids("first_response") == sorted([a.id, b.id])
    assert ids("replies", f=period("2026-05-01", "2026-05-31", agent_id=may.helper.id)) == [b.id]
    assert ids("backlog", day=date(2026, 5, 31)) == sorted([b.id, t3.id, old.id])
    assert ids("received", f=flt.previous()) == [old.id]
    with pytest.raises(InvalidInput):
        ids("everything")


def test_filters_narrow_every_figure(session, may):
    _a, b, _t3, _old = may.threads
    tagged = reports.build_report(session, may.lead, period("2026-05-01", "2026-05-31", tag="返品"))
    assert tagged.now.received == 1 and tagged.now.replies == 0
    assert reports.build_report(session, may.lead, period("2026-05-01", "2026-05-31", channel="imap")).now.received == 0
    b_thread = session.get(type(b), b.id)
    b_thread.assignee_id = may.helper.id
    session.flush()
    mine = reports.build_report(session, may.lead, period("2026-05-01", "2026-05-31", agent_id=may.helper.id))
    assert mine.now.received == 1 and mine.now.replies == 1


def test_leads_see_their_mailboxes_admins_all_agents_nothing(session, may):
    other_lead = make_user(session, Role.LEAD, mailboxes=[make_mailbox(session)])
    flt = period("2026-05-01", "2026-05-31")
    assert reports.build_report(session, other_lead, flt).now.received == 0
    assert reports.build_report(session, make_user(session, Role.ADMIN), flt).now.received >= 3
    with pytest.raises(PermissionDenied):
        reports.build_report(session, may.agent, flt)
    assert reports.threads_behind(session, other_lead, flt, "received") == []


@pytest.mark.parametrize("args", [
    {"start": "2026-13-01"}, {"start": "2026-05-02", "end": "2026-05-01"},
    {"start": "2020-01-01", "end": "2026-01-01"}, {"mailbox": "x"}, {"channel": "fax"},
    {"agent": "-1"}, {"start": "0001-01-01"}, {"mailbox": "99999999999999999999999"},
])
def test_bad_periods_and_filters_are_refused_clearly(args):
    with pytest.raises(InvalidInput):
        reports.parse_filter(args, zone=TOKYO, today=date(2026, 6, 1))


def test_default_period_is_the_last_30_days():
    flt = reports.parse_filter({}, zone=TOKYO, today=date(2026, 6, 1))
    assert (flt.start, flt.end, flt.previous().end) == (date(2026, 5, 3), date(2026, 6, 1), date(2026, 5, 2))


def test_threads_csv_has_a_bom_and_one_row_per_thread_with_its_facts(session, may):
    a, _b, _t3, _old = may.threads
    rows = report_export.thread_rows(session, may.lead, period("2026-05-01", "2026-05-31"))
    text = "".join(report_export.csv_lines(rows))
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0][0] == "Ticket" and len(table) == 4
    row = next(r for r in table if r[0] == str(a.id))
    assert row[5] == "2026-05-01T17:00:00+09:00"
    assert row[7] == "2.00" and row[9] == "1" and row[16] == "1"
    plain = "".join(report_export.csv_lines([["=SUM(A1)", "返品"]], bom=False))
    assert plain == "'=SUM(A1),返品\r\n"


def test_every_report_table_exports(session, may):
    flt = period("2026-05-01", "2026-05-31")
    for table in report_export.TABLES:
        rows = list(report_export.table_rows(session, may.lead, flt, table))
        assert len(rows) > 1, table
    summary = list(report_export.table_rows(session, may.lead, flt, "summary"))
    assert summary[1] == ["Threads received", "3", "1"]
    assert summary[2][1] == str(2 * HOUR / 3600)
    with pytest.raises(InvalidInput):
        report_export.table_rows(session, may.lead, flt, "../etc")

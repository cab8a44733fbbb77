"""The reports page: roles and mailboxes, bad input answered clearly, the threads behind a number, CSV."""

from __future__ import annotations

import pytest

from inbox.models import Role
from tests.factories import login_as, make_mailbox, make_user
from tests.services.test_reports import may  # noqa: F401  (fixture)

MAY = "start=2026-05-01&end=2026-05-31"


def test_a_lead_sees_the_figures_of_their_mailboxes_with_charts_under_the_csp(client, may):  # noqa: F811
    login_as(client, may.lead)
    page = client.get(f"/reports?{MAY}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'vendor/chartjs/chart.umd.min.js' in html and 'type="application/json" id="chart-backlog"' in html
    assert "<script>" not in html and "onclick" not in html and 'style="' not in html
    assert 'data-testid="now-1"><a href="/reports/threads?figure=received&amp;start=2026-05-01' in html
    licence = client.get("/static/vendor/chartjs/LICENSE.md")
    assert licence.status_code == 200 and b"MIT" in licence.data
    licence.close()


@pytest.mark.parametrize("role", [Role.AGENT])
def test_agents_may_not_open_reports_or_exports(client, session, may, role):  # noqa: F811
    login_as(client, may.agent)
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/export/threads.csv").status_code == 403
    assert client.get("/reports/threads?figure=received").status_code == 403


def test_a_lead_of_another_mailbox_sees_none_of_these_threads(client, session, may):  # noqa: F811
    other = make_user(session, Role.LEAD, mailboxes=[make_mailbox(session)])
    login_as(client, other)
    html = client.get(f"/reports/threads?figure=received&{MAY}").get_data(as_text=True)
    assert 'data-testid="report-threads"' in html and "data-thread-id=" not in html
    a = may.threads[0]
    html = client.get(f"/reports/threads?figure=received&{MAY}&mailbox={may.mailbox.id}").get_data(as_text=True)
    assert f'data-thread-id="{a.id}"' not in html


@pytest.mark.parametrize("query", [
    "start=2026-02-30", "start=2026-05-02&end=2026-05-01", "mailbox=abc", "agent=1e9",
    "start=0001-01-01&end=0001-01-02",
])
def test_bad_periods_get_a_clear_message_not_an_error_page(client, may, query):  # noqa: F811
    login_as(client, may.lead)
    page = client.get(f"/reports?{query}")
    assert page.status_code == 400
    assert 'data-testid="report-error"' in page.get_data(as_text=True)


@pytest.mark.parametrize("path", [
    "/reports/threads?figure=nope", "/reports/threads?figure=received&dow=9",
    "/reports/threads?figure=backlog&day=x", "/reports/export/passwd.csv", "/reports/export/threads.csv?end=x",
])
def test_hostile_arguments_are_refused_with_400(client, may, path):  # noqa: F811
    login_as(client, may.lead)
    assert client.get(path).status_code == 400


def test_threads_behind_a_heat_map_cell(client, may):  # noqa: F811
    login_as(client, may.lead)
    a = may.threads[0]
    html = client.get(f"/reports/threads?figure=received&{MAY}&dow=4&hour=17").get_data(as_text=True)
    assert f'data-thread-id="{a.id}"' in html and html.count("data-thread-id=") == 1


def test_csv_downloads_with_bom_by_default_and_plain_on_request(client, may):  # noqa: F811
    login_as(client, may.lead)
    bom = client.get(f"/reports/export/threads.csv?{MAY}")
    assert bom.status_code == 200 and bom.mimetype == "text/csv"
    assert bom.data.startswith(b"\xef\xbb\xbf") and "attachment" in bom.headers["Content-Disposition"]
    assert bom.data.decode("utf-8-sig").count("\r\n") == 4
    plain = client.get(f"/reports/export/summary.csv?{MAY}&encoding=utf8")
    assert not plain.data.startswith(b"\xef\xbb\xbf") and "3,1" in plain.data.decode()


def test_every_report_export_is_in_the_audit_log(client, session, may):  # noqa: F811
    from inbox.models import AuditEntry

    login_as(client, may.lead)
    assert client.get(f"/reports/export/threads.csv?{MAY}").status_code == 200
    assert client.get("/reports/export/passwd.csv").status_code in (400, 404)  # refused: not logged
    [entry] = session.query(AuditEntry).filter_by(action="export").all()
    assert entry.actor_id == may.lead.id and entry.target == "report:threads"
    assert entry.changes["from"] == "2026-05-01"

"""`inbox report`: the figures of a period, `export` as CSV, and `rebuild-facts` from history."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from inbox.models import Status, ThreadFact
from tests.factories import make_mailbox, make_thread

AT = datetime(2026, 5, 8, 1, tzinfo=UTC)  # Fri 8 May 2026 10:00 in Tokyo


def test_rebuild_then_report_and_export(inbox, tmp_path):
    with inbox.runtime.Session() as s:
        box = make_mailbox(s)
        make_thread(s, box, "返品したい", at=AT)
        make_thread(s, box, "=HYPERLINK(\"x\")", at=AT, status=Status.RESOLVED)
        s.commit()
    rebuilt = inbox("report", "rebuild-facts", "--batch", "1")
    assert rebuilt.exit_code == 0 and "Rebuilt the facts of 2 threads and the report roll-ups." in rebuilt.output, rebuilt.output
    with inbox.runtime.Session() as s:
        assert len(s.scalars(select(ThreadFact)).all()) == 2

    shown = inbox("report", "--from", "2026-05-01", "--to", "2026-05-31")
    assert shown.exit_code == 0, shown.output
    line = next(x for x in shown.output.splitlines() if x.startswith("Threads received"))
    assert line.split()[-2:] == ["2", "0"]
    assert "Open threads at the end of the period" in shown.output

    out = tmp_path / "threads.csv"
    done = inbox("report", "export", "threads", "--from", "2026-05-01", "--to", "2026-05-31", "-o", str(out))
    assert done.exit_code == 0, done.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "返品したい" in data.decode("utf-8-sig")
    assert "'=HYPERLINK" in data.decode("utf-8-sig")
    plain = inbox("report", "export", "backlog", "--from", "2026-05-01", "--to", "2026-05-02", "--plain")
    assert plain.output.splitlines()[:2] == ["Day,Open threads", "2026-05-01,0"]


def test_bad_period_and_table_exit_2_with_a_reason(inbox):
    bad = inbox("report", "--from", "2026-05-10", "--to", "2026-05-01")
    assert bad.exit_code == 2 and "ends before it starts" in bad.output
    unknown = inbox("report", "export", "secrets")
    assert unknown.exit_code == 2 and "threads, summary" in unknown.output

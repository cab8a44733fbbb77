"""Tests for inbox.services.alerts: when each alert goes out, to whom, once, and how the mail looks.

The clock is controlled with time-machine and the process runs in Asia/Kolkata, a timezone
of neither team, so every local moment below is the team's and not the server's.
"""

import dataclasses
import time as time_mod
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

import inbox.senders  # noqa: F401  (registers the alert deliverer)
from inbox.db import utcnow
from inbox.models import Alert, Event, OutboxItem, OutboxStatus, Role, Status
from inbox.services import alerts, claims, deadlines, outbox
from tests.factories import make_mailbox, make_thread, make_user

JST = ZoneInfo("Asia/Tokyo")
NY = ZoneInfo("America/New_York")
HOURS = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def jst(*a: int) -> datetime:
    return datetime(*a, tzinfo=JST)


def ny(*a: int) -> datetime:
    return datetime(*a, tzinfo=NY)


@pytest.fixture(autouse=True)
def server_in_kolkata(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time_mod.tzset()
    yield
    monkeypatch.undo()
    time_mod.tzset()


@pytest.fixture
def tokyo(session):
    return make_mailbox(
        session, "tokyo", timezone="Asia/Tokyo", calendar={"hours": HOURS, "closed": ["2026-12-25"]}
    )


@pytest.fixture
def agent(session, tokyo):
    return make_user(session, Role.AGENT, mailboxes=[tokyo], email="agent@example.test")


def scan_at(runtime, when: datetime, owner: str = "scheduler-1") -> alerts.ScanResult:
    """Run the scheduler's job with the clock stopped at ``when``."""
    with time_machine.travel(when, tick=False):
        assert utcnow() == when
        return alerts.run_scan(runtime, owner=owner, now=utcnow())


def issued(session, thread) -> list[tuple[str, datetime]]:
    session.expire_all()
    rows = session.scalars(select(Alert).where(Alert.thread_id == thread.id).order_by(Alert.id))
    return [(a.stage, a.due_at) for a in rows]


def alert_items(session) -> list[OutboxItem]:
    session.expire_all()
    return list(
        session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "alert").order_by(OutboxItem.id)
        )
    )


def test_stages_fire_at_local_nine_and_at_the_deadline_across_weekend_and_holiday(
    session, runtime, tokyo, agent
):
    # Due Tue 24 Nov 18:00; Mon 23 is 勤労感謝の日, so "due tomorrow" is Friday 20th.
    due = jst(2026, 11, 24, 18)
    thread = make_thread(session, tokyo, due_at=due, assignee_id=agent.id, status=Status.OPEN)
    timeline = [
        (jst(2026, 11, 19, 12), []),
        (jst(2026, 11, 20, 8, 59), []),
        (jst(2026, 11, 20, 9, 0), ["due_tomorrow"]),
        (jst(2026, 11, 21, 9, 0), ["due_tomorrow"]),  # Saturday
        (jst(2026, 11, 23, 9, 0), ["due_tomorrow"]),  # the holiday
        (jst(2026, 11, 24, 8, 59), ["due_tomorrow"]),
        (jst(2026, 11, 24, 9, 0), ["due_tomorrow", "due_today"]),
        (jst(2026, 11, 24, 17, 59), ["due_tomorrow", "due_today"]),
        (jst(2026, 11, 24, 18, 0), ["due_tomorrow", "due_today", "overdue"]),
        (jst(2026, 11, 26, 9, 0), ["due_tomorrow", "due_today", "overdue"]),
    ]
    for when, expected in timeline:
        scan_at(runtime, when)
        assert [s for s, _ in issued(session, thread)] == expected, when
    items = alert_items(session)
    assert [i.idempotency_key for i in items] == [
        f"alert:{thread.id}:{stage}:{due.astimezone(UTC).isoformat()}"
        for stage in ("due_tomorrow", "due_today", "overdue")
    ]
    assert {tuple(i.recipients) for i in items} == {("agent@example.test",)}
    assert [i.next_attempt_at for i in items] == [
        jst(2026, 11, 20, 9),
        jst(2026, 11, 24, 9),
        jst(2026, 11, 24, 18),
    ]


def test_a_team_closed_day_moves_due_tomorrow_to_the_working_day_before(
    session, runtime, tokyo, agent
):
    # Due Mon 28 Dec; the team is closed on Fri 25 Dec, so the day before is Thu 24.
    thread = make_thread(session, tokyo, due_at=jst(2026, 12, 28, 18), assignee_id=agent.id)
    scan_at(runtime, jst(2026, 12, 24, 8, 59))
    assert issued(session, thread) == []
    scan_at(runtime, jst(2026, 12, 24, 9, 0))
    assert [s for s, _ in issued(session, thread)] == ["due_tomorrow"]


def test_a_new_york_team_is_alerted_at_nine_new_york_time_and_a_tokyo_reader_sees_tokyo_time(
    session, runtime
):
    box = make_mailbox(
        session, "ny", timezone="America/New_York", calendar={"hours": HOURS, "jp_holidays": False}
    )
    reader = make_user(session, mailboxes=[box], language="en", timezone="Asia/Tokyo")
    thread = make_thread(
        session, box, "Order 1234", due_at=ny(2026, 11, 23, 17), assignee_id=reader.id
    )
    scan_at(runtime, ny(2026, 11, 20, 8, 59))  # Friday before the Monday deadline
    assert issued(session, thread) == []
    scan_at(runtime, ny(2026, 11, 20, 9, 0))
    assert [s for s, _ in issued(session, thread)] == ["due_tomorrow"]
    [item] = alert_items(session)
    msg = _parse(item.raw)
    assert msg["Subject"] == f"[Reply due tomorrow] [#{thread.id}] Order 1234"
    assert "Reply due: Tue 24 Nov 2026 07:00 (Asia/Tokyo)" in msg.get_content()


def test_a_deadline_set_late_gets_only_its_current_stage(session, runtime, tokyo, agent):
    thread = make_thread(session, tokyo, due_at=jst(2026, 11, 24, 17), assignee_id=agent.id)
    scan_at(runtime, jst(2026, 11, 24, 15))
    assert [s for s, _ in issued(session, thread)] == ["due_today"]


def test_moving_the_deadline_rearms_the_stages_and_resolving_silences_them(
    session, runtime, tokyo, agent
):
    thread = make_thread(session, tokyo, due_at=jst(2026, 11, 24, 18), assignee_id=agent.id)
    scan_at(runtime, jst(2026, 11, 24, 18, 5))
    assert [s for s, _ in issued(session, thread)] == ["overdue"]
    later = jst(2026, 11, 26, 12)
    deadlines.set_by_hand(session, thread, later, actor_id=agent.id, now=jst(2026, 11, 24, 18, 6))
    session.flush()
    scan_at(runtime, jst(2026, 11, 24, 18, 10))
    assert [s for s, _ in issued(session, thread)] == ["overdue"]
    scan_at(runtime, jst(2026, 11, 25, 9))
    assert issued(session, thread)[-1] == ("due_tomorrow", later)
    thread.status = Status.RESOLVED
    session.flush()
    scan_at(runtime, jst(2026, 11, 26, 9))
    scan_at(runtime, jst(2026, 11, 26, 13))
    assert [s for s, _ in issued(session, thread)] == ["overdue", "due_tomorrow"]


def test_every_alert_is_issued_once_however_often_and_by_whomever_the_scan_runs(
    session, runtime, tokyo, agent
):
    thread = make_thread(session, tokyo, due_at=jst(2026, 11, 24, 18), assignee_id=agent.id)
    first = scan_at(runtime, jst(2026, 11, 24, 18, 1), owner="a")
    # Another scheduler's lease expired meanwhile: it scans the same moment again.
    second = scan_at(runtime, jst(2026, 11, 24, 18, 10), owner="b")
    third = alerts.scan(runtime.Session, runtime.settings, now=jst(2026, 11, 24, 18, 11))
    assert (first.issued, second.issued, third.issued) == (1, 0, 0)
    assert len(issued(session, thread)) == 1 and len(alert_items(session)) == 1


def test_a_unique_violation_means_someone_else_issued_it(session, runtime, tokyo, agent):
    due = jst(2026, 11, 24, 18)
    thread = make_thread(session, tokyo, due_at=due, assignee_id=agent.id)
    found = alerts.find_due(
        session, now=jst(2026, 11, 24, 19), notify_at=runtime.settings.alert_notify_at
    )
    assert found == [alerts.DueAlert(thread.id, "overdue", due)]
    session.add(Alert(thread_id=thread.id, stage="overdue", due_at=due))  # the other process
    session.flush()
    assert (
        alerts.issue(session, found[0], now=jst(2026, 11, 24, 19), settings=runtime.settings)
        is False
    )
    assert alert_items(session) == []


def test_a_busy_lease_makes_a_second_scheduler_skip(session, runtime, tokyo, agent):
    make_thread(session, tokyo, due_at=jst(2026, 11, 24, 18), assignee_id=agent.id)
    claims.try_claim(
        session, "alerts", "other", now=jst(2026, 11, 24, 18), ttl=timedelta(minutes=3)
    )
    session.flush()
    result = scan_at(runtime, jst(2026, 11, 24, 18, 1))
    assert result.claimed is False and alert_items(session) == []
    assert scan_at(runtime, jst(2026, 11, 24, 18, 4)).issued == 1  # expired: taken over


def test_overdue_alerts_older_than_the_lookback_are_not_sent_late(session, runtime, tokyo, agent):
    thread = make_thread(session, tokyo, due_at=jst(2026, 11, 10, 18), assignee_id=agent.id)
    scan_at(runtime, jst(2026, 11, 10, 18) + alerts.LOOKBACK + timedelta(minutes=1))
    assert issued(session, thread) == []


def test_unassigned_threads_alert_the_mailbox_leads_and_digest_leads_get_no_single_mail(
    session, runtime, tokyo
):
    lead = make_user(session, Role.LEAD, mailboxes=[tokyo], email="lead@example.test")
    digest_lead = make_user(session, Role.LEAD, mailboxes=[tokyo], email="digest@example.test")
    digest_lead.alert_digest = True
    make_user(session, Role.AGENT, mailboxes=[tokyo], email="colleague@example.test")
    make_user(session, Role.LEAD, mailboxes=[make_mailbox(session)], email="elsewhere@example.test")
    thread = make_thread(session, tokyo, due_at=jst(2026, 11, 24, 18))
    session.flush()
    scan_at(runtime, jst(2026, 11, 24, 9))
    [item, digest] = alert_items(session)
    assert (item.thread_id, item.recipients) == (thread.id, ["lead@example.test"])
    assert (digest.thread_id, digest.recipients) == (None, ["digest@example.test"])
    [ev] = session.scalars(
        select(Event).where(Event.thread_id == thread.id, Event.kind == "deadline_alert")
    )
    assert ev.data["mailed"] == [lead.id] and ev.data["digest"] == [digest_lead.id]


def test_the_daily_digest_goes_once_after_nine_on_a_working_day(session, runtime, tokyo):
    lead = make_user(session, Role.LEAD, mailboxes=[tokyo], email="digest@example.test")
    lead.alert_digest = True
    make_thread(session, tokyo, "遅れている件", due_at=jst(2026, 11, 23, 12))
    make_thread(session, tokyo, "今日の件", due_at=jst(2026, 11, 24, 18))
    make_thread(session, tokyo, "明日の件", due_at=jst(2026, 11, 25, 18))
    make_thread(session, tokyo, "終わった件", due_at=jst(2026, 11, 24, 18), status=Status.RESOLVED)
    session.flush()
    assert scan_at(runtime, jst(2026, 11, 23, 10)).digests == 0  # a holiday for the team
    assert scan_at(runtime, jst(2026, 11, 24, 8, 59)).digests == 0
    assert scan_at(runtime, jst(2026, 11, 24, 9, 0)).digests == 1
    assert scan_at(runtime, jst(2026, 11, 24, 15, 0)).digests == 0
    [digest] = [i for i in alert_items(session) if i.payload.get("digest")]
    assert digest.idempotency_key == f"alert-digest:{lead.id}:2026-11-24"
    msg = _parse(digest.raw)
    assert msg["Subject"] == "【返信期限のまとめ】11月24日 期限切れ 1 件・本日 1 件・明日 1 件"
    body = msg.get_content()
    assert "遅れている件" in body and "今日の件" in body and "明日の件" in body
    assert "終わった件" not in body
    assert scan_at(runtime, jst(2026, 11, 25, 9, 0)).digests == 1


def test_alert_mail_is_utf8_mime_from_the_alert_address_and_marked_automatic(
    session, runtime, tokyo, agent
):
    runtime.settings = dataclasses.replace(
        runtime.settings, alert_from_address="alerts@example.test"
    )
    thread = make_thread(
        session, tokyo, "商品が届きません", due_at=jst(2026, 11, 24, 18), assignee_id=agent.id
    )
    scan_at(runtime, jst(2026, 11, 24, 18))
    [item] = alert_items(session)
    msg = _parse(item.raw)
    assert item.mail_from == "alerts@example.test" == msg["From"]
    assert msg["To"] == "agent@example.test"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == f"【返信期限切れ】[#{thread.id}] 商品が届きません"
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    assert "返信期限: 2026年11月24日(火) 18:00 (Asia/Tokyo)" in body
    assert item.raw.isascii()  # 7-bit safe on the wire


def test_mixed_language_recipients_get_both_languages_japanese_first(session, runtime, tokyo):
    make_user(session, Role.LEAD, mailboxes=[tokyo], language="en", timezone="Europe/Berlin")
    make_user(session, Role.LEAD, mailboxes=[tokyo], language="ja")
    make_thread(session, tokyo, "Hi", due_at=jst(2026, 11, 24, 18))
    session.flush()
    scan_at(runtime, jst(2026, 11, 24, 18))
    [item] = alert_items(session)
    msg = _parse(item.raw)
    assert msg["Subject"].startswith("【返信期限切れ】") and "/ [Reply overdue]" in msg["Subject"]
    body = msg.get_content()
    assert body.index("返信期限を過ぎています") < body.index(
        "Reply due: Tue 24 Nov 2026 10:00 (Europe/Berlin)"
    )


def test_alert_mail_reaches_a_real_smtp_server_and_a_refusal_stays_visible(
    session, runtime, tokyo, agent, smtp_server
):
    runtime.settings = dataclasses.replace(
        runtime.settings,
        alert_smtp={
            **runtime.settings.alert_smtp,
            "host": smtp_server.host,
            "port": smtp_server.port,
        },
    )
    make_thread(session, tokyo, "一件目", due_at=jst(2026, 11, 24, 18), assignee_id=agent.id)
    make_thread(session, tokyo, "二件目", due_at=jst(2026, 11, 24, 18), assignee_id=agent.id)
    scan_at(runtime, jst(2026, 11, 24, 18))
    now = jst(2026, 11, 24, 18, 1)
    smtp_server.fail_next(1, code=550, text="5.1.1 No such user", stage="RCPT")
    outbox.deliver_due(runtime.Session, runtime, owner="w", now=lambda: now)
    assert len(smtp_server.messages) == 1
    [stuck] = alerts.stuck_items(session)
    assert stuck.status == OutboxStatus.FAILED and "No such user" in stuck.last_error
    alerts.resend(session, stuck.id, actor_id=agent.id, now=now)
    session.flush()
    outbox.deliver_due(runtime.Session, runtime, owner="w", now=lambda: now + timedelta(minutes=1))
    session.expire_all()
    assert alerts.stuck_items(session) == []
    # Sorted by the thread's subject, not the whole line: "[#10]" sorts before "[#9]".
    subjects = sorted(m.message()["Subject"].split("] ")[-1] for m in smtp_server.messages)
    assert subjects == ["一件目", "二件目"]
    assert {m.rcpt_tos[0] for m in smtp_server.messages} == {"agent@example.test"}


def _parse(raw: bytes):
    import email
    import email.policy

    return email.message_from_bytes(raw, policy=email.policy.default)

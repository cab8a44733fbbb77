"""Tests for inbox.services.deadlines: deadlines by rule and by hand, stage filters, counts, calendar settings."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from inbox.models import (
    Direction,
    Event,
    Message,
    OutboxItem,
    OutboxStatus,
    Priority,
    Role,
    Status,
    Thread,
    ThreadTag,
)
from inbox.services import assignment, deadlines
from inbox.services.business_hours import Stage
from inbox.services.errors import InvalidInput, NotFound, PermissionDenied
from tests.factories import make_mailbox, make_thread, make_user

JST = ZoneInfo("Asia/Tokyo")
NY = ZoneInfo("America/New_York")
WEEKDAYS_9_18 = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def jst(*a: int) -> datetime:
    return datetime(*a, tzinfo=JST)


def ny(*a: int) -> datetime:
    return datetime(*a, tzinfo=NY)


@pytest.fixture
def tokyo(session):
    return make_mailbox(
        session,
        timezone="Asia/Tokyo",
        calendar={"hours": WEEKDAYS_9_18, "closed": ["2026-12-29..2027-01-03"]},
        deadline_rules=[
            {"business_days": 1},
            {"business_hours": 4, "tag": "vip"},
            {"business_hours": 2, "priority": "urgent"},
        ],
    )


@pytest.fixture
def new_york(session):
    return make_mailbox(
        session,
        timezone="America/New_York",
        calendar={"hours": WEEKDAYS_9_18, "jp_holidays": False},
    )


def events(session, thread, kind):
    return list(
        session.scalars(select(Event).where(Event.thread_id == thread.id, Event.kind == kind))
    )


# --- by rule ------------------------------------------------------------------------------


def test_friday_evening_mail_is_due_wednesday_after_the_weekend_and_kinro_kansha_no_hi(
    session, tokyo
):
    thread = make_thread(session, tokyo, at=jst(2026, 11, 20, 19))
    deadlines.on_customer_message(session, thread, jst(2026, 11, 20, 19))
    # After close on Fri: counts from Tue 24 (Mon 23 is 勤労感謝の日), one business day later.
    assert thread.due_at == jst(2026, 11, 25, 18)
    assert thread.due_set_by_hand is False
    assert events(session, thread, "deadline_set")[0].data["by"] == "rule"


def test_the_tag_rule_gives_four_business_hours_across_the_long_weekend(session, tokyo):
    thread = make_thread(session, tokyo, at=jst(2026, 11, 20, 16))
    thread.tags.append(ThreadTag(tag="vip"))
    deadlines.on_customer_message(session, thread, jst(2026, 11, 20, 16))
    assert thread.due_at == jst(2026, 11, 24, 11)  # 2 h on Friday, 2 h on Tuesday


def test_the_priority_rule_gives_two_business_hours(session, tokyo):
    thread = make_thread(session, tokyo, priority=Priority.URGENT)
    deadlines.on_customer_message(session, thread, jst(2026, 11, 24, 17))
    assert thread.due_at == jst(2026, 11, 25, 10)


def test_the_team_new_year_closure_is_skipped(session, tokyo):
    thread = make_thread(session, tokyo)
    deadlines.on_customer_message(session, thread, jst(2026, 12, 28, 15))
    assert thread.due_at == jst(2027, 1, 4, 18)


def test_a_second_customer_mail_keeps_the_first_deadline(session, tokyo):
    thread = make_thread(session, tokyo)
    deadlines.on_customer_message(session, thread, jst(2026, 11, 24, 10))
    deadlines.on_customer_message(session, thread, jst(2026, 11, 25, 10))
    assert thread.due_at == jst(2026, 11, 25, 18)


def test_a_team_reply_clears_a_rule_deadline_and_records_it(session, tokyo):
    thread = make_thread(session, tokyo)
    deadlines.on_customer_message(session, thread, jst(2026, 11, 24, 10))
    deadlines.on_team_reply(session, thread, jst(2026, 11, 24, 11))
    assert thread.due_at is None
    assert events(session, thread, "deadline_cleared")[0].data["by"] == "reply"


def test_a_team_reply_keeps_a_deadline_set_by_hand(session, tokyo):
    thread = make_thread(session, tokyo)
    deadlines.set_by_hand(
        session, thread, jst(2026, 11, 30, 12), actor_id=None, now=jst(2026, 11, 24, 9)
    )
    deadlines.on_team_reply(session, thread, jst(2026, 11, 24, 11))
    assert thread.due_at == jst(2026, 11, 30, 12)
    assert events(session, thread, "deadline_cleared") == []


# --- deadlines follow the thread ----------------------------------------------------------


@pytest.fixture
def agent_of(session):
    def make(box):
        return make_user(session, Role.LEAD, mailboxes=[box])

    return make


def test_tagging_a_new_thread_gives_it_the_tag_rules_deadline(session, tokyo, agent_of):
    """Ingest sets the deadline before anyone tags the thread; the tag rule must still apply."""
    thread = make_thread(session, tokyo, at=jst(2026, 11, 20, 16))
    deadlines.on_customer_message(session, thread, jst(2026, 11, 20, 16))
    assert thread.due_at == jst(2026, 11, 24, 18)  # default rule: one business day
    assignment.set_tags(session, thread.id, ["vip"], by=agent_of(tokyo),
                        expected_version=thread.version, now=jst(2026, 11, 20, 17))
    assert thread.due_at == jst(2026, 11, 24, 11)  # 4 business hours from the mail
    [ev] = [e for e in events(session, thread, "deadline_set") if e.data.get("reason") == "reclassified"]
    assert ev.data["by"] == "rule"
    assignment.set_tags(session, thread.id, [], by=agent_of(tokyo),
                        expected_version=thread.version, now=jst(2026, 11, 20, 18))
    assert thread.due_at == jst(2026, 11, 24, 18)  # back to the default rule


def test_raising_the_priority_in_bulk_tightens_the_deadline(session, tokyo, agent_of):
    thread = make_thread(session, tokyo, at=jst(2026, 11, 24, 17))
    deadlines.on_customer_message(session, thread, jst(2026, 11, 24, 17))
    counts = assignment.bulk_apply(session, [thread.id], "priority", "urgent", by=agent_of(tokyo),
                                   now=jst(2026, 11, 24, 17, 30))
    assert counts.changed == 1
    assert thread.due_at == jst(2026, 11, 25, 10)


def test_a_deadline_set_by_hand_or_an_answered_thread_is_not_recomputed(session, tokyo, agent_of):
    by_hand = make_thread(session, tokyo, at=jst(2026, 11, 24, 10))
    deadlines.set_by_hand(session, by_hand, jst(2026, 11, 30, 12), actor_id=None, now=jst(2026, 11, 24, 10))
    assignment.set_tags(session, by_hand.id, ["vip"], by=agent_of(tokyo),
                        expected_version=by_hand.version, now=jst(2026, 11, 24, 11))
    assert by_hand.due_at == jst(2026, 11, 30, 12)
    answered = make_thread(session, tokyo, at=jst(2026, 11, 24, 10), status=Status.WAITING)
    session.add(Message(thread_id=answered.id, mailbox_id=tokyo.id, direction=Direction.OUTBOUND,
                        source_key=f"out:{answered.id}", received_at=jst(2026, 11, 24, 11), text="ok"))
    session.flush()
    assignment.set_tags(session, answered.id, ["vip"], by=agent_of(tokyo),
                        expected_version=answered.version, now=jst(2026, 11, 24, 12))
    assert answered.due_at is None


def test_a_reply_that_has_not_gone_out_does_not_count_as_an_answer(session, tokyo, agent_of):
    thread = make_thread(session, tokyo, at=jst(2026, 11, 20, 16))
    deadlines.on_customer_message(session, thread, jst(2026, 11, 20, 16))
    reply = Message(thread_id=thread.id, mailbox_id=tokyo.id, direction=Direction.OUTBOUND,
                    source_key=f"out:{thread.id}", received_at=jst(2026, 11, 20, 16, 30), text="ok")
    session.add(reply)
    session.flush()
    session.add(OutboxItem(kind="reply", mailbox_id=tokyo.id, thread_id=thread.id, message_row_id=reply.id,
                           idempotency_key=f"r{reply.id}", status=OutboxStatus.FAILED,
                           next_attempt_at=jst(2026, 11, 20, 16, 30)))
    session.flush()
    assignment.set_tags(session, thread.id, ["vip"], by=agent_of(tokyo),
                        expected_version=thread.version, now=jst(2026, 11, 20, 17))
    assert thread.due_at == jst(2026, 11, 24, 11)  # the failed reply did not answer the customer


# --- by hand ------------------------------------------------------------------------------


def test_a_date_alone_means_the_teams_close_of_business(tokyo):
    cal = deadlines.calendar_for(tokyo)
    due = deadlines.due_from_input(cal, now=jst(2026, 11, 20, 10), day=date(2026, 11, 26))
    assert due == jst(2026, 11, 26, 18)
    assert due.tzinfo == UTC


def test_a_date_and_time_are_read_in_the_viewers_timezone(tokyo):
    cal = deadlines.calendar_for(tokyo)
    due = deadlines.due_from_input(
        cal, now=jst(2026, 11, 20, 10), day=date(2026, 11, 25), at=time(20, 0), zone=NY
    )
    assert due == ny(2026, 11, 25, 20) == jst(2026, 11, 26, 10)


@pytest.mark.parametrize(
    ("pick", "expected"),
    [
        ("today", jst(2026, 11, 20, 18)),
        ("tomorrow", jst(2026, 11, 24, 18)),  # the next working day: Mon 23 is a holiday
        ("+3bd", jst(2026, 11, 26, 18)),
    ],
)
def test_quick_picks_count_working_days(tokyo, pick, expected):
    cal = deadlines.calendar_for(tokyo)
    assert deadlines.due_from_input(cal, now=jst(2026, 11, 20, 10), pick=pick) == expected


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"pick": "next week"}, "Unknown quick pick"),
        ({}, "Choose a date"),
        ({"day": date(2206, 11, 20)}, "too far away"),
    ],
)
def test_bad_deadline_input_is_refused_with_a_reason(tokyo, kw, message):
    with pytest.raises(InvalidInput, match=message):
        deadlines.due_from_input(deadlines.calendar_for(tokyo), now=jst(2026, 11, 20, 10), **kw)


def test_clearing_by_hand_removes_the_deadline_and_names_the_person(session, tokyo):
    lead = make_user(session, Role.LEAD, mailboxes=[tokyo])
    thread = make_thread(session, tokyo, due_at=jst(2026, 11, 24, 18))
    deadlines.clear_by_hand(session, thread, actor_id=lead.id, now=jst(2026, 11, 20, 10))
    assert thread.due_at is None
    [cleared] = events(session, thread, "deadline_cleared")
    assert (cleared.actor_id, cleared.data["by"]) == (lead.id, "hand")


# --- stages in SQL ------------------------------------------------------------------------


def _ids(session, stage, now, **kw):
    stmt = deadlines.stage_filter(select(Thread.id), stage, now, **kw)
    return set(session.scalars(stmt))


def test_stage_filters_use_each_teams_local_date_and_working_days(session, tokyo, new_york):
    now = jst(2026, 11, 20, 10)  # Fri 10:00 in Tokyo = Thu 20:00 in New York
    t = {
        name: make_thread(session, box, due_at=due).id
        for name, box, due in [
            ("tokyo_overdue", tokyo, jst(2026, 11, 20, 9)),
            ("tokyo_today", tokyo, jst(2026, 11, 20, 18)),
            ("tokyo_tuesday", tokyo, jst(2026, 11, 24, 18)),  # after the weekend and holiday
            ("tokyo_wednesday", tokyo, jst(2026, 11, 25, 18)),
            ("ny_today", new_york, ny(2026, 11, 19, 23)),
            ("ny_friday", new_york, ny(2026, 11, 20, 18)),
            ("ny_monday", new_york, ny(2026, 11, 23, 18)),  # no JP holidays in New York
        ]
    }
    make_thread(session, tokyo, due_at=jst(2026, 11, 19, 9), status=Status.RESOLVED)
    cals = deadlines.calendars_for(session, [tokyo.id, new_york.id])
    assert _ids(session, Stage.OVERDUE, now, calendars=cals) == {t["tokyo_overdue"]}
    assert _ids(session, Stage.DUE_TODAY, now, calendars=cals) == {t["tokyo_today"], t["ny_today"]}
    assert _ids(session, "due_tomorrow", now, calendars=cals) == {
        t["tokyo_tuesday"],
        t["ny_friday"],
    }


def test_stage_filter_by_the_viewers_zone_approximates_other_teams(session, new_york):
    now = jst(2026, 11, 20, 10)
    late_thursday_ny = make_thread(session, new_york, due_at=ny(2026, 11, 19, 23)).id
    # By Tokyo's date that is Friday 13:00, still today in Tokyo.
    assert late_thursday_ny in _ids(session, Stage.DUE_TODAY, now, zone="Asia/Tokyo")
    assert late_thursday_ny not in _ids(session, Stage.DUE_TOMORROW, now, zone="Asia/Tokyo")


def test_unknown_stage_is_invalid_input():
    with pytest.raises(InvalidInput):
        deadlines.stage_condition("soon", jst(2026, 11, 20, 10))


def test_stage_of_a_resolved_thread_is_none(session, tokyo):
    thread = make_thread(session, tokyo, due_at=jst(2026, 11, 19, 9), status=Status.RESOLVED)
    assert deadlines.stage_of(thread, jst(2026, 11, 20, 10)) == Stage.NONE
    thread.status = Status.OPEN
    assert deadlines.stage_of(thread, jst(2026, 11, 20, 10)) == Stage.OVERDUE


# --- what a person sees -------------------------------------------------------------------


def test_badge_counts_are_one_query_over_my_open_threads(session, tokyo, connection):
    me = make_user(session, mailboxes=[tokyo], timezone="Asia/Tokyo")
    other = make_user(session, mailboxes=[tokyo])
    now = jst(2026, 11, 20, 10)
    for due, who, status in [
        (jst(2026, 11, 19, 18), me, Status.OPEN),
        (jst(2026, 11, 20, 9), me, Status.WAITING),
        (jst(2026, 11, 20, 18), me, Status.NEW),
        (jst(2026, 11, 20, 23, 59), me, Status.OPEN),
        (jst(2026, 11, 21, 0, 0), me, Status.OPEN),  # tomorrow
        (jst(2026, 11, 19, 18), me, Status.RESOLVED),
        (jst(2026, 11, 19, 18), other, Status.OPEN),
    ]:
        make_thread(session, tokyo, due_at=due, assignee_id=who.id, status=status)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        counts = deadlines.badge_counts(session, me, now)
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    assert counts == {"overdue": 2, "due_today": 2}
    assert len(statements) == 1


def test_leads_get_their_teams_counts_apart_from_their_own(session, tokyo):
    lead = make_user(session, Role.LEAD, mailboxes=[tokyo], timezone="Asia/Tokyo")
    agent = make_user(session, mailboxes=[tokyo])
    elsewhere = make_mailbox(session, "elsewhere")
    now = jst(2026, 11, 20, 10)
    make_thread(session, tokyo, due_at=jst(2026, 11, 19, 18), assignee_id=lead.id)
    make_thread(session, tokyo, due_at=jst(2026, 11, 19, 18), assignee_id=agent.id)
    make_thread(session, tokyo, due_at=jst(2026, 11, 20, 18))  # nobody's yet: the team's
    make_thread(session, elsewhere, due_at=jst(2026, 11, 19, 18))  # not the lead's mailbox
    assert deadlines.badge_counts(session, lead, now) == {
        "overdue": 1, "due_today": 0, "team_overdue": 2, "team_due_today": 1
    }
    assert "team_overdue" not in deadlines.badge_counts(session, agent, now)


def test_my_deadlines_puts_overdue_first_and_leaves_out_resolved_and_others(session, tokyo):
    me = make_user(session, mailboxes=[tokyo])
    later = make_thread(session, tokyo, due_at=jst(2026, 11, 26, 18), assignee_id=me.id)
    overdue = make_thread(session, tokyo, due_at=jst(2026, 11, 19, 18), assignee_id=me.id)
    make_thread(
        session, tokyo, due_at=jst(2026, 11, 18, 18), assignee_id=me.id, status=Status.RESOLVED
    )
    make_thread(session, tokyo, assignee_id=me.id)  # no deadline
    make_thread(session, tokyo, due_at=jst(2026, 11, 18, 18))  # not mine
    assert [t.id for t in deadlines.my_deadlines(session, me)] == [overdue.id, later.id]


# --- calendar settings --------------------------------------------------------------------


def _save(session, box, **kw):
    args = {
        "timezone": "Asia/Tokyo",
        "hours": {**WEEKDAYS_9_18, "sat": "10:00-15:00"},
        "closed": "2026-08-13..2026-08-16\n\n2026-12-29..2027-01-03\n",
        "jp_holidays": False,
        "rules": [
            {"amount": "1", "unit": "days", "tag": "", "priority": ""},
            {"amount": "4", "unit": "hours", "tag": "vip", "priority": "high"},
            {"amount": "", "unit": "days", "tag": "", "priority": ""},
        ],
        "actor_id": None,
        "now": jst(2026, 11, 20, 10),
    }
    deadlines.save_calendar(session, box, **{**args, **kw})


def test_saved_calendar_round_trips_through_the_form(session, tokyo):
    _save(session, tokyo)
    cal = deadlines.calendar_for(tokyo)
    assert cal.is_working_day(date(2026, 11, 21))  # Saturday now open
    assert cal.is_working_day(date(2026, 11, 23))  # holidays no longer observed
    assert not cal.is_working_day(date(2026, 8, 14))
    assert tokyo.deadline_rules == [
        {"business_days": 1},
        {"business_hours": 4.0, "tag": "vip", "priority": "high"},
    ]
    form = deadlines.calendar_form(tokyo)
    assert form["hours"]["sat"] == "10:00-15:00" and form["hours"]["sun"] == ""
    assert form["closed"].splitlines() == ["2026-08-13..2026-08-16", "2026-12-29..2027-01-03"]
    assert form["rules"][1] == {
        "amount": 4.0, "unit": "hours", "tag": "vip", "priority": "high", "category": "", "name": "",
        "customer_vip": "",
    }


def test_a_named_rule_for_a_category_round_trips_through_the_form(session, tokyo):
    deadlines.save_calendar(
        session, tokyo, timezone="Asia/Tokyo", hours={"mon": "09:00-18:00"}, closed="",
        jp_holidays=True, actor_id=None, now=datetime(2026, 11, 24, tzinfo=UTC),
        rules=[{"amount": "2", "unit": "hours", "tag": "", "priority": "", "category": "7", "name": " 大口 "}],
    )
    assert tokyo.deadline_rules == [{"business_hours": 2.0, "category": 7, "name": "大口"}]
    assert deadlines.calendar_form(tokyo)["rules"][0]["name"] == "大口"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"hours": {"mon": "9-18"}}, "Monday: enter the hours"),
        ({"closed": "2027-01-03..2026-12-29"}, "Closed days: 2027-01-03..2026-12-29"),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone Mars/Olympus"),
        ({"rules": [{"amount": "one", "unit": "days", "tag": "", "priority": ""}]}, "Rule 1"),
        ({"rules": [{"amount": "1", "unit": "days", "tag": "", "priority": "asap"}]}, "priority"),
    ],
)
def test_bad_calendar_settings_are_refused_and_nothing_changes(session, tokyo, kw, message):
    before = (dict(tokyo.calendar), list(tokyo.deadline_rules))
    with pytest.raises(InvalidInput, match=message):
        _save(session, tokyo, **kw)
    assert (tokyo.calendar, tokyo.deadline_rules) == before


def test_only_admins_and_member_leads_may_edit_a_calendar(session, tokyo, new_york):
    lead = make_user(session, Role.LEAD, mailboxes=[tokyo])
    agent = make_user(session, Role.AGENT, mailboxes=[tokyo])
    admin = make_user(session, Role.ADMIN)
    assert deadlines.editable_mailbox(session, lead, tokyo.id) is tokyo
    assert deadlines.editable_mailbox(session, admin, new_york.id) is new_york
    with pytest.raises(NotFound):
        deadlines.editable_mailbox(session, lead, new_york.id)
    with pytest.raises(PermissionDenied):
        deadlines.editable_mailbox(session, agent, tokyo.id)


def test_max_ahead_is_about_five_years():
    assert timedelta(days=5 * 365) < deadlines.MAX_AHEAD < timedelta(days=5 * 367)

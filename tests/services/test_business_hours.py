"""Tests for inbox.services.business_hours: exact deadlines, stages and config errors."""

import time as time_mod
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inbox.services.business_hours import (
    BusinessCalendar,
    DeadlineRule,
    Stage,
    due_from_rule,
    pick_rule,
    quick_pick,
    stage_at,
    stage_starts,
)

JST = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SECOND = timedelta(seconds=1)


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def server_in_kolkata(monkeypatch):
    """Run every test with the process in Asia/Kolkata (+05:30), unlike any team here."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time_mod.tzset()
    yield
    monkeypatch.undo()
    time_mod.tzset()


@pytest.fixture
def tokyo() -> BusinessCalendar:
    return BusinessCalendar.from_config({
        "timezone": "Asia/Tokyo",
        "hours": {"mon": "09:00-18:00", "tue": "09:00-18:00", "wed": "09:00-18:00",
                  "thu": "09:00-18:00", "fri": "09:00-18:00", "sat": None, "sun": None},
        "closed": ["2026-12-29..2027-01-03", "2026-08-13"],
        "jp_holidays": True,
    })


@pytest.fixture
def new_york() -> BusinessCalendar:
    return BusinessCalendar(tz=NEW_YORK, observe_jp_holidays=False)


def test_server_timezone_is_really_switched_for_these_tests():
    assert time_mod.localtime(0).tm_gmtoff == 5 * 3600 + 30 * 60


# --- working days -----------------------------------------------------------------------


def test_weekends_jp_holidays_and_team_closed_days_are_not_working_days(tokyo):
    assert tokyo.is_working_day(date(2026, 11, 20))  # Fri
    assert not tokyo.is_working_day(date(2026, 11, 21))  # Sat
    assert not tokyo.is_working_day(date(2026, 11, 23))  # 勤労感謝の日
    assert not tokyo.is_working_day(date(2026, 8, 13))  # team summer break
    assert not tokyo.is_working_day(date(2026, 12, 29))
    assert not tokyo.is_working_day(date(2027, 1, 3))


def test_jp_holidays_can_be_ignored():
    cal = BusinessCalendar(tz=JST, observe_jp_holidays=False)
    assert cal.is_working_day(date(2026, 11, 23))


def test_next_and_previous_working_day_skip_weekend_and_holiday(tokyo):
    assert tokyo.next_working_day(date(2026, 11, 20)) == date(2026, 11, 24)
    assert tokyo.previous_working_day(date(2026, 11, 24)) == date(2026, 11, 20)
    assert tokyo.next_working_day(date(2026, 11, 16)) == date(2026, 11, 17)  # strictly after


def test_next_and_previous_working_day_skip_the_new_year_closure(tokyo):
    assert tokyo.next_working_day(date(2026, 12, 28)) == date(2027, 1, 4)
    assert tokyo.previous_working_day(date(2027, 1, 4)) == date(2026, 12, 28)


def test_to_local_converts_to_team_zone(tokyo):
    assert tokyo.to_local(utc(2026, 11, 20, 8)) == jst(2026, 11, 20, 17)
    assert tokyo.to_local(utc(2026, 11, 20, 8)).tzinfo == JST


# --- business days ----------------------------------------------------------------------


def test_one_business_day_across_a_weekend(tokyo):
    assert tokyo.add_business_days(jst(2026, 11, 13, 10), 1) == utc(2026, 11, 16, 9)


def test_one_business_day_from_friday_across_kinro_kansha_no_hi_is_tuesday_close(tokyo):
    due = tokyo.add_business_days(jst(2026, 11, 20, 17), 1)
    assert due == jst(2026, 11, 24, 18) == utc(2026, 11, 24, 9)
    assert due.tzinfo is UTC


def test_one_business_day_across_the_new_year_closure(tokyo):
    assert tokyo.add_business_days(jst(2026, 12, 28, 15), 1) == jst(2027, 1, 4, 18)


def test_zero_business_days_is_todays_close_before_close(tokyo):
    assert tokyo.add_business_days(jst(2026, 11, 20, 17, 59, 59), 0) == jst(2026, 11, 20, 18)


def test_zero_business_days_at_or_after_close_is_next_working_days_close(tokyo):
    assert tokyo.add_business_days(jst(2026, 11, 20, 18), 0) == jst(2026, 11, 24, 18)


def test_mail_after_close_counts_from_the_next_working_day(tokyo):
    assert tokyo.add_business_days(jst(2026, 11, 20, 18, 30), 1) == jst(2026, 11, 25, 18)
    assert tokyo.add_business_days(jst(2026, 11, 21, 12), 1) == jst(2026, 11, 25, 18)  # Sat


def test_mail_before_opening_counts_from_that_day(tokyo):
    assert tokyo.add_business_days(jst(2026, 11, 16, 7), 1) == jst(2026, 11, 17, 18)


def test_business_days_across_dst_end_in_new_york(new_york):
    # Fri 2026-10-30 is EDT (UTC-4); clocks fall back Sun 2026-11-01; Mon is EST (UTC-5).
    assert new_york.add_business_days(ny(2026, 10, 30, 17), 1) == utc(2026, 11, 2, 23)


def test_business_days_across_dst_start_in_berlin():
    berlin = BusinessCalendar(tz=BERLIN, observe_jp_holidays=False)
    # Fri 2026-03-27 is CET (UTC+1); Mon 2026-03-30 is CEST (UTC+2).
    start = datetime(2026, 3, 27, 17, tzinfo=BERLIN)
    assert berlin.add_business_days(start, 1) == utc(2026, 3, 30, 16)


def test_negative_business_days_are_rejected(tokyo):
    with pytest.raises(ValueError, match=r"^n:"):
        tokyo.add_business_days(jst(2026, 11, 20, 10), -1)


def test_naive_datetimes_are_rejected(tokyo):
    with pytest.raises(ValueError, match="naive"):
        tokyo.add_business_days(datetime(2026, 11, 20, 10), 1)


# --- business hours ---------------------------------------------------------------------


def test_business_hours_within_one_day_without_lunch_break(tokyo):
    assert tokyo.add_business_hours(jst(2026, 11, 16, 9), 9) == jst(2026, 11, 16, 18)


def test_business_hours_ending_exactly_at_close_return_the_close(tokyo):
    assert tokyo.add_business_hours(jst(2026, 11, 16, 16), 2) == jst(2026, 11, 16, 18)


def test_business_hours_continue_overnight_at_next_opening(tokyo):
    assert tokyo.add_business_hours(jst(2026, 11, 16, 16), 4) == jst(2026, 11, 17, 11)
    assert tokyo.add_business_hours(jst(2026, 11, 16, 9), 9.5) == jst(2026, 11, 17, 9, 30)


def test_business_hours_skip_weekend_and_holiday(tokyo):
    assert tokyo.add_business_hours(jst(2026, 11, 20, 17), 3) == jst(2026, 11, 24, 11)


def test_business_hours_start_outside_hours_begins_at_next_opening(tokyo):
    assert tokyo.add_business_hours(jst(2026, 11, 16, 7), 1) == jst(2026, 11, 16, 10)
    assert tokyo.add_business_hours(jst(2026, 11, 16, 20), 1) == jst(2026, 11, 17, 10)
    assert tokyo.add_business_hours(jst(2026, 11, 21, 12), 1.5) == jst(2026, 11, 24, 10, 30)
    assert tokyo.add_business_hours(jst(2026, 11, 21, 12), 0) == jst(2026, 11, 24, 9)


def test_business_hours_span_the_new_year_closure(tokyo):
    assert tokyo.add_business_hours(jst(2026, 12, 28, 17), 2) == jst(2027, 1, 4, 10)


def test_business_hours_across_dst_end_in_new_york(new_york):
    # 1h on Friday until 18:00 EDT (22:00Z), then Monday opens 09:00 EST (14:00Z).
    assert new_york.add_business_hours(ny(2026, 10, 30, 17), 2) == utc(2026, 11, 2, 15)


def test_business_hours_count_real_time_on_the_25_hour_day():
    every_day = BusinessCalendar(
        tz=NEW_YORK, hours={wd: (time(0), time(12)) for wd in range(7)},
        observe_jp_holidays=False,
    )
    # Sun 2026-11-01 00:00 EDT to 12:00 EST is 13 real hours.
    start = ny(2026, 11, 1, 0)
    assert every_day.add_business_hours(start, 12) == utc(2026, 11, 1, 16)  # 11:00 EST
    assert every_day.add_business_hours(start, 13) == utc(2026, 11, 1, 17)  # the close


def test_negative_business_hours_are_rejected(tokyo):
    with pytest.raises(ValueError, match=r"^hours:"):
        tokyo.add_business_hours(jst(2026, 11, 16, 10), -0.5)


def test_results_do_not_depend_on_the_wall_clock(tokyo):
    with time_machine.travel(utc(1999, 1, 1), tick=False):
        assert tokyo.add_business_days(jst(2026, 11, 20, 17), 1) == jst(2026, 11, 24, 18)


# --- stages -----------------------------------------------------------------------------


def test_stage_transitions_at_exact_local_moments_across_a_holiday_weekend(tokyo):
    due = jst(2026, 11, 24, 18)  # Tue; previous working day is Fri 11-20
    tomorrow_starts = jst(2026, 11, 20, 0)
    today_starts = jst(2026, 11, 24, 0)
    assert stage_at(due, tomorrow_starts - SECOND, tokyo) is Stage.NONE
    assert stage_at(due, tomorrow_starts, tokyo) is Stage.DUE_TOMORROW
    assert stage_at(due, jst(2026, 11, 22, 12), tokyo) is Stage.DUE_TOMORROW  # Sunday
    assert stage_at(due, today_starts - SECOND, tokyo) is Stage.DUE_TOMORROW
    assert stage_at(due, today_starts, tokyo) is Stage.DUE_TODAY
    assert stage_at(due, due - SECOND, tokyo) is Stage.DUE_TODAY
    assert stage_at(due, due, tokyo) is Stage.OVERDUE
    assert stage_at(due.astimezone(UTC), due.astimezone(UTC), tokyo) is Stage.OVERDUE


def test_stage_uses_team_local_dates_across_dst_in_new_york(new_york):
    due = ny(2026, 11, 2, 18)  # Mon, EST
    assert stage_at(due, utc(2026, 10, 30, 4) - SECOND, new_york) is Stage.NONE
    assert stage_at(due, utc(2026, 10, 30, 4), new_york) is Stage.DUE_TOMORROW  # Fri 00:00 EDT
    assert stage_at(due, utc(2026, 11, 2, 5) - SECOND, new_york) is Stage.DUE_TOMORROW
    assert stage_at(due, utc(2026, 11, 2, 5), new_york) is Stage.DUE_TODAY  # Mon 00:00 EST
    assert stage_at(due, utc(2026, 11, 2, 23), new_york) is Stage.OVERDUE


def test_stage_without_due_date_is_none(tokyo):
    assert stage_at(None, jst(2026, 11, 20, 10), tokyo) is Stage.NONE


def test_stage_starts_on_friday_for_a_monday_deadline(tokyo):
    assert stage_starts(jst(2026, 11, 16, 18), tokyo) == {
        Stage.DUE_TOMORROW: jst(2026, 11, 13, 9),
        Stage.DUE_TODAY: jst(2026, 11, 16, 9),
        Stage.OVERDUE: jst(2026, 11, 16, 18),
    }


def test_stage_starts_on_the_friday_before_a_monday_holiday_for_a_tuesday_deadline(tokyo):
    starts = stage_starts(jst(2026, 11, 24, 18), tokyo)
    assert starts[Stage.DUE_TOMORROW] == jst(2026, 11, 20, 9) == utc(2026, 11, 20, 0)
    assert list(starts) == [Stage.DUE_TOMORROW, Stage.DUE_TODAY, Stage.OVERDUE]
    assert all(moment.tzinfo is UTC for moment in starts.values())


def test_stage_starts_use_local_notify_time_across_dst(new_york):
    starts = stage_starts(ny(2026, 11, 2, 18), new_york, notify_at=time(8, 30))
    assert starts[Stage.DUE_TOMORROW] == utc(2026, 10, 30, 12, 30)  # 08:30 EDT
    assert starts[Stage.DUE_TODAY] == utc(2026, 11, 2, 13, 30)  # 08:30 EST


def test_due_today_is_one_hour_early_when_deadline_is_before_notify_time(tokyo):
    assert stage_starts(jst(2026, 11, 16, 8, 30), tokyo)[Stage.DUE_TODAY] == jst(2026, 11, 16, 7, 30)
    assert stage_starts(jst(2026, 11, 16, 9), tokyo)[Stage.DUE_TODAY] == jst(2026, 11, 16, 8)


def test_due_today_never_starts_before_local_midnight_and_collapses_at_midnight(tokyo):
    assert stage_starts(jst(2026, 11, 16, 0, 30), tokyo)[Stage.DUE_TODAY] == jst(2026, 11, 16)
    assert stage_starts(jst(2026, 11, 16, 0), tokyo) == {
        Stage.DUE_TOMORROW: jst(2026, 11, 13, 9),
        Stage.OVERDUE: jst(2026, 11, 16),
    }


# --- quick picks ------------------------------------------------------------------------


def test_quick_picks_during_working_hours(tokyo):
    now = jst(2026, 11, 20, 10)  # Fri before the Monday holiday
    assert quick_pick("today", now, tokyo) == jst(2026, 11, 20, 18)
    assert quick_pick("tomorrow", now, tokyo) == jst(2026, 11, 24, 18)
    assert quick_pick("+3bd", now, tokyo) == jst(2026, 11, 26, 18)


def test_quick_picks_after_close(tokyo):
    now = jst(2026, 11, 20, 19)
    assert quick_pick("today", now, tokyo) == jst(2026, 11, 24, 18)
    assert quick_pick("tomorrow", now, tokyo) == jst(2026, 11, 24, 18)
    assert quick_pick("+1bd", now, tokyo) == jst(2026, 11, 25, 18)


@pytest.mark.parametrize("pick", ["yesterday", "+bd", "3bd", "+1d", ""])
def test_unknown_quick_pick_is_rejected(tokyo, pick):
    with pytest.raises(ValueError, match=r"^pick:"):
        quick_pick(pick, jst(2026, 11, 20, 10), tokyo)


# --- rules ------------------------------------------------------------------------------

DEFAULT = DeadlineRule(business_days=2)
URGENT = DeadlineRule(business_hours=4, priority="urgent")
REFUND = DeadlineRule(business_days=1, tag="返金")
REFUND_URGENT = DeadlineRule(business_hours=2, tag="返金", priority="urgent")
RULES = [DEFAULT, URGENT, REFUND, REFUND_URGENT]


@pytest.mark.parametrize(
    ("tags", "priority", "expected"),
    [
        ({"返金"}, "urgent", REFUND_URGENT),
        ({"返金", "配送"}, "normal", REFUND),
        ({"配送"}, "urgent", URGENT),
        (set(), None, DEFAULT),
    ],
)
def test_most_specific_rule_wins(tags, priority, expected):
    assert pick_rule(RULES, tags=tags, priority=priority) is expected


def test_rule_ties_go_to_the_first_in_order():
    first, second = DeadlineRule(business_days=1, tag="a"), DeadlineRule(business_days=3, tag="b")
    assert pick_rule([first, second], tags={"a", "b"}, priority=None) is first


def test_no_matching_rule_gives_none():
    assert pick_rule([URGENT], tags=set(), priority="normal") is None


def test_rule_needs_exactly_one_of_days_or_hours():
    with pytest.raises(ValueError, match="business_days/business_hours"):
        DeadlineRule()
    with pytest.raises(ValueError, match="business_days/business_hours"):
        DeadlineRule(business_days=1, business_hours=4)


def test_due_from_one_business_day_rule_across_kinro_kansha_no_hi(tokyo):
    rule = pick_rule(RULES, tags={"返金"}, priority="normal")
    assert due_from_rule(rule, jst(2026, 11, 20, 17), tokyo) == utc(2026, 11, 24, 9)


def test_due_from_business_hours_rule(tokyo):
    assert due_from_rule(URGENT, jst(2026, 11, 20, 17), tokyo) == jst(2026, 11, 24, 12)


# --- config -----------------------------------------------------------------------------


def test_from_config_reads_hours_closed_ranges_and_holidays(tokyo):
    assert tokyo.tz == JST
    assert tokyo.hours[0] == (time(9), time(18))
    assert tokyo.hours[5] is None
    assert len(tokyo.closed_dates) == 6 + 1
    assert tokyo.observe_jp_holidays is True


def test_from_config_defaults_to_weekdays_nine_to_six():
    cal = BusinessCalendar.from_config({"timezone": "Asia/Tokyo"})
    assert cal == BusinessCalendar(tz=JST)
    assert [cal.hours[wd] for wd in range(7)] == [(time(9), time(18))] * 5 + [None, None]


def test_from_config_accepts_toml_dates_japanese_separator_and_unlisted_days_closed():
    cal = BusinessCalendar.from_config({
        "timezone": "Asia/Tokyo",
        "hours": {"Sat": "10:00〜15:00"},
        "closed": [date(2026, 8, 14)],
        "jp_holidays": False,
    })
    assert cal.hours[5] == (time(10), time(15))
    assert cal.hours[0] is None
    assert cal.closed_dates == {date(2026, 8, 14)}


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({}, "timezone"),
        ({"timezone": "Asia/Tokio"}, "timezone"),
        ({"timezone": 9}, "timezone"),
        ({"timezone": "Asia/Tokyo", "holidays": True}, "holidays"),
        ({"timezone": "Asia/Tokyo", "hours": {"mon": "9-18"}}, "hours.mon"),
        ({"timezone": "Asia/Tokyo", "hours": {"tue": "18:00-09:00"}}, "hours.tue"),
        ({"timezone": "Asia/Tokyo", "hours": {"wed": "09:00-24:00"}}, "hours.wed"),
        ({"timezone": "Asia/Tokyo", "hours": {"funday": "09:00-18:00"}}, "hours.funday"),
        ({"timezone": "Asia/Tokyo", "hours": {"mon": None}}, "hours"),
        ({"timezone": "Asia/Tokyo", "hours": ["09:00-18:00"]}, "hours"),
        ({"timezone": "Asia/Tokyo", "closed": "2026-08-13"}, "closed"),
        ({"timezone": "Asia/Tokyo", "closed": ["2026-08-13", "2026-13-01"]}, r"closed\[1\]"),
        ({"timezone": "Asia/Tokyo", "closed": ["2027-01-03..2026-12-29"]}, r"closed\[0\]"),
        ({"timezone": "Asia/Tokyo", "closed": ["2026-12-29..2207-01-03"]}, r"closed\[0\]"),
        ({"timezone": "Asia/Tokyo", "jp_holidays": "yes"}, "jp_holidays"),
    ],
)
def test_from_config_errors_name_the_bad_key(cfg, key):
    with pytest.raises(ValueError, match=rf"^{key}:"):
        BusinessCalendar.from_config(cfg)


def test_calendar_rejects_close_before_open():
    with pytest.raises(ValueError, match=r"^hours\[0\]:"):
        BusinessCalendar(tz=JST, hours={0: (time(18), time(9))})


def test_calendar_is_hashable_and_immutable(tokyo):
    assert hash(tokyo) == hash(BusinessCalendar.from_config({
        "timezone": "Asia/Tokyo", "closed": ["2026-12-29..2027-01-03", "2026-08-13"],
    }))
    with pytest.raises(TypeError):
        tokyo.hours[5] = (time(9), time(12))

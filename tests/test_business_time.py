"""SLA clock arithmetic: hand-worked cases first, then properties checked with hypothesis."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.business_time import (
    MAX_DAYS,
    Calendar,
    add_business_time,
    business_elapsed,
    elapsed_with_pauses,
    parse_duration,
)
from helpdesk.errors import ValidationFailed

H = timedelta(hours=1)
OFFICE = Calendar()  # Monday to Friday, 09:00-17:00 UTC
ROME = Calendar(timezone="Europe/Rome")
AROUND = Calendar.around_the_clock()


# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m", timedelta(days=1, hours=2, minutes=3)),
        (" 4H ", timedelta(hours=4)),
    ],
)
def test_parse_duration_reads_days_hours_minutes(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "bad", ["", "4", "h", "4x", "1m30h", "-4h", "4.5h", "0m", "0d0h", "3651d", "1 h", None, 30]
)
def test_parse_duration_refuses_bad_input_clearly(bad):
    with pytest.raises(ValidationFailed) as caught:
        parse_duration(bad, field="resolution target")
    assert caught.value.message.startswith("resolution target must be")
    # The values the message shows are details too: what was given, the longest allowed.
    shown = {}
    if isinstance(bad, str):
        shown["got"] = bad
    if bad in ("0m", "0d0h", "3651d"):
        shown["max_days"] = 3650
    assert caught.value.details == {"field": "resolution target", **shown}


# --- calendars ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "details"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, {"field": "timezone", "timezone": "Mars/Olympus_Mons"}),
        ({"timezone": "../etc/passwd"}, {"field": "timezone", "timezone": "../etc/passwd"}),
        ({"weekdays": []}, {"field": "weekdays"}),
        ({"weekdays": [0, 7]}, {"field": "weekdays"}),
        ({"start": time(17), "end": time(9)}, {"field": "hours", "start": "17:00", "end": "09:00"}),
        ({"start": time(9), "end": time(9)}, {"field": "hours", "start": "09:00", "end": "09:00"}),
        ({"holidays": ["2026-12-25"]}, {"field": "holidays"}),
    ],
)
def test_a_calendar_refuses_what_cannot_work(kwargs, details):
    with pytest.raises(ValidationFailed) as caught:
        Calendar(**kwargs)
    assert caught.value.details == details


def test_a_calendar_is_hashable_and_takes_lists():
    calendar = Calendar(weekdays=[0, 1], holidays=[date(2026, 12, 25)])
    assert calendar == Calendar(weekdays=frozenset({0, 1}), holidays={date(2026, 12, 25)})
    assert hash(calendar) == hash(Calendar(weekdays={1, 0}, holidays=[date(2026, 12, 25)]))


# --- hand-worked cases --------------------------------------------------------------------


def test_friday_afternoon_plus_one_hour_is_monday_morning():
    friday = datetime(2026, 11, 27, 16, 30)
    monday = datetime(2026, 11, 30, 9, 30)
    assert add_business_time(friday, H, OFFICE) == monday
    assert business_elapsed(friday, monday, OFFICE) == H


def test_a_holiday_monday_moves_the_due_time_to_tuesday():
    calendar = Calendar(holidays={date(2026, 11, 30)})
    friday = datetime(2026, 11, 27, 16, 30)
    assert add_business_time(friday, H, calendar) == datetime(2026, 12, 1, 9, 30)
    assert business_elapsed(friday, datetime(2026, 11, 30, 23, 0), calendar) == H / 2


def test_nights_do_not_count():
    evening = datetime(2026, 11, 24, 16, 0)  # Tuesday
    assert business_elapsed(evening, datetime(2026, 11, 25, 10, 0), OFFICE) == 2 * H
    assert add_business_time(evening, 8 * H, OFFICE) == datetime(2026, 11, 25, 16, 0)


def test_a_target_that_runs_out_at_closing_time_is_due_at_closing_time():
    assert add_business_time(datetime(2026, 11, 27, 9), 8 * H, OFFICE) == datetime(2026, 11, 27, 17)


def test_starting_before_opening_counts_from_opening():
    early = datetime(2026, 11, 24, 5, 0)
    assert add_business_time(early, H, OFFICE) == datetime(2026, 11, 24, 10, 0)
    assert business_elapsed(early, datetime(2026, 11, 24, 9, 0), OFFICE) == timedelta(0)


def test_rome_across_the_march_change_to_summer_time():
    # Friday 16:00 CET is 15:00 UTC; Monday 10:00 CEST is 08:00 UTC, an hour earlier in UTC
    # than the same local time the week before.
    friday = datetime(2026, 3, 27, 15, 0)
    assert add_business_time(friday, 2 * H, ROME) == datetime(2026, 3, 30, 8, 0)
    assert business_elapsed(friday, datetime(2026, 3, 30, 8, 0), ROME) == 2 * H


def test_rome_across_the_october_change_back_to_winter_time():
    # Friday 16:00 CEST is 14:00 UTC; Monday 10:00 CET is 09:00 UTC.
    friday = datetime(2026, 10, 23, 14, 0)
    assert add_business_time(friday, 2 * H, ROME) == datetime(2026, 10, 26, 9, 0)
    assert business_elapsed(friday, datetime(2026, 10, 26, 9, 0), ROME) == 2 * H


@pytest.mark.parametrize(
    ("sunday", "sunday_hours_utc", "saturday_noon_to_monday_noon", "sunday_length"),
    [
        # Saturday 13:00-17:00 CET (4h), Sunday 09:00-17:00 CEST, Monday 09:00-14:00 CEST (5h).
        (date(2026, 3, 29), (time(7), time(15)), 17 * H, 23 * H),
        # Saturday 14:00-17:00 CEST (3h), Sunday 09:00-17:00 CET, Monday 09:00-13:00 CET (4h).
        (date(2026, 10, 25), (time(8), time(16)), 15 * H, 25 * H),
    ],
    ids=["march", "october"],
)
def test_a_23_or_25_hour_day_keeps_its_local_working_hours(
    sunday, sunday_hours_utc, saturday_noon_to_monday_noon, sunday_length
):
    every_day = Calendar(timezone="Europe/Rome", weekdays=range(7))
    opens, closes = (datetime.combine(sunday, moment) for moment in sunday_hours_utc)
    assert business_elapsed(datetime.combine(sunday, time(0)), opens, every_day) == timedelta(0)
    assert business_elapsed(opens, closes, every_day) == 8 * H
    assert add_business_time(datetime.combine(sunday, time(0)), 8 * H, every_day) == closes

    saturday_noon = datetime.combine(sunday - timedelta(days=1), time(12))
    monday_noon = datetime.combine(sunday + timedelta(days=1), time(12))
    assert business_elapsed(saturday_noon, monday_noon, every_day) == saturday_noon_to_monday_noon

    # The whole of Sunday, local midnight to local midnight, is 23 or 25 hours of work.
    sundays_only = Calendar(timezone="Europe/Rome", weekdays={6}, start=time(0), end=time(0))
    saturday, tuesday = saturday_noon - 12 * H, monday_noon + 12 * H
    assert business_elapsed(saturday, tuesday, sundays_only) == sunday_length


def test_working_hours_inside_the_spring_forward_gap_count_nothing_that_day():
    # 02:30-03:00 does not exist in Rome on 29 March 2026 (02:00 jumps to 03:00).
    night_shift = Calendar(
        timezone="Europe/Rome", weekdays=range(7), start=time(2, 30), end=time(3)
    )
    saturday, monday_noon = datetime(2026, 3, 28), datetime(2026, 3, 30, 12)
    assert business_elapsed(saturday, monday_noon, night_shift) == H  # Saturday's + Monday's
    after_saturdays = datetime(2026, 3, 28, 2)  # Saturday's slot was 01:30-02:00 UTC
    assert add_business_time(after_saturdays, H / 2, night_shift) == datetime(2026, 3, 30, 1)


def test_a_zone_west_of_utc_works_by_its_own_dates():
    # Monday 02:00 UTC is still Sunday 21:00 in New York: the clock starts at 09:00 EST.
    new_york = Calendar(timezone="America/New_York")
    sunday_night = datetime(2026, 11, 30, 2, 0)
    assert add_business_time(sunday_night, H, new_york) == datetime(2026, 11, 30, 15, 0)


def test_around_the_clock_is_calendar_time():
    start = datetime(2026, 3, 27, 15, 0)
    end = datetime(2026, 4, 3, 9, 17)
    assert business_elapsed(start, end, AROUND) == end - start
    assert add_business_time(start, 50 * H, AROUND) == start + 50 * H
    assert AROUND.is_around_the_clock and not OFFICE.is_around_the_clock


def test_end_before_start_is_no_time_and_negative_durations_are_refused():
    later, earlier = datetime(2026, 11, 24, 12), datetime(2026, 11, 24, 10)
    assert business_elapsed(later, earlier, OFFICE) == timedelta(0)
    with pytest.raises(ValidationFailed):
        add_business_time(earlier, -H, OFFICE)


def test_a_calendar_without_working_days_fails_clearly_instead_of_looping():
    start = date(2026, 1, 1)
    every_day_off = Calendar(holidays={start + timedelta(days=n) for n in range(MAX_DAYS + 10)})
    with pytest.raises(ValidationFailed, match="more than 3660 days"):
        add_business_time(datetime(2026, 1, 1), H, every_day_off)
    with pytest.raises(ValidationFailed, match="more than 3660 days"):
        business_elapsed(datetime(2026, 1, 1), datetime(2037, 1, 1), OFFICE)


# --- pauses (pending on the customer) -----------------------------------------------------


def test_pending_on_the_customer_stops_the_clock():
    monday_9, tuesday_12 = datetime(2026, 11, 23, 9), datetime(2026, 11, 24, 12)
    pending = [(datetime(2026, 11, 23, 10), datetime(2026, 11, 24, 10))]
    # 09:00-10:00 Monday, then 10:00-12:00 Tuesday.
    assert elapsed_with_pauses(monday_9, tuesday_12, pending, OFFICE) == 3 * H


def test_overlapping_pauses_are_not_taken_off_twice():
    monday_9, monday_17 = datetime(2026, 11, 23, 9), datetime(2026, 11, 23, 17)
    pauses = [
        (datetime(2026, 11, 23, 11), datetime(2026, 11, 23, 13)),
        (datetime(2026, 11, 23, 10), datetime(2026, 11, 23, 12)),
        (datetime(2026, 11, 23, 10, 30), datetime(2026, 11, 23, 11)),
    ]
    assert elapsed_with_pauses(monday_9, monday_17, pauses, OFFICE) == 5 * H


def test_a_pause_still_open_runs_to_the_end_and_reopening_resumes():
    monday_9 = datetime(2026, 11, 23, 9)
    still_pending = [(datetime(2026, 11, 23, 11), None)]
    assert elapsed_with_pauses(monday_9, datetime(2026, 11, 23, 16), still_pending, OFFICE) == (
        2 * H
    )
    # Resolved at 11:00 (paused), reopened at 14:00: the clock resumes until 16:00.
    reopened = [(datetime(2026, 11, 23, 11), datetime(2026, 11, 23, 14))]
    assert elapsed_with_pauses(monday_9, datetime(2026, 11, 23, 16), reopened, OFFICE) == 4 * H


def test_pauses_outside_the_interval_change_nothing():
    monday_9, monday_12 = datetime(2026, 11, 23, 9), datetime(2026, 11, 23, 12)
    pauses = [
        (datetime(2026, 11, 20, 9), datetime(2026, 11, 20, 12)),
        (datetime(2026, 11, 23, 12), datetime(2026, 11, 23, 14)),
    ]
    assert elapsed_with_pauses(monday_9, monday_12, pauses, OFFICE) == 3 * H


def test_a_pause_ending_before_it_starts_is_refused():
    with pytest.raises(ValidationFailed, match="cannot end"):
        elapsed_with_pauses(
            datetime(2026, 11, 23, 9),
            datetime(2026, 11, 23, 17),
            [(datetime(2026, 11, 23, 12), datetime(2026, 11, 23, 11))],
            OFFICE,
        )


# --- properties ---------------------------------------------------------------------------

# Deterministic and bounded: the same examples on every run, no example database written.
PROPERTY = settings(max_examples=150, derandomize=True, deadline=None, database=None)

ZONES = [
    "UTC",
    "Europe/Rome",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # a 30-minute daylight-saving shift
    "Pacific/Chatham",  # UTC+12:45 / +13:45
    "America/Sao_Paulo",
]
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31))
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=45))
hours = st.sampled_from([time(0), time(6), time(8, 30), time(9), time(12), time(17), time(22)])


@st.composite
def calendars(draw):
    start, end = draw(hours), draw(hours)
    if end != time(0) and end <= start:
        start, end = end, start
        if end == start:
            end = time(0)
    if start == time(0) and end != time(0) and draw(st.booleans()):
        end = time(0)
    return Calendar(
        timezone=draw(st.sampled_from(ZONES)),
        weekdays=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        start=start,
        end=end,
        holidays=draw(st.frozensets(st.dates(date(2025, 1, 1), date(2029, 3, 31)), max_size=40)),
    )


pause_lists = st.lists(st.tuples(instants, st.one_of(st.none(), spans)), max_size=5).map(
    lambda drawn: [(at, None if length is None else at + length) for at, length in drawn]
)


@PROPERTY
@given(calendars(), instants, spans, spans)
def test_elapsed_never_decreases_as_end_grows_nor_exceeds_calendar_time(cal, start, a, b):
    nearer, further = start + min(a, b), start + max(a, b)
    shorter = business_elapsed(start, nearer, cal)
    longer = business_elapsed(start, further, cal)
    assert timedelta(0) <= shorter <= longer <= further - start


@PROPERTY
@given(calendars(), instants, spans, pause_lists)
def test_pausing_never_adds_time(cal, start, span, pauses):
    end = start + span
    paused = elapsed_with_pauses(start, end, pauses, cal)
    assert timedelta(0) <= paused <= business_elapsed(start, end, cal)
    assert elapsed_with_pauses(start, end, [], cal) == business_elapsed(start, end, cal)


@PROPERTY
@given(calendars(), instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9)))
def test_elapsed_up_to_the_due_time_is_the_duration(cal, start, duration):
    due = add_business_time(start, duration, cal)
    assert due >= start
    assert business_elapsed(start, due, cal) == duration


@PROPERTY
@given(st.sampled_from(ZONES), instants, spans)
def test_whole_days_every_day_is_calendar_time_in_any_zone(zone, start, span):
    # Not the 24x7 shortcut (a holiday outside the range): the day-by-day walk must agree.
    whole = Calendar(
        timezone=zone, weekdays=range(7), start=time(0), end=time(0), holidays={date(1999, 1, 1)}
    )
    assert business_elapsed(start, start + span, whole) == span
    assert business_elapsed(start, start + span, AROUND) == span

"""master.schedule: crontab expressions and when EVENTS run."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from master.cyrusconf import EventEntry, parse_cyrus_conf
from master.schedule import CronSpec, next_run


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ------------------------------------------------------------ parsing

ALL_MIN, ALL_HOUR = list(range(60)), list(range(24))
ALL_DOM, ALL_MON, ALL_DOW = list(range(1, 32)), list(range(1, 13)), list(range(7))


@pytest.mark.parametrize("expr, minutes, hours, days, months, weekdays", [
    ("* * * * *", ALL_MIN, ALL_HOUR, ALL_DOM, ALL_MON, ALL_DOW),
    ("*/15 * * * *", [0, 15, 30, 45], ALL_HOUR, ALL_DOM, ALL_MON, ALL_DOW),
    ("0 4 * * 1-5", [0], [4], ALL_DOM, ALL_MON, [1, 2, 3, 4, 5]),
    ("5,10-12,50-59/3 * * * *", [5, 10, 11, 12, 50, 53, 56, 59], ALL_HOUR, ALL_DOM, ALL_MON,
     ALL_DOW),
    ("30 */6 * * *", [30], [0, 6, 12, 18], ALL_DOM, ALL_MON, ALL_DOW),
    ("0 9-17/4 * * *", [0], [9, 13, 17], ALL_DOM, ALL_MON, ALL_DOW),
    ("0 0 1/10 * *", [0], [0], [1, 11, 21, 31], ALL_MON, ALL_DOW),
    ("0 0 1 jan,JUL *", [0], [0], [1], [1, 7], ALL_DOW),
    ("0 0 1 Mar-May *", [0], [0], [1], [3, 4, 5], ALL_DOW),
    ("0 0 1 */3 *", [0], [0], [1], [1, 4, 7, 10], ALL_DOW),
    ("0 0 * * mon-fri", [0], [0], ALL_DOM, ALL_MON, [1, 2, 3, 4, 5]),
    ("0 0 * * SUN", [0], [0], ALL_DOM, ALL_MON, [0]),
    ("0 0 * * 0", [0], [0], ALL_DOM, ALL_MON, [0]),
    ("0 0 * * 7", [0], [0], ALL_DOM, ALL_MON, [0]),
    ("0 0 * * 0,7", [0], [0], ALL_DOM, ALL_MON, [0]),
    ("0 0 * * 5-7", [0], [0], ALL_DOM, ALL_MON, [0, 5, 6]),
    ("0 0 * * sat,sun", [0], [0], ALL_DOM, ALL_MON, [0, 6]),
    ("0 0 * * fri-sun", [0], [0], ALL_DOM, ALL_MON, [0, 5, 6]),   # a range may end on Sunday
    ("0 0 * * 6-0", [0], [0], ALL_DOM, ALL_MON, [0, 6]),
    ("0 0 * * */2", [0], [0], ALL_DOM, ALL_MON, [0, 2, 4, 6]),
    ("0 0 * * 1/2", [0], [0], ALL_DOM, ALL_MON, [1, 3, 5]),
    ("59 23 31 12 *", [59], [23], [31], [12], ALL_DOW),
    ("  0   4  *  *  *  ", [0], [4], ALL_DOM, ALL_MON, ALL_DOW),
    ("@hourly", [0], ALL_HOUR, ALL_DOM, ALL_MON, ALL_DOW),
    ("@daily", [0], [0], ALL_DOM, ALL_MON, ALL_DOW),
    ("@midnight", [0], [0], ALL_DOM, ALL_MON, ALL_DOW),
    ("@weekly", [0], [0], ALL_DOM, ALL_MON, [0]),
    ("@monthly", [0], [0], [1], ALL_MON, ALL_DOW),
    ("@yearly", [0], [0], [1], [1], ALL_DOW),
    ("@ANNUALLY", [0], [0], [1], [1], ALL_DOW),
])
def test_parse(expr, minutes, hours, days, months, weekdays) -> None:
    spec = CronSpec.parse(expr)
    assert sorted(spec.minutes) == minutes
    assert sorted(spec.hours) == hours
    assert sorted(spec.days) == days
    assert sorted(spec.months) == months
    assert sorted(spec.weekdays) == weekdays
    assert spec.expr == expr and str(spec) == expr


@pytest.mark.parametrize("expr, reason", [
    ("", "0 field(s) where 5 are expected (minute hour day-of-month month day-of-week)"),
    ("* * * *", "4 field(s) where 5 are expected (minute hour day-of-month month day-of-week)"),
    ("* * * * * *", "6 field(s) where 5 are expected (minute hour day-of-month month "
                    "day-of-week)"),
    ("60 * * * *", "minute field: 60 is out of range 0-59"),
    ("* 24 * * *", "hour field: 24 is out of range 0-23"),
    ("* * 0 * *", "day-of-month field: 0 is out of range 1-31"),
    ("* * 32 * *", "day-of-month field: 32 is out of range 1-31"),
    ("* * * 0 *", "month field: 0 is out of range 1-12"),
    ("* * * 13 *", "month field: 13 is out of range 1-12"),
    ("* * * * 8", "day-of-week field: 8 is out of range 0-7"),
    ("* * * foo *", "month field: 'foo' is not a number or a name"),
    ("* * * * funday", "day-of-week field: 'funday' is not a number or a name"),
    ("* * * * january", "day-of-week field: 'january' is not a number or a name"),
    ("mon * * * *", "minute field: 'mon' is not a number"),
    ("5-1 * * * *", "minute field: range '5-1' runs backwards"),
    ("* * * * fri-mon", "day-of-week field: range 'fri-mon' runs backwards"),
    ("*/0 * * * *", "minute field: step '0' must be a whole number of at least 1"),
    ("*/x * * * *", "minute field: step 'x' must be a whole number of at least 1"),
    ("*/ * * * *", "minute field: step '' must be a whole number of at least 1"),
    ("1,,2 * * * *", "minute field: cannot parse ''"),
    ("1-2-3 * * * *", "minute field: cannot parse '1-2-3'"),
    ("*/2/3 * * * *", "minute field: cannot parse '*/2/3'"),
    ("-1 * * * *", "minute field: cannot parse '-1'"),
    ("? * * * *", "minute field: '?' is not a number"),
    ("0 0 L * *", "day-of-month field: 'L' is not a number"),
    ("\u00b2 * * * *", "minute field: '\u00b2' is not a number"),
    ("*/\u0663 * * * *", "minute field: step '\u0663' must be a whole number of at least 1"),
    ("@reboot", "unknown macro (known: @yearly, @annually, @monthly, @weekly, @daily, "
                "@midnight, @hourly)"),
    ("0 0 30 2 *", "it never matches: no chosen month has the chosen day"),
    ("0 0 31 4,6,9,11 *", "it never matches: no chosen month has the chosen day"),
])
def test_parse_errors(expr: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        CronSpec.parse(expr)
    assert str(info.value) == f"bad cron expression {expr!r}: {reason}"


@pytest.mark.parametrize("expr", [
    "0 0 29 2 *",          # leap years only
    "0 0 31 2 5",          # both restricted: OR rule, so every Friday of February
    "0 0 31 2,3 *",        # March has a 31st
])
def test_parse_accepts_rare_but_possible(expr: str) -> None:
    CronSpec.parse(expr)


# ------------------------------------------------------------ next_after

@pytest.mark.parametrize("expr, after, expected", [
    ("* * * * *", "2024-01-01 10:00:00", "2024-01-01 10:01"),
    ("* * * * *", "2024-01-01 10:00:30.5", "2024-01-01 10:01"),
    ("* * * * *", "2024-01-01 10:00:59.999999", "2024-01-01 10:01"),
    ("*/15 * * * *", "2024-01-01 10:07", "2024-01-01 10:15"),
    ("*/15 * * * *", "2024-01-01 10:45", "2024-01-01 11:00"),
    ("*/15 * * * *", "2024-01-01 23:59", "2024-01-02 00:00"),
    ("0 4 * * *", "2024-01-01 04:00:00", "2024-01-02 04:00"),
    ("0 4 * * *", "2024-01-01 03:59:59.999", "2024-01-01 04:00"),
    ("0 4 * * *", "2024-01-01 04:00:01", "2024-01-02 04:00"),
    ("30 2 * * *", "2024-03-31 12:00", "2024-04-01 02:30"),
    # month ends
    ("0 0 31 * *", "2024-04-15 00:00", "2024-05-31 00:00"),
    ("0 0 31 * *", "2024-01-31 00:00", "2024-03-31 00:00"),
    ("0 0 30 * *", "2024-01-30 00:00", "2024-03-30 00:00"),
    ("0 0 1 * *", "2024-01-31 23:59", "2024-02-01 00:00"),
    ("59 23 31 12 *", "2023-12-31 23:59", "2024-12-31 23:59"),
    ("0 0 1 1 *", "2023-12-31 23:59:59", "2024-01-01 00:00"),
    ("@yearly", "2024-01-01 00:00", "2025-01-01 00:00"),
    ("@monthly", "2024-12-15 08:00", "2025-01-01 00:00"),
    # leap years
    ("0 12 29 2 *", "2023-03-01 00:00", "2024-02-29 12:00"),
    ("0 12 29 2 *", "2024-02-29 12:00", "2028-02-29 12:00"),
    ("0 0 29 2 *", "2096-03-01 00:00", "2104-02-29 00:00"),   # 2100 is not a leap year
    ("0 0 29 2 *", "2000-01-01 00:00", "2000-02-29 00:00"),   # 2000 is
    ("0 0 * 2 *", "2023-02-28 00:00", "2024-02-01 00:00"),
    ("0 0 * 2 *", "2024-02-28 00:00", "2024-02-29 00:00"),
    ("0 0 28-31 2 *", "2023-02-28 00:00", "2024-02-28 00:00"),
    # month and weekday names
    ("0 0 1 feb *", "2024-03-01 00:00", "2025-02-01 00:00"),
    ("0 9 * * mon-fri", "2024-03-08 17:00", "2024-03-11 09:00"),       # Fri -> Mon
    ("0 9 * * mon-fri", "2024-03-06 08:00", "2024-03-06 09:00"),
    ("0 4 * * 1-5", "2024-03-01 04:00", "2024-03-04 04:00"),          # Fri 1st -> Mon 4th
    # Sunday is 0 and 7
    ("0 9 * * 0", "2024-03-06 00:00", "2024-03-10 09:00"),
    ("0 9 * * 7", "2024-03-06 00:00", "2024-03-10 09:00"),
    ("0 9 * * sun", "2024-03-06 00:00", "2024-03-10 09:00"),
    ("0 9 * * 6-7", "2024-03-06 00:00", "2024-03-09 09:00"),
    ("@weekly", "2024-03-06 00:00", "2024-03-10 00:00"),
    # day-of-month / day-of-week: both restricted -> either matches
    ("0 0 13 * 5", "2024-09-01 00:00", "2024-09-06 00:00"),   # a Friday before the 13th
    ("0 0 13 * 5", "2024-10-12 00:00", "2024-10-13 00:00"),   # the 13th, a Sunday
    ("0 0 1-7 * 1", "2024-03-08 00:00", "2024-03-11 00:00"),  # not "first Monday"
    # ... one begins with '*' -> both must match
    ("0 0 13 * *", "2024-10-12 00:00", "2024-10-13 00:00"),
    ("0 0 * * 5", "2024-10-12 00:00", "2024-10-18 00:00"),
    ("0 0 */2 * 5", "2024-10-12 00:00", "2024-10-25 00:00"),  # odd-numbered Friday
    ("0 0 13 * */1", "2024-10-12 00:00", "2024-10-13 00:00"),
])
def test_next_after(expr: str, after: str, expected: str) -> None:
    assert CronSpec.parse(expr).next_after(dt(after)) == dt(expected)


def test_dow_star_step_means_and() -> None:
    # "*/1" in day-of-week begins with '*': both fields must match, every day of week does
    spec = CronSpec.parse("0 0 13 * */1")
    assert spec.dow_star and not spec.dom_star
    assert spec.next_after(dt("2024-10-13 00:00")) == dt("2024-11-13 00:00")


def test_next_after_keeps_going_over_many_calls() -> None:
    spec = CronSpec.parse("0 0 31 * *")
    when, seen = dt("2024-01-01 00:00"), []
    for _ in range(7):
        when = spec.next_after(when)
        seen.append(when.strftime("%Y-%m-%d"))
    assert seen == ["2024-01-31", "2024-03-31", "2024-05-31", "2024-07-31", "2024-08-31",
                    "2024-10-31", "2024-12-31"]


@pytest.mark.parametrize("expr", [
    "*/7 * * * *", "0 4 * * 1-5", "15 3 13 * 5", "0 0 */2 * 5", "0 0 29 2 *",
    "30 */5 1,15 * *", "0 12 * jan-mar sat,sun", "45 23 31 * *", "0 0 1-7 * 1",
])
def test_next_after_matches_brute_force(expr: str) -> None:
    spec = CronSpec.parse(expr)
    rng = random.Random(expr)
    for _ in range(20):
        start = dt("2023-01-01") + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60),
                                             seconds=rng.randrange(60))
        got = spec.next_after(start)
        assert got > start and spec.matches(got) and got.second == 0
        probe = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if got - probe < timedelta(days=40):   # brute force only for short gaps
            while probe < got:
                assert not spec.matches(probe), (expr, start, probe)
                probe += timedelta(minutes=1)


# ------------------------------------------------------------ next_run

STARTED = dt("2024-03-01 10:00:00")   # a Friday


def event(line: str) -> EventEntry:
    return parse_cyrus_conf(f"EVENTS {{\n ev cmd=x {line}\n}}\n").events[0]


@pytest.mark.parametrize("args, after, expected", [
    # period: at master start, then every N minutes from then (as Cyrus)
    ("period=30", None, "2024-03-01 10:00:00"),
    ("period=30", "2024-03-01 09:00", "2024-03-01 10:00:00"),
    ("period=30", "2024-03-01 10:00", "2024-03-01 10:30:00"),
    ("period=30", "2024-03-01 10:29:59", "2024-03-01 10:30:00"),
    ("period=30", "2024-03-01 10:30", "2024-03-01 11:00:00"),
    ("period=30", "2024-03-01 12:47", "2024-03-01 13:00:00"),   # runs missed are not repeated
    ("period=1440", "2024-03-01 10:00", "2024-03-02 10:00:00"),
    ("period=7", "2024-03-01 10:00", "2024-03-01 10:07:00"),
    # at: every day at hh:mm, not at start
    ("at=0400", None, "2024-03-02 04:00"),
    ("at=1000", None, "2024-03-01 10:00"),                      # exactly at start
    ("at=1030", None, "2024-03-01 10:30"),
    ("at=1030", "2024-03-01 10:30", "2024-03-02 10:30"),
    ("at=2330", "2024-03-01 23:30:00", "2024-03-02 23:30"),
    ("at=0000", "2024-02-28 23:59", "2024-02-29 00:00"),        # leap day
    ("at=0400", "2024-03-31 05:00", "2024-04-01 04:00"),        # month end
    ("at=0400", "2024-12-31 04:00", "2025-01-01 04:00"),        # year end
    # cron
    ('cron="*/15 * * * *"', None, "2024-03-01 10:00"),
    ('cron="*/15 * * * *"', "2024-03-01 10:00", "2024-03-01 10:15"),
    ('cron="0 4 * * 1-5"', None, "2024-03-04 04:00"),
    # several: the earliest of them
    ("period=60 at=1030", "2024-03-01 10:00", "2024-03-01 10:30"),
    ("period=60 at=1030", "2024-03-01 10:30", "2024-03-01 11:00"),
    ("period=60 at=1030", None, "2024-03-01 10:00"),
    ('period=120 cron="50 10 * * *"', "2024-03-01 10:00", "2024-03-01 10:50"),
    ('period=120 cron="50 10 * * *"', "2024-03-01 10:50", "2024-03-01 12:00"),
    ('at=0400 cron="0 3 * * *"', "2024-03-01 12:00", "2024-03-02 03:00"),
])
def test_next_run(args: str, after: str | None, expected: str) -> None:
    when = None if after is None else dt(after)
    assert next_run(event(args), when, STARTED) == dt(expected)


def test_next_run_period_from_start_seconds() -> None:
    started = dt("2024-03-01 10:00:20")
    ev = event("period=5")
    assert next_run(ev, None, started) == started
    assert next_run(ev, started, started) == dt("2024-03-01 10:05:20")


def test_next_run_at_after_start_time_of_day() -> None:
    # Cyrus: a time already passed today (even by seconds) means tomorrow
    assert next_run(event("at=1000"), None, dt("2024-03-01 10:00:20")) == dt("2024-03-02 10:00")


def test_next_run_sequence() -> None:
    ev = event("period=20 at=1015")
    due, seen = None, []
    for _ in range(5):
        due = next_run(ev, due, STARTED)
        seen.append(due.strftime("%H:%M"))
    assert seen == ["10:00", "10:15", "10:20", "10:40", "11:00"]


def test_next_run_no_schedule() -> None:
    assert next_run(EventEntry("x", ("x",)), None, STARTED) is None
    assert next_run(EventEntry("x", ("x",)), STARTED, STARTED) is None

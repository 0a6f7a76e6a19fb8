"""When EVENTS entries run: crontab expressions and the next-run rule.

Pure functions on naive local datetimes (wall-clock time, minute
resolution); nothing here reads the clock or sleeps.

An event is due at every time produced by any of its schedules:

* ``period=N``: at ``started``, ``started + N``, ``started + 2N``, ...
  minutes (Cyrus: a period event runs once when master starts, then every
  N minutes);
* ``at=hhmm``: every day at hh:mm;
* ``cron="m h dom mon dow"``: every minute the expression matches.

``next_run`` gives the earliest of them; see its docstring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from master.cyrusconf import EventEntry

__all__ = ["CronSpec", "next_run"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun",
           "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # most a month can have

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class _Field:
    label: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0
    star_high: int | None = None   # where "*" and "N/step" stop, if not at high

    @property
    def last(self) -> int:
        return self.high if self.star_high is None else self.star_high


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day-of-week", 0, 7, _WEEKDAYS, 0, star_high=6),  # 7 is Sunday too
)

_ITEM = re.compile(r"^(?P<range>\*|[^-/]+(?:-[^-/]+)?)(?:/(?P<step>[^/]*))?$")


def _value(text: str, field: _Field) -> int:
    low = text.lower()
    if field.names and low in field.names:
        return field.names.index(low) + field.name_base
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError(f"{field.label} field: {text!r} is not a number"
                         + (" or a name" if field.names else ""))
    number = int(text)
    if not field.low <= number <= field.high:
        raise ValueError(f"{field.label} field: {number} is out of range "
                         f"{field.low}-{field.high}")
    return number


def _item(item: str, field: _Field) -> set[int]:
    match = _ITEM.match(item)
    if not match:
        raise ValueError(f"{field.label} field: cannot parse {item!r}")
    part, step_text = match["range"], match["step"]
    step = 1
    if step_text is not None:
        if not re.fullmatch(r"[0-9]+", step_text) or int(step_text) < 1:
            raise ValueError(f"{field.label} field: step {step_text!r} "
                             "must be a whole number of at least 1")
        step = int(step_text)
    if part == "*":
        first, last = field.low, field.last
    elif "-" in part:
        first_text, last_text = part.split("-")
        first, last = _value(first_text, field), _value(last_text, field)
        if field.label == "day-of-week" and last == 0 < first:
            last = 7  # "fri-sun": Sunday as the end of a range
        if first > last:
            raise ValueError(f"{field.label} field: range {part!r} runs backwards")
    else:
        first = _value(part, field)
        last = field.last if step_text is not None else first  # "5/15" = "5-59/15"
    return set(range(first, last + 1, step))


def _field(text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values |= _item(item, field)
    if field.label == "day-of-week" and 7 in values:
        values = (values - {7}) | {0}  # 7 is Sunday too
    return frozenset(values)


@dataclass(frozen=True)
class CronSpec:
    """A parsed crontab(5) time specification (minute hour dom month dow)."""

    expr: str
    minutes: frozenset[int] = dc_field(repr=False)
    hours: frozenset[int] = dc_field(repr=False)
    days: frozenset[int] = dc_field(repr=False)      # day of month, 1-31
    months: frozenset[int] = dc_field(repr=False)    # 1-12
    weekdays: frozenset[int] = dc_field(repr=False)  # 0-6, Sunday = 0
    dom_star: bool = dc_field(repr=False)            # day-of-month field begins with '*'
    dow_star: bool = dc_field(repr=False)            # day-of-week field begins with '*'

    @classmethod
    def parse(cls, expr: str) -> CronSpec:
        """Parse five fields, or one of @hourly @daily @midnight @weekly
        @monthly @yearly @annually. ValueError says what is wrong."""
        try:
            return cls._parse(expr)
        except ValueError as exc:
            raise ValueError(f"bad cron expression {expr!r}: {exc}") from None

    @classmethod
    def _parse(cls, expr: str) -> CronSpec:
        text = expr.strip()
        if text.startswith("@"):
            if text.lower() not in _MACROS:
                raise ValueError(f"unknown macro (known: {', '.join(_MACROS)})")
            text = _MACROS[text.lower()]
        parts = text.split()
        if len(parts) != 5:
            raise ValueError(f"{len(parts)} field(s) where 5 are expected "
                             "(minute hour day-of-month month day-of-week)")
        sets = [_field(part, field) for part, field in zip(parts, _FIELDS)]
        spec = cls(expr, *sets, dom_star=parts[2].startswith("*"),
                   dow_star=parts[4].startswith("*"))
        spec._check_reachable()
        return spec

    def _check_reachable(self) -> None:
        if not self.dow_star and not self.dom_star:
            return  # OR rule: every weekday comes round
        if not self.dom_star or self.dow_star:
            if not any(day <= _DAYS_IN_MONTH[month - 1]
                       for month in self.months for day in self.days):
                raise ValueError("it never matches: no chosen month has the chosen day")

    def day_matches(self, when: datetime) -> bool:
        """The day-of-month/day-of-week rule of Vixie cron: when both fields are
        restricted (neither begins with '*') either may match, otherwise both must."""
        dom = when.day in self.days
        dow = (when.isoweekday() % 7) in self.weekdays
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow

    def matches(self, when: datetime) -> bool:
        return (when.minute in self.minutes and when.hour in self.hours
                and when.month in self.months and self.day_matches(when))

    def next_after(self, t: datetime) -> datetime:
        """The first matching minute strictly after t (seconds are dropped)."""
        when = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t.year + 9  # the longest gap, Feb 29 across 2100, is 8 years
        while when.year <= limit:
            if when.month not in self.months:
                when = _first_of_next_month(when)
            elif not self.day_matches(when):
                when = when.replace(hour=0, minute=0) + timedelta(days=1)
            elif when.hour not in self.hours:
                when = when.replace(minute=0) + timedelta(hours=1)
            elif when.minute not in self.minutes:
                when += timedelta(minutes=1)
            else:
                return when
        raise ValueError(f"cron expression {self.expr!r} does not match before {limit + 1}")

    def __str__(self) -> str:
        return self.expr


def _first_of_next_month(when: datetime) -> datetime:
    if when.month == 12:
        return datetime(when.year + 1, 1, 1, tzinfo=when.tzinfo)
    return datetime(when.year, when.month + 1, 1, tzinfo=when.tzinfo)


def _next_period(period: int, after: datetime | None, started: datetime) -> datetime:
    if after is None or after < started:
        return started
    step = timedelta(minutes=period)
    return started + step * ((after - started) // step + 1)


def _next_at(at: tuple[int, int], after: datetime) -> datetime:
    hour, minute = at
    candidate = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= after:
        candidate = (after + timedelta(days=1)).replace(hour=hour, minute=minute,
                                                        second=0, microsecond=0)
    return candidate


def next_run(event: EventEntry, after: datetime | None, started: datetime) -> datetime | None:
    """When `event` is next due.

    `started` is when master started (or reread its configuration); `after` is
    the time the event was last due (or last checked). The result is the
    earliest due time strictly after `after`, taken over all of the event's
    schedules (period, at, cron). `after=None` means "not run yet since
    `started`": the result is then the earliest due time at or after `started`,
    so a period event gets `started` itself and runs at once, as in Cyrus.

    Typical use in master::

        due = next_run(ev, None, started)           # at start and after SIGHUP
        ...                                          # when now >= due: spawn it
        due = next_run(ev, max(due, now), started)  # skips runs missed while busy

    Returns None for an event that has no schedule at all.
    """
    base = after if after is not None else started - timedelta(microseconds=1)
    candidates = []
    if event.period > 0:
        candidates.append(_next_period(event.period, after, started))
    if event.at is not None:
        candidates.append(_next_at(event.at, base))
    if event.cron is not None:
        candidates.append(event.cron.next_after(base))
    return min(candidates, default=None)

"""Trading calendar (MOD-004): reset instants, trading-day labels, holidays, RULE-009 session windows.

Pure functions of configuration and an explicit instant, so rules (which may not read a clock) and the
reset scheduler share one definition of "the trading day". Configuration arrives as plain values
("HH:MM" strings, IANA zone names, dates) so this module does not depend on the config package.

Local wall times become instants by one rule everywhere (`modules.md` MOD-004): a wall time skipped by
a DST change maps to the first valid instant after it (the moment the clocks jump), a wall time that
occurs twice maps to its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from simple_risk_manager.domain.times import ensure_utc

DAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
WEEKDAYS = frozenset(DAY_NAMES[:5])

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)


def parse_wall_time(text: str) -> time:
    """`"HH:MM"` (00:00 … 23:59, two digits each) → `time`; anything else is a clear error."""
    if not isinstance(text, str) or _HHMM.fullmatch(text) is None:
        raise ValueError(f'wall time {text!r}: must be "HH:MM" between 00:00 and 23:59')
    return time(int(text[:2]), int(text[3:]))


def zone(name: str) -> ZoneInfo:
    """IANA zone by name; an unknown name is a clear error instead of a KeyError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time zone {name!r}: unknown IANA time zone, e.g. \"America/Chicago\"") from None


def local_instant(local_date: date, wall_time: time, tz: ZoneInfo) -> datetime:
    """UTC instant of `local_date wall_time` in `tz`; DST gap → first valid instant after, fold → first."""
    naive = datetime.combine(local_date, wall_time)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first  # exists; with fold=0 a repeated wall time resolves to its first occurrence
    # Skipped wall time: the pre- and post-transition offsets give two instants that bracket the jump.
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return _transition(min(first, other), max(first, other), tz)


def _transition(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """First instant in (before, after] whose offset is the one in force at `after` (whole seconds)."""
    target = after.astimezone(tz).utcoffset()
    while after - before > _ONE_SECOND:
        middle = before + timedelta(seconds=(after - before) // _ONE_SECOND // 2)
        if middle.astimezone(tz).utcoffset() == target:
            after = middle
        else:
            before = middle
    return after


# --- daily reset and trading day ---------------------------------------------------------------

def reset_instant(local_date: date, reset_time: str, zone_name: str) -> datetime:
    """The reset instant of local date D: `D reset_time` in the zone, as UTC (MOD-004 definition)."""
    return local_instant(local_date, parse_wall_time(reset_time), zone(zone_name))


def _next_reset(t: datetime, reset_time: str, zone_name: str) -> tuple[date, datetime]:
    """(local date, instant) of the first reset instant strictly after `t`."""
    instant = ensure_utc(t)
    wall, tz = parse_wall_time(reset_time), zone(zone_name)
    day = instant.astimezone(tz).date() - _ONE_DAY  # its reset is always before t: start the walk there
    while True:
        candidate = local_instant(day, wall, tz)
        if candidate > instant:
            return day, candidate
        day += _ONE_DAY


def next_reset_after(t: datetime, reset_time: str, zone_name: str) -> datetime:
    """The first reset instant strictly after `t` (a reset at exactly `t` has already happened)."""
    return _next_reset(t, reset_time, zone_name)[1]


def session_start(t: datetime, reset_time: str, zone_name: str) -> datetime:
    """The last reset instant at or before `t`: where the trading day containing `t` began."""
    day, _ = _next_reset(t, reset_time, zone_name)
    return reset_instant(day - _ONE_DAY, reset_time, zone_name)


def trading_day_of(t: datetime, reset_time: str, zone_name: str) -> date:
    """Trading-day label of `t`: the local date of the reset that ends its day (D-15)."""
    return _next_reset(t, reset_time, zone_name)[0]


def is_holiday(day: date, holidays: Iterable[date]) -> bool:
    return day in holidays


# --- RULE-009 session windows ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SessionConfig:
    """RULE-009's daily window, validated once. `timezone` is the session zone, never an account's."""

    start: str
    end: str
    timezone: str
    allowed_days: frozenset[str] = WEEKDAYS
    respect_holidays: bool = True
    holidays: frozenset[date] = frozenset()
    _start: time = field(init=False, repr=False, compare=False)
    _end: time = field(init=False, repr=False, compare=False)
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    #: The last stretch `in_session` computed, `[low, high)` with its answer: every event asks, and the
    #: answer only changes at a window edge, so the zone arithmetic runs once per stretch, not per event.
    _stretch: tuple[datetime, datetime, bool] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start, end = parse_wall_time(self.start), parse_wall_time(self.end)
        if start == end:
            raise ValueError(f"session window {self.start}–{self.end}: start and end must differ")
        unknown = set(self.allowed_days) - set(DAY_NAMES)
        if not self.allowed_days or unknown:
            raise ValueError(f"allowed_days {sorted(self.allowed_days)}: must be a non-empty subset of "
                             f"{', '.join(DAY_NAMES)}")
        object.__setattr__(self, "_start", start)
        object.__setattr__(self, "_end", end)
        object.__setattr__(self, "_tz", zone(self.timezone))
        object.__setattr__(self, "_stretch", None)

    @classmethod
    def from_rule(cls, *, start: str, end: str, timezone: str | None, global_timezone: str,
                  allowed_days: Iterable[str] = WEEKDAYS, respect_holidays: bool = True,
                  holidays: Iterable[date] = ()) -> SessionConfig:
        """Build from RULE-009 keys; an unset session zone is `global.timezone` (never an account's)."""
        return cls(start=start, end=end, timezone=timezone or global_timezone,
                   allowed_days=frozenset(allowed_days), respect_holidays=respect_holidays,
                   holidays=frozenset(holidays))

    @property
    def overnight(self) -> bool:
        """start > end: the window of date D opens on D − 1 (e.g. 17:00→16:00)."""
        return self._start > self._end

    def window(self, trading_date: date) -> tuple[datetime, datetime] | None:
        """`[start, end)` of trading date D in UTC, or None when D has no session (day, holiday)."""
        if DAY_NAMES[trading_date.weekday()] not in self.allowed_days:
            return None
        if self.respect_holidays and is_holiday(trading_date, self.holidays):
            return None
        opens_on = trading_date - _ONE_DAY if self.overnight else trading_date
        begin = local_instant(opens_on, self._start, self._tz)
        finish = local_instant(trading_date, self._end, self._tz)
        return (begin, finish) if begin < finish else None  # a window swallowed by a DST gap is empty

    def contains(self, instant: datetime) -> bool:
        """`in_session` for a UTC instant, answered from the cached stretch when it covers `instant`."""
        stretch = self._stretch
        if stretch is not None and stretch[0] <= instant < stretch[1]:
            return stretch[2]
        low = instant
        for begin, finish in self.windows_from(instant):
            if begin > instant:
                stretch = (low, begin, False)
                break
            if instant < finish:
                stretch = (begin, finish, True)
                break
            low = finish
        else:
            return False
        object.__setattr__(self, "_stretch", stretch)
        return stretch[2]

    def windows_from(self, t: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Windows in time order, from the first that can contain `t`, far enough to pass any holidays."""
        first = ensure_utc(t).astimezone(self._tz).date() - _ONE_DAY
        for offset in range(7 * (len(self.holidays) + 3)):
            window = self.window(first + offset * _ONE_DAY)
            if window is not None:
                yield window


def in_session(t: datetime, session: SessionConfig) -> bool:
    """`t` lies in some window `[start, end)` (start inclusive, end exclusive)."""
    return session.contains(ensure_utc(t))


def next_session_start(t: datetime, session: SessionConfig) -> datetime:
    """The earliest window start strictly after `t` (RULE-009 lockouts end there)."""
    instant = ensure_utc(t)
    for begin, _ in session.windows_from(instant):
        if begin > instant:
            return begin
    raise ValueError(f"session {session.start}–{session.end}: no session window after {instant.isoformat()}")


def next_session_end(t: datetime, session: SessionConfig) -> datetime:
    """The earliest window end strictly after `t`: the current window's end, else the next window's."""
    instant = ensure_utc(t)
    for _, finish in session.windows_from(instant):
        if finish > instant:
            return finish
    raise ValueError(f"session {session.start}–{session.end}: no session window after {instant.isoformat()}")

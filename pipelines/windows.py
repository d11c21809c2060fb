"""Report windows every pull source shares: dates from settings, "today" in a report zone,
which days to (re-)read, and chunks of them.

Semantics (one place, so every source behaves alike): a configured start date is a floor (never
read before it); without one, the default start only shapes the first run, so after an outage
the next run resumes from the last loaded day; every run re-reads the platform's restatement
window; and a source never remembers a day that has not happened yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.errors import ConfigError


def parse_date(value: str | date | None, setting: str) -> date | None:
    """A ``YYYY-MM-DD`` setting, or a clear error naming it (``setting`` is the variable's name)."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        # Errors start with the source's name, like every other source error.
        source = setting.split("__")[1].lower() + ": " if setting.startswith("SOURCES__") else ""
        raise ConfigError(f"{source}{setting}={value!r} is not a YYYY-MM-DD date") from exc


def today_in(zone: str | tzinfo | None) -> date:
    """Today in a report time zone (an IANA name or a tzinfo); UTC when unknown: platforms'
    report days are local days, so "today" must be theirs, not the machine's."""
    if isinstance(zone, tzinfo):
        return datetime.now(zone).date()
    try:
        resolved: tzinfo = ZoneInfo(zone) if zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        resolved = UTC
    return datetime.now(resolved).date()


def report_window(
    floor: date | None, first_start: date, end: date, last_loaded: date | None, rewind_days: int
) -> tuple[date, date] | None:
    """Days to request: ``first_start`` on the first run, else ``rewind_days`` ending with the last loaded day.

    ``floor`` (a configured start date) bounds both. None when there is nothing to read.
    """
    since = first_start if last_loaded is None else last_loaded - timedelta(days=rewind_days - 1)
    if floor is not None:
        since = max(since, floor)
    return (since, end) if since <= end else None


def remembered(window_end: date, today: date, previous: str | None) -> str:
    """The last loaded day to keep in state: never past today (a future ``--end`` would stall later runs)."""
    return max(min(window_end, today).isoformat(), previous or "")


def chunks(since: date, until: date, days: int) -> Iterator[tuple[date, date]]:
    """Split an inclusive date range into inclusive chunks of at most ``days`` days."""
    current = since
    while current <= until:
        stop = min(until, current + timedelta(days=days - 1))
        yield current, stop
        current = stop + timedelta(days=1)

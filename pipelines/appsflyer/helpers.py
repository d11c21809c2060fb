"""AppsFlyer Pull API helpers: error answers, windows within the history limit, CSV parsing and row
validation. The dlt decorators live in ``__init__.py``."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from pipelines import windows
from pipelines.appsflyer import settings as s
from pipelines.errors import ConfigError, SourceError
from pipelines.http import ApiClient, RetryPolicy, Verdict, retry_after_seconds
from pipelines.quarantine import Tally, quarantine_record

log = logging.getLogger("adlake.appsflyer")
SOURCE = "appsflyer"


def classify(response: requests.Response) -> Verdict | None:
    """Read AppsFlyer's plain-text errors: rate limits and 5xx are retried, the daily quota and auth are final."""
    if response.ok:
        return None
    text = " ".join(response.text.split())[:200] or f"HTTP {response.status_code}"
    if response.status_code == 400 and s.QUOTA_MESSAGE in text:
        # The daily quota resets at UTC midnight: waiting in-process would only spin.
        return Verdict(f"daily API quota reached ({text})")
    if response.status_code == 403 and s.AGGREGATE_LIMIT_MESSAGE in text:
        return Verdict(f"throttled: {text}", retry=True, wait=s.AGGREGATE_LIMIT_WAIT_SECONDS)
    if response.status_code == 429:
        return Verdict(f"throttled: {text}", retry=True, wait=retry_after_seconds(response))
    if response.status_code >= 500:
        return Verdict(f"HTTP {response.status_code}: {text}", retry=True, wait=retry_after_seconds(response))
    if response.status_code == 401:
        return Verdict(f"API token rejected ({s.ENV_PREFIX}API_TOKEN): {text}")
    return Verdict(f"HTTP {response.status_code}: {text}")


@dataclass
class AppsFlyerClient:
    """Raw-data export client for one API token."""

    base_url: str
    api_token: str
    timezone: str = s.DEFAULT_TIMEZONE
    maximum_rows: int = s.MAXIMUM_ROWS
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        self.http = ApiClient(SOURCE, self.base_url, base_url_setting=f"{s.ENV_PREFIX}BASE_URL",
                              headers={"Authorization": f"Bearer {self.api_token}"}, classify=classify,
                              policy=self.policy)

    def export(self, app_id: str, report: str, since: date, until: date) -> list[dict[str, str]]:
        """Every row of a report for ``since``..``until``; a window that hits ``maximum_rows`` is split."""
        rows = self._get(app_id, report, since, until)
        if len(rows) < self.maximum_rows:
            return rows
        if since == until:
            raise SourceError(SOURCE, f"{report} for app {app_id} on {since} has at least {self.maximum_rows} rows; "
                                      f"raise {s.ENV_PREFIX}MAXIMUM_ROWS")
        # The answer may be cut at maximum_rows: read both halves instead (nothing lost).
        middle = since + (until - since) // 2
        log.info("appsflyer: %s %s..%s reached %d rows, splitting", report, since, until, self.maximum_rows)
        return self.export(app_id, report, since, middle) + self.export(app_id, report, middle + timedelta(1), until)

    def _get(self, app_id: str, report: str, since: date, until: date) -> list[dict[str, str]]:
        params = {"from": since.isoformat(), "to": until.isoformat(), "timezone": self.timezone,
                  "maximum_rows": self.maximum_rows}
        try:
            text = self.http.request("GET", s.EXPORT_PATH.format(app_id=app_id, report=report), params=params,
                                     parse="text", check=csv_problem)
        except SourceError as exc:
            if exc.status == 400 and "daily API quota reached" in str(exc):
                raise SourceError(SOURCE, f"{report} for app {app_id}: daily API quota reached; it resets at "
                                          f"00:00 UTC, run again after that", transient=True,
                                  status=exc.status) from exc
            if exc.status == 404:
                raise ConfigError(f"appsflyer: app {app_id} from {s.ENV_PREFIX}APP_IDS is not readable: "
                                  f"{str(exc).split('failed: ', 1)[-1]}") from exc
            raise
        return parse_csv(text)


def csv_problem(text: str) -> str | None:
    """Why an export cannot be trusted whole (None: it can). Every CSV line ends with a line break,
    so an answer without one at the end was cut off mid-row (rows after the cut are missing)."""
    if text and not text.endswith("\n"):
        return "truncated: the last line has no line break"
    return None


def parse_csv(text: str) -> list[dict[str, str]]:
    """The rows of a raw-data CSV, keyed by AppsFlyer's Title Case headers."""
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


_NON_WORD = re.compile(r"[^0-9a-z]+")


def snake(header: str) -> str:
    """``Event Revenue USD`` -> ``event_revenue_usd``; ``AppsFlyer ID`` -> ``appsflyer_id``."""
    return _NON_WORD.sub("_", header.strip().lower()).strip("_")


def normalize(row: dict[str, str]) -> dict[str, Any]:
    """snake_case columns; ``""``, ``N/A`` and ``NULL`` become null."""
    return {snake(k): (None if v is None or v.strip() in s.EMPTY_VALUES else v) for k, v in row.items() if k}


def parse_time(value: str) -> datetime | None:
    """An AppsFlyer timestamp, or None when it does not parse."""
    for fmt in s.TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def row_problem(row: dict[str, Any]) -> tuple[str, str] | None:
    """Why a normalized row cannot be loaded (reason code, detail), or None when it is sound."""
    for key in s.KEY_COLUMNS:
        if not row.get(key):
            return "missing_key", f"no {key}"
    for key in ("event_time", "install_time"):
        if row.get(key) and parse_time(str(row[key])) is None:
            return "type_coercion", f"{key}={row[key]!r} is not a timestamp"
    for key in s.DECIMAL_COLUMNS:
        value = row.get(key)
        if value is None:
            continue
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return "type_coercion", f"{key}={value!r} is not a decimal"
        if not number.is_finite():
            return "type_coercion", f"{key}={value!r} is not a finite amount"
    return None


def dedup_key(row: dict[str, Any]) -> str:
    """Hash of the columns that identify one event; primary and retargeting copies keep distinct keys."""
    raw = "\x1f".join("" if row.get(c) is None else str(row[c]) for c in s.DEDUP_COLUMNS)
    return hashlib.sha256(raw.encode()).hexdigest()


def sort_rows(rows: list[dict[str, str]], resource: str, seen: set[str], now: datetime,
              tally: Tally) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split rows into rows to load (normalized, keyed, stamped) and quarantine rows; drop repeats of this run."""
    good: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for raw in rows:
        tally.received += 1
        row = normalize(raw)
        problem = row_problem(row)
        if problem is not None:
            tally.quarantined += 1
            rejected.append(quarantine_record(SOURCE, resource, problem, raw, now))
            continue
        key = dedup_key(row)
        if key in seen:
            tally.duplicates += 1
            continue
        seen.add(key)
        good.append({**row, "event_date": str(row["event_time"])[:10], "_dedup_key": key, "_ingested_at": now})
    return good, rejected


def normalize_app_ids(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Accept ``"com.a,id123"`` or a list; return app ids without duplicates."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    ids: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in ids:
            ids.append(text)
    return ids


def zone(name: str) -> ZoneInfo:
    """The report time zone, or a clear error naming the setting."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"appsflyer: {s.ENV_PREFIX}TIMEZONE={name!r} is not a known time zone") from exc


def today(tz: ZoneInfo) -> date:
    """Today in the report time zone (the anchor of the 90-day history limit)."""
    return datetime.now(UTC).astimezone(tz).date()


def report_window(floor: date | None, first_start: date, end: date, last_loaded: date | None, rewind_days: int,
                  oldest: date) -> tuple[date, date] | None:
    """The shared report window (``pipelines.windows``), never before the oldest day AppsFlyer keeps.

    None when there is nothing to read.
    """
    window = windows.report_window(floor, first_start, end, last_loaded, rewind_days)
    if window is None:
        return None
    since = window[0]
    if since < oldest:
        log.warning("appsflyer: raw data is kept for %d days; reading from %s instead of %s",
                    s.HISTORY_DAYS, oldest, since)
        since = oldest
    return (since, end) if since <= end else None



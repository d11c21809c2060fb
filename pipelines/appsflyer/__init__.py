"""dlt source for the AppsFlyer raw-data Pull API: installs and in-app events.

Configuration follows dlt's convention (``SOURCES__APPSFLYER__<KEY>`` environment variables or
``[sources.appsflyer]`` in ``.dlt/config.toml`` / ``secrets.toml``): ``base_url``, ``api_token``,
``app_ids``, ``start_date``, ``end_date``, ``timezone`` and the tuning keys below.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from pipelines import runs
from pipelines.appsflyer import helpers
from pipelines.appsflyer import settings as s
from pipelines.appsflyer.helpers import AppsFlyerClient, normalize_app_ids, report_window, sort_rows
from pipelines.errors import ConfigError
from pipelines.http import RetryPolicy
from pipelines.quarantine import COLUMNS as QUARANTINE_COLUMNS
from pipelines.quarantine import TABLE as QUARANTINE_TABLE
from pipelines.reads import WindowRead
from pipelines.windows import parse_date

log = logging.getLogger("adlake.appsflyer")

_ICEBERG: dict[str, Any] = {"write_disposition": "append", "table_format": "iceberg"}
_EVENT_COLUMNS: dict[str, Any] = {
    "_ingested_at": {"data_type": "timestamp"},
    "event_date": {"data_type": "date", "partition": True},
    "_dedup_key": {"data_type": "text"},
    # Kept as sent: times are in the report time zone (dlt would read them as UTC), amounts are decimal strings,
    # and columns empty in one load (revenue on installs) still exist for staging.
    **{name: {"data_type": "text"} for name in s.TEXT_COLUMNS},
}
Page = dict[str, Any]


@dlt.source(name="appsflyer", max_table_nesting=0)
def appsflyer(
    app_ids: Any = None,
    api_token: TSecretStrValue | None = None,
    base_url: str = s.DEFAULT_BASE_URL,
    start_date: str | None = None,
    end_date: str | None = None,
    timezone: str = s.DEFAULT_TIMEZONE,
    restatement_days: int = s.RESTATEMENT_DAYS,
    maximum_rows: int = s.MAXIMUM_ROWS,
    max_attempts: int = 6,
    backoff_base_seconds: float = 2.0,
    timeout_seconds: float = 300.0,
) -> list[DltResource]:
    """AppsFlyer installs and in-app events for the configured apps.

    Args:
        app_ids: app ids, comma-separated or a list (``com.example.app``, ``id123456789``).
        api_token: an AppsFlyer API V2 token (sent as ``Authorization: Bearer``).
        base_url: API root; point it at the sandbox to run offline.
        start_date: first event day on the first run (default: 30 days ago; clamped to the 90 days kept).
        end_date: last event day (default: today in ``timezone``).
        timezone: the report time zone (``UTC`` or an IANA name set on the app).
        restatement_days: days re-read on every run.
        maximum_rows: rows per call; a window that reaches it is split so nothing is cut off.
        max_attempts: attempts per request on throttling and transient errors.
        backoff_base_seconds: first retry wait; doubles per attempt, with jitter.
        timeout_seconds: per-request timeout (exports are large).
    """
    if not api_token:
        raise ConfigError(f"appsflyer: {s.ENV_PREFIX}API_TOKEN is not set (or sources.appsflyer.api_token)")
    apps = normalize_app_ids(app_ids)
    if not apps:
        raise ConfigError(f"appsflyer: {s.ENV_PREFIX}APP_IDS is not set (or sources.appsflyer.app_ids)")
    if restatement_days < 1 or maximum_rows < 1:
        raise ConfigError(f"appsflyer: {s.ENV_PREFIX}RESTATEMENT_DAYS and MAXIMUM_ROWS must be at least 1")
    tz = helpers.zone(timezone)
    today = helpers.today(tz)
    floor = parse_date(start_date, f"{s.ENV_PREFIX}START_DATE")
    # (floor, first-run start): a configured start bounds every run; the default only the first.
    start = (floor, floor or today - timedelta(days=s.DEFAULT_START_DAYS_AGO))
    end = parse_date(end_date, f"{s.ENV_PREFIX}END_DATE") or today
    client = AppsFlyerClient(
        base_url=base_url, api_token=api_token, timezone=timezone, maximum_rows=maximum_rows,
        policy=RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base_seconds, timeout=timeout_seconds),
    )
    pages = report_pages(client, apps, start, end, today, restatement_days)
    return [pages | installs, pages | in_app_events, pages | reports_quarantine]


@dlt.resource(name="report_pages", selected=False)
def report_pages(
    client: AppsFlyerClient,
    apps: list[str],
    start: tuple[date | None, date],
    end: date,
    today: date,
    restatement_days: int,
) -> Iterator[Page]:
    """Every report window of every app, sorted into rows to load and rows to quarantine.

    Re-reads the restatement window on every run. Not loaded itself: one transformer per table
    and the quarantine transformer take their parts.
    """
    state = dlt.current.resource_state().setdefault("last_date", {})
    oldest = today - timedelta(days=s.HISTORY_DAYS - 1)  # AppsFlyer keeps raw data this long
    for app_id in apps:
        for report, (table, resource, days_per_call) in s.REPORTS.items():
            last = state.setdefault(app_id, {}).get(report)
            window = report_window(*start, end, date.fromisoformat(last) if last else None, restatement_days, oldest)
            if window is None:
                continue
            read = WindowRead("appsflyer", table, resource, f"app {app_id}", window, days_per_call)
            seen: set[str] = set()  # one event seen in two windows of this run loads once
            for since, until in read.chunks():
                log.info("appsflyer: app %s %s %s..%s", app_id, report, since, until)
                for rows in read.guard(since, until, _export(client, app_id, report, since, until)):
                    for row in rows[:1]:  # every row of a CSV has the same columns
                        runs.note_new_fields("appsflyer", table, helpers.normalize(row), s.KNOWN_COLUMNS)
                    good, rejected = sort_rows(rows, resource, seen, datetime.now(UTC), read.tally)
                    yield {"table": table, "good": good, "rejected": rejected}
                yield {"table": table, "good": [], "rejected": read.take_rejected()}
            state[app_id][report] = read.finish(today, last)


def _export(client: AppsFlyerClient, app_id: str, report: str, since: date, until: date) -> Iterator[list[Any]]:
    yield client.export(app_id, report, since, until)


def _part(page: Page, table: str) -> Iterator[list[dict[str, Any]]]:
    if page["table"] == table and page["good"]:
        yield page["good"]


@dlt.transformer(name="installs", table_name="appsflyer__installs", columns=_EVENT_COLUMNS, **_ICEBERG)
def installs(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Attributed installs as AppsFlyer sends them (snake_case columns, empty markers as null)."""
    yield from _part(page, "appsflyer__installs")


@dlt.transformer(name="in_app_events", table_name="appsflyer__in_app_events", columns=_EVENT_COLUMNS, **_ICEBERG)
def in_app_events(page: Page) -> Iterator[list[dict[str, Any]]]:
    """In-app events, primary and retargeting copies both kept (staging picks by is_primary_attribution)."""
    yield from _part(page, "appsflyer__in_app_events")


@dlt.transformer(name="reports_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS, **_ICEBERG)
def reports_quarantine(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Rows that would not load, with the reason, in ``raw._quarantine``."""
    if page["rejected"]:
        yield page["rejected"]

"""dlt source for Microsoft Advertising reports: daily campaign, ad group and ad performance.

Configuration follows dlt's convention (``SOURCES__MICROSOFT_ADS__<KEY>`` environment variables or
``[sources.microsoft_ads]`` in ``.dlt/config.toml`` / ``secrets.toml``): ``base_url``, ``access_token``,
``developer_token``, ``customer_id``, ``account_ids``, ``start_date``, ``end_date``, ``report_time_zone``
and the tuning keys below.
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
from pipelines.errors import ConfigError
from pipelines.http import RetryPolicy
from pipelines.microsoft_ads import settings as s
from pipelines.microsoft_ads.helpers import (
    MicrosoftClient,
    normalize_ids,
    report_today,
    sort_rows,
)
from pipelines.quarantine import COLUMNS as QUARANTINE_COLUMNS
from pipelines.quarantine import TABLE as QUARANTINE_TABLE
from pipelines.reads import WindowRead
from pipelines.windows import parse_date, report_window

log = logging.getLogger("adlake.microsoft_ads")

_ICEBERG: dict[str, Any] = {"write_disposition": "append", "table_format": "iceberg"}
_REPORT_COLUMNS: dict[str, Any] = {
    "_ingested_at": {"data_type": "timestamp"},
    "time_period": {"data_type": "date", "partition": True},
}
Page = dict[str, Any]


@dlt.source(name="microsoft_ads", max_table_nesting=0)
def microsoft_ads(
    account_ids: Any = None,
    customer_id: str | None = None,
    access_token: TSecretStrValue | None = None,
    developer_token: TSecretStrValue | None = None,
    base_url: str = s.DEFAULT_BASE_URL,
    start_date: str | None = None,
    end_date: str | None = None,
    report_time_zone: str | None = None,
    restatement_days: int = s.RESTATEMENT_DAYS,
    poll_interval_seconds: float = s.POLL_INTERVAL_SECONDS,
    max_polls: int = s.MAX_POLLS,
    max_attempts: int = 6,
    backoff_base_seconds: float = 2.0,
    timeout_seconds: float = 60.0,
) -> list[DltResource]:
    """Microsoft Advertising daily performance reports for the configured accounts.

    Args:
        account_ids: account ids, comma-separated or a list.
        customer_id: the customer (manager) id that owns the accounts, sent as ``CustomerId``.
        access_token: an OAuth access token for the Microsoft Advertising API.
        developer_token: the developer token sent as ``DeveloperToken``.
        base_url: Reporting service root; point it at the sandbox to run offline.
        start_date: first report day on the first run (default: 30 days ago).
        end_date: last report day (default: today in the report time zone).
        report_time_zone: the accounts' own ``ReportTimeZone`` (e.g. ``AmsterdamBerlinBernRomeStockholmVienna``).
        restatement_days: days re-read on every run because conversions keep arriving.
        poll_interval_seconds: wait between two polls of a pending report.
        max_polls: polls before a pending report counts as failed.
        max_attempts: attempts per request on throttling and transient errors.
        backoff_base_seconds: first retry wait; doubles per attempt, with jitter.
        timeout_seconds: per-request timeout.
    """
    for value, key in ((access_token, "ACCESS_TOKEN"), (developer_token, "DEVELOPER_TOKEN"),
                       (customer_id, "CUSTOMER_ID")):
        if not value:
            raise ConfigError(f"microsoft_ads: {s.ENV_PREFIX}{key} is not set (or sources.microsoft_ads.{key.lower()})")
    accounts = normalize_ids(account_ids, f"{s.ENV_PREFIX}ACCOUNT_IDS")
    if not accounts:
        raise ConfigError(f"microsoft_ads: {s.ENV_PREFIX}ACCOUNT_IDS is not set (or sources.microsoft_ads.account_ids)")
    if restatement_days < 1 or max_polls < 1:
        raise ConfigError(f"microsoft_ads: {s.ENV_PREFIX}RESTATEMENT_DAYS and MAX_POLLS must be at least 1")
    if report_time_zone and report_time_zone not in s.TIME_ZONES:
        log.warning("microsoft_ads: REPORT_TIME_ZONE %s is not in the known list; sent as is", report_time_zone)
    floor = parse_date(start_date, f"{s.ENV_PREFIX}START_DATE")
    # (floor, first-run start): a configured start bounds every run; the default only the first.
    start = (floor, floor or datetime.now(UTC).date() - timedelta(days=s.DEFAULT_START_DAYS_AGO))
    end = parse_date(end_date, f"{s.ENV_PREFIX}END_DATE") or report_today(report_time_zone)
    client = MicrosoftClient(
        base_url=base_url, access_token=access_token, developer_token=str(developer_token),  # type: ignore[arg-type]
        customer_id=str(customer_id).strip(),
        policy=RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base_seconds, timeout=timeout_seconds),
        poll_interval_seconds=poll_interval_seconds, max_polls=max_polls,
    )
    pages = report_pages(client, accounts, start, end, report_time_zone, restatement_days)
    return [
        pages | campaign_performance_daily,
        pages | ad_group_performance_daily,
        pages | ad_performance_daily,
        pages | reports_quarantine,
    ]


@dlt.resource(name="report_pages", selected=False)
def report_pages(
    client: MicrosoftClient,
    accounts: list[str],
    start: tuple[date | None, date],
    end: date,
    report_time_zone: str | None,
    restatement_days: int,
) -> Iterator[Page]:
    """Every report of every account, sorted into rows to load and rows to quarantine.

    Re-reads the restatement window on every run. Not loaded itself: one transformer per table
    and the quarantine transformer take their parts.
    """
    state = dlt.current.resource_state().setdefault("last_date", {})
    for account_id in accounts:
        for report_type, (table, _resource, columns, _keys) in s.REPORTS.items():
            last = state.setdefault(account_id, {}).get(report_type)
            window = report_window(*start, end, date.fromisoformat(last) if last else None, restatement_days)
            if window is None:
                continue
            # One report covers the whole window: Microsoft builds it server-side, whatever its length.
            read = WindowRead("microsoft_ads", table, report_type, f"account {account_id}", window,
                              (window[1] - window[0]).days + 1)
            for since, until in read.chunks():
                log.info("microsoft_ads: account %s %s %s..%s", account_id, report_type, since, until)
                reports = _report(client, report_type, account_id, since, until, report_time_zone)
                for rows in read.guard(since, until, reports):
                    for row in rows:
                        runs.note_new_fields("microsoft_ads", table, row, frozenset(columns))
                    good, rejected = sort_rows(rows, report_type, set(), datetime.now(UTC), read.tally)
                    yield {"table": table, "good": good, "rejected": rejected}
                yield {"table": table, "good": [], "rejected": read.take_rejected()}
            state[account_id][report_type] = read.finish(report_today(report_time_zone), last)


def _report(client: MicrosoftClient, report_type: str, account_id: str, since: date, until: date,
            time_zone: str | None) -> Iterator[list[dict[str, str]]]:
    yield client.report_rows(report_type, account_id, since, until, time_zone)


def _part(page: Page, table: str) -> Iterator[list[dict[str, Any]]]:
    if page["table"] == table and page["good"]:
        yield page["good"]


@dlt.transformer(name="campaign_performance_daily", table_name="microsoft_ads__campaign_performance_daily",
                 columns=_REPORT_COLUMNS, **_ICEBERG)
def campaign_performance_daily(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Daily campaign performance as Microsoft sends it (Spend and Revenue as decimal strings)."""
    yield from _part(page, "microsoft_ads__campaign_performance_daily")


@dlt.transformer(name="ad_group_performance_daily", table_name="microsoft_ads__ad_group_performance_daily",
                 columns=_REPORT_COLUMNS, **_ICEBERG)
def ad_group_performance_daily(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Daily ad group performance as Microsoft sends it."""
    yield from _part(page, "microsoft_ads__ad_group_performance_daily")


@dlt.transformer(name="ad_performance_daily", table_name="microsoft_ads__ad_performance_daily",
                 columns=_REPORT_COLUMNS, **_ICEBERG)
def ad_performance_daily(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Daily ad performance as Microsoft sends it."""
    yield from _part(page, "microsoft_ads__ad_performance_daily")


@dlt.transformer(name="reports_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS, **_ICEBERG)
def reports_quarantine(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Report rows that would not load, with the reason, in ``raw._quarantine``."""
    if page["rejected"]:
        yield page["rejected"]


"""dlt source for the Meta Marketing API: ad accounts, campaigns, ad sets, ads and daily ad insights.

Configuration follows dlt's convention (``SOURCES__META_ADS__<KEY>`` environment variables or
``[sources.meta_ads]`` in ``.dlt/config.toml`` / ``secrets.toml``): ``base_url``, ``api_version``,
``access_token``, ``account_ids``, ``start_date``, ``end_date`` and the tuning keys below.
"""

from __future__ import annotations

import json
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
from pipelines.meta_ads import settings as s
from pipelines.meta_ads.helpers import (
    AccountCache,
    MetaClient,
    entity_pages,
    normalize_account_ids,
    sort_insights,
    stamp,
)
from pipelines.quarantine import COLUMNS as QUARANTINE_COLUMNS
from pipelines.quarantine import TABLE as QUARANTINE_TABLE
from pipelines.reads import WindowRead
from pipelines.windows import parse_date, report_window, today_in

log = logging.getLogger("adlake.meta_ads")

_ICEBERG: dict[str, Any] = {"write_disposition": "append", "table_format": "iceberg"}
_INGESTED_AT = {"_ingested_at": {"data_type": "timestamp"}}
Page = dict[str, Any]
_ENTITY_COLUMNS = {
    **_INGESTED_AT,
    "created_time": {"data_type": "timestamp"},
    "updated_time": {"data_type": "timestamp"},
}
@dlt.source(name="meta_ads", max_table_nesting=0)
def meta_ads(
    account_ids: Any = None,
    access_token: TSecretStrValue | None = None,
    base_url: str = s.DEFAULT_BASE_URL,
    api_version: str = s.DEFAULT_API_VERSION,
    start_date: str | None = None,
    end_date: str | None = None,
    attribution_window_days: int = s.ATTRIBUTION_WINDOW_DAYS,
    days_per_request: int = s.DAYS_PER_REQUEST,
    page_limit: int = s.PAGE_LIMIT,
    usage_threshold_pct: float = s.USAGE_THRESHOLD_PCT,
    max_throttle_wait_seconds: float = s.MAX_THROTTLE_WAIT_SECONDS,
    max_attempts: int = 6,
    backoff_base_seconds: float = 2.0,
    timeout_seconds: float = 60.0,
) -> list[DltResource]:
    """Meta Ads for the configured ad accounts.

    Args:
        account_ids: ad account ids, comma-separated or a list (``act_`` prefix optional).
        access_token: a Marketing API token with ``ads_read``.
        base_url: Graph API root; point it at the sandbox to run offline.
        api_version: Graph API version (``v21.0``).
        start_date: first report day on the first run (default: 30 days ago).
        end_date: last report day (default: today in each account's time zone).
        attribution_window_days: days re-read on every run because Meta restates them.
        days_per_request: report days per insights request.
        page_limit: rows per page.
        usage_threshold_pct: pause before any usage header reaches this percentage.
        max_throttle_wait_seconds: longest single pause on usage headers.
        max_attempts: attempts per request on throttling and transient errors.
        backoff_base_seconds: first retry wait; doubles per attempt, with jitter.
        timeout_seconds: per-request timeout.
    """
    if not access_token:
        raise ConfigError(f"meta_ads: {s.ENV_PREFIX}ACCESS_TOKEN is not set (or sources.meta_ads.access_token)")
    accounts_wanted = normalize_account_ids(account_ids)
    if not accounts_wanted:
        raise ConfigError(f"meta_ads: {s.ENV_PREFIX}ACCOUNT_IDS is not set (or sources.meta_ads.account_ids)")
    if attribution_window_days < 1 or days_per_request < 1:
        raise ConfigError("meta_ads: ATTRIBUTION_WINDOW_DAYS and DAYS_PER_REQUEST must be at least 1")
    floor = parse_date(start_date, f"{s.ENV_PREFIX}START_DATE")
    first_start = floor or datetime.now(UTC).date() - timedelta(days=s.DEFAULT_START_DAYS_AGO)
    end = parse_date(end_date, f"{s.ENV_PREFIX}END_DATE")
    client = MetaClient(
        base_url=base_url,
        api_version=api_version,
        access_token=access_token,
        policy=RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base_seconds, timeout=timeout_seconds,
                           max_wait=max_throttle_wait_seconds),
        usage_threshold_pct=usage_threshold_pct,
        max_throttle_wait_seconds=max_throttle_wait_seconds,
        page_limit=page_limit,
    )
    accounts = AccountCache(client, accounts_wanted)
    pages = insight_pages(accounts, client, floor, first_start, end, attribution_window_days, days_per_request)
    lists = entity_lists(accounts, client)
    return [
        ad_accounts(accounts),
        lists | campaigns,
        lists | ad_sets,
        lists | ads,
        lists | entities_quarantine,
        pages | insights,
        pages | insights_quarantine,
    ]


@dlt.resource(name="ad_accounts", table_name="meta_ads__ad_accounts", columns=_INGESTED_AT, **_ICEBERG)
def ad_accounts(accounts: AccountCache) -> Iterator[list[dict[str, Any]]]:
    """One row per configured ad account and run (name, currency, time zone, status)."""
    rows = accounts.rows()
    runs.tally("meta_ads", "meta_ads__ad_accounts").received += len(rows)
    yield stamp(rows, datetime.now(UTC))


_EDGES = (("campaigns", s.CAMPAIGN_FIELDS, "meta_ads__campaigns"), ("adsets", s.AD_SET_FIELDS, "meta_ads__ad_sets"),
          ("ads", s.AD_FIELDS, "meta_ads__ads"))


@dlt.resource(name="entity_lists", selected=False)
def entity_lists(accounts: AccountCache, client: MetaClient) -> Iterator[Page]:
    """Pages of every account's campaigns, ad sets and ads. Not loaded itself: one transformer per
    table and the quarantine transformer take their parts."""
    for edge, fields, table in _EDGES:
        yield from entity_pages(accounts, client, edge, fields, table)


def _part(page: Page, table: str) -> Iterator[list[dict[str, Any]]]:
    if page["table"] == table and page["good"]:
        yield page["good"]


@dlt.transformer(name="campaigns", table_name="meta_ads__campaigns", columns=_ENTITY_COLUMNS, **_ICEBERG)
def campaigns(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Every campaign of every account, as of this run (staging keeps the latest version)."""
    yield from _part(page, "meta_ads__campaigns")


@dlt.transformer(name="ad_sets", table_name="meta_ads__ad_sets", columns=_ENTITY_COLUMNS, **_ICEBERG)
def ad_sets(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Every ad set (adlake's ad group) of every account, as of this run."""
    yield from _part(page, "meta_ads__ad_sets")


@dlt.transformer(name="ads", table_name="meta_ads__ads", columns=_ENTITY_COLUMNS, **_ICEBERG)
def ads(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Every ad of every account, as of this run."""
    yield from _part(page, "meta_ads__ads")


@dlt.transformer(name="entities_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS, **_ICEBERG)
def entities_quarantine(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Entity list pages that could not be read, with the reason, in ``raw._quarantine``."""
    if page["rejected"]:
        yield page["rejected"]


@dlt.resource(name="insight_pages", selected=False)
def insight_pages(
    accounts: AccountCache,
    client: MetaClient,
    floor: date | None,
    first_start: date,
    end: date | None,
    attribution_window_days: int,
    days_per_request: int,
) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Daily ad-level insights pages, sorted into rows to load and rows to quarantine.

    Re-reads the restatement window on every run. Not loaded itself: the ``insights`` and
    ``insights_quarantine`` transformers take its two halves.
    """
    state = dlt.current.resource_state().setdefault("last_date", {})
    for account in accounts.rows():
        account_id = str(account["account_id"])
        last = state.get(account_id)
        today = today_in(account.get("timezone_name"))
        until = end or today
        window = report_window(floor, first_start, until, date.fromisoformat(last) if last else None,
                               attribution_window_days)
        if window is None:
            continue
        read = WindowRead("meta_ads", "meta_ads__insights", "insights", f"account {account_id}", window,
                          days_per_request)
        seen: set[tuple[str, str]] = set()
        for since, stop in read.chunks():
            log.info("meta_ads: account %s insights %s..%s", account_id, since, stop)
            params = {
                "level": "ad",
                "time_increment": 1,
                "fields": ",".join(s.INSIGHT_FIELDS),
                "action_attribution_windows": ",".join(s.ACTION_ATTRIBUTION_WINDOWS),
                "time_range": json.dumps({"since": since.isoformat(), "until": stop.isoformat()}),
            }
            for page in read.guard(since, stop, client.get_pages(f"act_{account_id}/insights", params)):
                for row in page:
                    runs.note_new_fields("meta_ads", "meta_ads__insights", row, s.KNOWN_INSIGHT_FIELDS)
                good, rejected = sort_insights(page, seen, datetime.now(UTC), read.tally)
                yield {"good": good, "rejected": rejected}
            yield {"good": [], "rejected": read.take_rejected()}
        # Never a day that has not happened yet; never past a chunk that could not be read.
        state[account_id] = read.finish(today, last)


@dlt.transformer(
    name="insights",
    table_name="meta_ads__insights",
    columns={
        **_INGESTED_AT,
        "date_start": {"data_type": "date", "partition": True},
        "date_stop": {"data_type": "date"},
        "actions": {"data_type": "json"},
        "action_values": {"data_type": "json"},
    },
    **_ICEBERG,
)
def insights(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Daily ad-level insights as Meta sends them (numbers as strings, typed in staging).

    Duplicate (account, ad, day) rows inside one run are dropped before they reach the lake.
    """
    if page["good"]:
        yield page["good"]


@dlt.transformer(name="insights_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS, **_ICEBERG)
def insights_quarantine(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Insights rows that would not load, with the reason, in ``raw._quarantine``."""
    if page["rejected"]:
        yield page["rejected"]

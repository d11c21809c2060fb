"""dlt source for the TikTok Business API: advertisers, campaigns, ad groups, ads and daily ad reports.

Configuration follows dlt's convention (``SOURCES__TIKTOK_ADS__<KEY>`` environment variables or
``[sources.tiktok_ads]`` in ``.dlt/config.toml`` / ``secrets.toml``): ``base_url``,
``access_token``, ``advertiser_ids``, ``start_date``, ``end_date`` and the tuning keys below.
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
from pipelines.quarantine import COLUMNS as QUARANTINE_COLUMNS
from pipelines.quarantine import TABLE as QUARANTINE_TABLE
from pipelines.reads import WindowRead
from pipelines.tiktok_ads import settings as s
from pipelines.tiktok_ads.helpers import (
    AdvertiserCache,
    TikTokClient,
    entity_pages,
    normalize_advertiser_ids,
    report_params,
    sort_report_rows,
    stamp,
)
from pipelines.windows import parse_date, report_window, today_in

log = logging.getLogger("adlake.tiktok_ads")

_ICEBERG: dict[str, Any] = {"write_disposition": "append", "table_format": "iceberg"}
_INGESTED_AT = {"_ingested_at": {"data_type": "timestamp"}}
# TikTok writes entity audit times in UTC; schedule and report times are the advertiser's local
# wall clock, so they stay text (dlt would otherwise read them as UTC timestamps).
_ENTITY_COLUMNS = {
    **_INGESTED_AT,
    "create_time": {"data_type": "timestamp"},
    "modify_time": {"data_type": "timestamp"},
    "schedule_start_time": {"data_type": "text"},
    "schedule_end_time": {"data_type": "text"},
}
REPORT_TABLE = "tiktok_ads__ad_performance_daily"


@dlt.source(name="tiktok_ads", max_table_nesting=0)
def tiktok_ads(
    advertiser_ids: Any = None,
    access_token: TSecretStrValue | None = None,
    base_url: str = s.DEFAULT_BASE_URL,
    start_date: str | None = None,
    end_date: str | None = None,
    attribution_window_days: int = s.ATTRIBUTION_WINDOW_DAYS,
    days_per_request: int = s.DAYS_PER_REQUEST,
    page_size: int = s.PAGE_SIZE,
    max_attempts: int = 6,
    backoff_base_seconds: float = 2.0,
    timeout_seconds: float = 60.0,
) -> list[DltResource]:
    """TikTok Ads for the configured advertisers.

    Args:
        advertiser_ids: advertiser ids, comma-separated or a list.
        access_token: a Business API access token (sent as the ``Access-Token`` header).
        base_url: API root; point it at the sandbox to run offline.
        start_date: first report day on the first run (default: 30 days ago).
        end_date: last report day (default: today in each advertiser's time zone).
        attribution_window_days: days re-read on every run because TikTok restates conversions.
        days_per_request: report days per call (at most 30, TikTok's limit for daily reports).
        page_size: rows per page (at most 1000).
        max_attempts: attempts per request on throttling (code 40100) and transient errors.
        backoff_base_seconds: first retry wait; doubles per attempt, with jitter.
        timeout_seconds: per-request timeout.
    """
    if not access_token:
        raise ConfigError(f"tiktok_ads: {s.ENV_PREFIX}ACCESS_TOKEN is not set (or sources.tiktok_ads.access_token)")
    advertisers_wanted = normalize_advertiser_ids(advertiser_ids)
    if not advertisers_wanted:
        raise ConfigError(
            f"tiktok_ads: {s.ENV_PREFIX}ADVERTISER_IDS is not set (or sources.tiktok_ads.advertiser_ids)")
    if attribution_window_days < 1 or not 1 <= days_per_request <= s.MAX_DAYS_PER_REQUEST:
        raise ConfigError(f"tiktok_ads: {s.ENV_PREFIX}ATTRIBUTION_WINDOW_DAYS must be at least 1 and "
                          f"{s.ENV_PREFIX}DAYS_PER_REQUEST between 1 and {s.MAX_DAYS_PER_REQUEST}")
    if not 1 <= page_size <= s.MAX_PAGE_SIZE:
        raise ConfigError(f"tiktok_ads: {s.ENV_PREFIX}PAGE_SIZE must be between 1 and {s.MAX_PAGE_SIZE}")
    floor = parse_date(start_date, f"{s.ENV_PREFIX}START_DATE")
    # (floor, first-run start): a configured start bounds every run; the default only the first.
    start = (floor, floor or datetime.now(UTC).date() - timedelta(days=s.DEFAULT_START_DAYS_AGO))
    end = parse_date(end_date, f"{s.ENV_PREFIX}END_DATE")
    client = TikTokClient(
        base_url=base_url,
        access_token=access_token,
        policy=RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base_seconds, timeout=timeout_seconds),
        page_size=page_size,
    )
    advertisers_cache = AdvertiserCache(client, advertisers_wanted)
    pages = report_pages(advertisers_cache, client, start, end, attribution_window_days, days_per_request)
    return [
        advertisers(advertisers_cache),
        campaigns(advertisers_cache, client),
        ad_groups(advertisers_cache, client),
        ads(advertisers_cache, client),
        pages | ad_performance_daily,
        pages | ad_performance_quarantine,
    ]


@dlt.resource(name="advertisers", table_name="tiktok_ads__advertisers", columns=_INGESTED_AT, **_ICEBERG)
def advertisers(cache: AdvertiserCache) -> Iterator[list[dict[str, Any]]]:
    """One row per configured advertiser and run (name, currency, time zone, status)."""
    rows = cache.rows()
    runs.tally("tiktok_ads", "tiktok_ads__advertisers").received += len(rows)
    yield stamp(rows, datetime.now(UTC))


@dlt.resource(name="campaigns", table_name="tiktok_ads__campaigns", columns=_ENTITY_COLUMNS, **_ICEBERG)
def campaigns(cache: AdvertiserCache, client: TikTokClient) -> Iterator[list[dict[str, Any]]]:
    """Every campaign of every advertiser, as of this run (staging keeps the latest version)."""
    yield from entity_pages(cache, client, s.CAMPAIGN_PATH, "tiktok_ads__campaigns")


@dlt.resource(name="ad_groups", table_name="tiktok_ads__ad_groups", columns=_ENTITY_COLUMNS, **_ICEBERG)
def ad_groups(cache: AdvertiserCache, client: TikTokClient) -> Iterator[list[dict[str, Any]]]:
    """Every ad group of every advertiser, as of this run."""
    yield from entity_pages(cache, client, s.AD_GROUP_PATH, "tiktok_ads__ad_groups")


@dlt.resource(name="ads", table_name="tiktok_ads__ads", columns=_ENTITY_COLUMNS, **_ICEBERG)
def ads(cache: AdvertiserCache, client: TikTokClient) -> Iterator[list[dict[str, Any]]]:
    """Every ad of every advertiser, as of this run."""
    yield from entity_pages(cache, client, s.AD_PATH, "tiktok_ads__ads")


@dlt.resource(name="report_pages", selected=False)
def report_pages(
    cache: AdvertiserCache,
    client: TikTokClient,
    start: tuple[date | None, date],
    end: date | None,
    attribution_window_days: int,
    days_per_request: int,
) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Daily ad-level report pages, sorted into rows to load and rows to quarantine.

    Re-reads the attribution window on every run. Not loaded itself: the ``ad_performance_daily``
    and ``ad_performance_quarantine`` transformers take its two halves.
    """
    state = dlt.current.resource_state().setdefault("last_date", {})
    for advertiser in cache.rows():
        advertiser_id = str(advertiser["advertiser_id"])
        last = state.get(advertiser_id)
        today = today_in(advertiser.get("timezone"))
        until = end or today
        window = report_window(*start, until, date.fromisoformat(last) if last else None, attribution_window_days)
        if window is None:
            continue
        read = WindowRead("tiktok_ads", REPORT_TABLE, "ad_performance_daily", f"advertiser {advertiser_id}", window,
                          days_per_request)
        seen: set[tuple[str, str, str]] = set()
        for since, stop in read.chunks():
            log.info("tiktok_ads: advertiser %s report %s..%s", advertiser_id, since, stop)
            pages = client.get_pages(s.REPORT_PATH, report_params(advertiser_id, since, stop))
            for page in read.guard(since, stop, pages):
                good, rejected = sort_report_rows(advertiser_id, page, seen, datetime.now(UTC), read.tally)
                yield {"good": good, "rejected": rejected}
            yield {"good": [], "rejected": read.take_rejected()}
        state[advertiser_id] = read.finish(today, last)


@dlt.transformer(
    name="ad_performance_daily",
    table_name=REPORT_TABLE,
    columns={
        **_INGESTED_AT,
        "report_date": {"data_type": "date", "partition": True},
        "stat_time_day": {"data_type": "text"},
    },
    **_ICEBERG,
)
def ad_performance_daily(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Daily ad-level report rows as TikTok sends them (metrics as strings, typed in staging).

    ``report_date`` is the day of ``stat_time_day``; duplicate (advertiser, ad, day) rows of one run are dropped.
    """
    if page["good"]:
        yield page["good"]


@dlt.transformer(name="ad_performance_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS,
                 **_ICEBERG)
def ad_performance_quarantine(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Report rows that would not load, with the reason, in ``raw._quarantine``."""
    if page["rejected"]:
        yield page["rejected"]

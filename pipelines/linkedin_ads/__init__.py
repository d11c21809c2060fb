"""dlt source for the LinkedIn Marketing API: ad accounts, campaign groups, campaigns, creatives and
daily adAnalytics by campaign and by creative.

Configuration follows dlt's convention (``SOURCES__LINKEDIN_ADS__<KEY>`` environment variables or
``[sources.linkedin_ads]`` in ``.dlt/config.toml`` / ``secrets.toml``): ``base_url``,
``access_token``, ``account_ids``, ``api_version``, ``start_date``, ``end_date`` and the tuning keys below.
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
from pipelines.linkedin_ads import settings as s
from pipelines.linkedin_ads.helpers import (
    AccountCache,
    LinkedInClient,
    analytics_elements,
    entity_pages,
    normalize_account_ids,
    sort_elements,
    stamp,
)
from pipelines.quarantine import COLUMNS as QUARANTINE_COLUMNS
from pipelines.quarantine import TABLE as QUARANTINE_TABLE
from pipelines.reads import WindowRead
from pipelines.windows import parse_date, report_window

log = logging.getLogger("adlake.linkedin_ads")

_ICEBERG: dict[str, Any] = {"write_disposition": "append", "table_format": "iceberg"}
_INGESTED_AT = {"_ingested_at": {"data_type": "timestamp"}}
# Money stays a decimal string as LinkedIn sends it (typed in staging); the day is UTC.
_ANALYTICS_COLUMNS = {
    **_INGESTED_AT,
    "report_date": {"data_type": "date", "partition": True},
    "cost_in_local_currency": {"data_type": "text"},
    "cost_in_usd": {"data_type": "text"},
    "conversion_value_in_local_currency": {"data_type": "text"},
}
CAMPAIGN_TABLE = "linkedin_ads__campaign_analytics_daily"
CREATIVE_TABLE = "linkedin_ads__creative_analytics_daily"


@dlt.source(name="linkedin_ads", max_table_nesting=0)
def linkedin_ads(
    account_ids: Any = None,
    access_token: TSecretStrValue | None = None,
    base_url: str = s.DEFAULT_BASE_URL,
    api_version: str = s.DEFAULT_API_VERSION,
    start_date: str | None = None,
    end_date: str | None = None,
    restatement_days: int = s.RESTATEMENT_DAYS,
    days_per_request: int = s.DAYS_PER_REQUEST,
    max_elements_per_response: int = s.MAX_ELEMENTS_PER_RESPONSE,
    page_size: int = s.PAGE_SIZE,
    max_attempts: int = 6,
    backoff_base_seconds: float = 2.0,
    timeout_seconds: float = 60.0,
) -> list[DltResource]:
    """LinkedIn Ads for the configured ad accounts.

    Args:
        account_ids: ad account ids, comma-separated or a list (``urn:li:sponsoredAccount:`` optional).
        access_token: an OAuth token with ``r_ads_reporting`` and ``r_ads``.
        base_url: API root; point it at the sandbox to run offline.
        api_version: the ``Linkedin-Version`` header (``YYYYMM``); LinkedIn serves a version about a year.
        start_date: first report day on the first run (default: 30 days ago).
        end_date: last report day (default: today, UTC).
        restatement_days: days re-read on every run because conversions restate.
        days_per_request: report days per adAnalytics call (halved automatically when an answer is full).
        max_elements_per_response: answer size taken as full (adAnalytics has no pagination).
        page_size: entities per page.
        max_attempts: attempts per request on throttling (429) and transient errors.
        backoff_base_seconds: first retry wait; doubles per attempt, with jitter.
        timeout_seconds: per-request timeout.
    """
    if not access_token:
        raise ConfigError(
            f"linkedin_ads: {s.ENV_PREFIX}ACCESS_TOKEN is not set (or sources.linkedin_ads.access_token)")
    accounts_wanted = normalize_account_ids(account_ids)
    if not accounts_wanted:
        raise ConfigError(f"linkedin_ads: {s.ENV_PREFIX}ACCOUNT_IDS is not set (or sources.linkedin_ads.account_ids)")
    if not str(api_version or "").strip():
        raise ConfigError(f"linkedin_ads: {s.ENV_PREFIX}API_VERSION is empty; set a YYYYMM version")
    if restatement_days < 1 or days_per_request < 1 or max_elements_per_response < 1:
        raise ConfigError(f"linkedin_ads: {s.ENV_PREFIX}RESTATEMENT_DAYS, DAYS_PER_REQUEST and "
                          "MAX_ELEMENTS_PER_RESPONSE must be at least 1")
    if not 1 <= page_size <= s.MAX_PAGE_SIZE:
        raise ConfigError(f"linkedin_ads: {s.ENV_PREFIX}PAGE_SIZE must be between 1 and {s.MAX_PAGE_SIZE}")
    floor = parse_date(start_date, f"{s.ENV_PREFIX}START_DATE")
    # (floor, first-run start): a configured start bounds every run; the default only the first.
    start = (floor, floor or datetime.now(UTC).date() - timedelta(days=s.DEFAULT_START_DAYS_AGO))
    end = parse_date(end_date, f"{s.ENV_PREFIX}END_DATE")
    client = LinkedInClient(
        base_url=base_url,
        access_token=access_token,
        api_version=str(api_version).strip(),
        policy=RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base_seconds, timeout=timeout_seconds),
        page_size=page_size,
    )
    accounts = AccountCache(client, accounts_wanted)
    window = (start, end, restatement_days, days_per_request, max_elements_per_response)
    campaign_pages = analytics_pages(accounts, client, "CAMPAIGN", CAMPAIGN_TABLE, *window).with_name(
        "campaign_analytics_pages")
    creative_pages = analytics_pages(accounts, client, "CREATIVE", CREATIVE_TABLE, *window).with_name(
        "creative_analytics_pages")
    return [
        ad_accounts(accounts),
        campaign_groups(accounts, client),
        campaigns(accounts, client),
        creatives(accounts, client),
        campaign_pages | campaign_analytics_daily,
        campaign_pages | campaign_analytics_quarantine,
        creative_pages | creative_analytics_daily,
        creative_pages | creative_analytics_quarantine,
    ]


@dlt.resource(name="ad_accounts", table_name="linkedin_ads__ad_accounts", columns=_INGESTED_AT, **_ICEBERG)
def ad_accounts(accounts: AccountCache) -> Iterator[list[dict[str, Any]]]:
    """One row per configured ad account and run (name, currency, status)."""
    rows = accounts.rows()
    runs.tally("linkedin_ads", "linkedin_ads__ad_accounts").received += len(rows)
    yield stamp(rows, datetime.now(UTC))


@dlt.resource(name="campaign_groups", table_name="linkedin_ads__campaign_groups", columns=_INGESTED_AT, **_ICEBERG)
def campaign_groups(accounts: AccountCache, client: LinkedInClient) -> Iterator[list[dict[str, Any]]]:
    """Every campaign group (adlake's campaign) of every account, as of this run."""
    yield from entity_pages(accounts, client, "adCampaignGroups", "q=search", "linkedin_ads__campaign_groups")


@dlt.resource(name="campaigns", table_name="linkedin_ads__campaigns", columns=_INGESTED_AT, **_ICEBERG)
def campaigns(accounts: AccountCache, client: LinkedInClient) -> Iterator[list[dict[str, Any]]]:
    """Every campaign (adlake's ad group) of every account, as of this run."""
    yield from entity_pages(accounts, client, "adCampaigns", "q=search", "linkedin_ads__campaigns")


@dlt.resource(name="creatives", table_name="linkedin_ads__creatives", columns=_INGESTED_AT, **_ICEBERG)
def creatives(accounts: AccountCache, client: LinkedInClient) -> Iterator[list[dict[str, Any]]]:
    """Every creative (adlake's ad) of every account, as of this run."""
    yield from entity_pages(accounts, client, "creatives", "q=criteria", "linkedin_ads__creatives")


@dlt.resource(selected=False)
def analytics_pages(
    accounts: AccountCache,
    client: LinkedInClient,
    pivot: str,
    table: str,
    start: tuple[date | None, date],
    end: date | None,
    restatement_days: int,
    days_per_request: int,
    max_elements: int,
) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Daily adAnalytics for one pivot, sorted into rows to load and rows to quarantine.

    Re-reads the restatement window on every run; the last loaded day per account is kept in this
    resource's state. Not loaded itself: a pair of transformers takes its two halves.
    """
    state = dlt.current.resource_state().setdefault("last_date", {})
    accounts.rows()  # unknown accounts fail here with a ConfigError naming them
    until = end or datetime.now(UTC).date()  # LinkedIn's report days are UTC days
    for account_id in accounts.ids:
        last = state.get(account_id)
        window = report_window(*start, until, date.fromisoformat(last) if last else None, restatement_days)
        if window is None:
            continue
        read = WindowRead("linkedin_ads", table, table.split("__", 1)[1], f"account {account_id} {pivot}", window,
                          days_per_request)
        seen: set[tuple[str, str]] = set()
        for since, stop in read.chunks():
            parts = analytics_elements(client, account_id, pivot, since, stop, max_elements)
            for part_since, part_stop, elements in read.guard(since, stop, parts):
                log.info("linkedin_ads: account %s %s analytics %s..%s: %d elements", account_id, pivot,
                         part_since, part_stop, len(elements))
                good, rejected = sort_elements(account_id, pivot, elements, seen, datetime.now(UTC), read.tally,
                                               table)
                yield {"good": good, "rejected": rejected}
            yield {"good": [], "rejected": read.take_rejected()}
        state[account_id] = read.finish(datetime.now(UTC).date(), last)


def _good(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    if page["good"]:
        yield page["good"]


def _rejected(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    if page["rejected"]:
        yield page["rejected"]


@dlt.transformer(name="campaign_analytics_daily", table_name=CAMPAIGN_TABLE, columns=_ANALYTICS_COLUMNS,
                 **_ICEBERG)
def campaign_analytics_daily(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Daily analytics per LinkedIn campaign, every metric merged into one row per (campaign, day)."""
    yield from _good(page)


@dlt.transformer(name="campaign_analytics_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS,
                 **_ICEBERG)
def campaign_analytics_quarantine(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Campaign analytics elements that would not load, with the reason, in ``raw._quarantine``."""
    yield from _rejected(page)


@dlt.transformer(name="creative_analytics_daily", table_name=CREATIVE_TABLE, columns=_ANALYTICS_COLUMNS,
                 **_ICEBERG)
def creative_analytics_daily(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Daily analytics per creative, every metric merged into one row per (creative, day)."""
    yield from _good(page)


@dlt.transformer(name="creative_analytics_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS,
                 **_ICEBERG)
def creative_analytics_quarantine(page: dict[str, list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Creative analytics elements that would not load, with the reason, in ``raw._quarantine``."""
    yield from _rejected(page)

"""dlt source for the Google Ads API: customers, campaigns, ad groups, ads, and daily ad- and campaign-level
performance read with GAQL over ``googleAds:searchStream``.

Configuration follows dlt's convention (``SOURCES__GOOGLE_ADS__<KEY>`` environment variables or
``[sources.google_ads]`` in ``.dlt/config.toml`` / ``secrets.toml``): ``base_url``, ``api_version``,
``access_token``, ``developer_token``, ``login_customer_id``, ``customer_ids``, ``start_date``, ``end_date``,
``conversion_lag_days`` and the tuning keys below.

Raw rows are flat snake_case records: ids as Google's decimal strings, ``impressions``, ``clicks`` and
``cost_micros`` as exact integers (spend = ``cost_micros / 1e6`` in ``currency_code``), conversions as the
doubles Google sends, ``date`` in the customer's ``time_zone``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from pipelines.errors import ConfigError
from pipelines.google_ads import settings as s
from pipelines.google_ads.helpers import (
    GoogleAdsClient,
    Page,
    Window,
    column_hints,
    customer_pages,
    normalize_customer_ids,
)
from pipelines.http import RetryPolicy
from pipelines.quarantine import COLUMNS as QUARANTINE_COLUMNS
from pipelines.quarantine import TABLE as QUARANTINE_TABLE
from pipelines.windows import parse_date

_ICEBERG: dict[str, Any] = {"write_disposition": "append", "table_format": "iceberg"}


@dlt.source(name="google_ads", max_table_nesting=0)
def google_ads(
    customer_ids: Any = None,
    access_token: TSecretStrValue | None = None,
    developer_token: TSecretStrValue | None = None,
    login_customer_id: str | None = None,
    base_url: str = s.DEFAULT_BASE_URL,
    api_version: str = s.DEFAULT_API_VERSION,
    start_date: str | None = None,
    end_date: str | None = None,
    conversion_lag_days: int = s.CONVERSION_LAG_DAYS,
    days_per_request: int = s.DAYS_PER_REQUEST,
    max_attempts: int = 6,
    backoff_base_seconds: float = 2.0,
    timeout_seconds: float = 60.0,
) -> list[DltResource]:
    """Google Ads entities and daily performance for the configured customers.

    Args:
        customer_ids: customer ids, comma-separated or a list (``123-456-7890`` dashes are stripped).
        access_token: an OAuth 2 access token for the Google Ads API (sent as ``Authorization: Bearer``).
        developer_token: the developer token, sent as ``developer-token``.
        login_customer_id: the manager account the customers are reached through, sent as ``login-customer-id``.
        base_url: API root; point it at the sandbox to run offline.
        api_version: API version (``v17``).
        start_date: first report day on the first run (default: 30 days ago); never read before it.
        end_date: last report day (default: today in each customer's time zone).
        conversion_lag_days: days re-read on every run because conversions land on the click day late.
        days_per_request: report days per searchStream request (its whole answer is held in memory).
        max_attempts: attempts per request on quota and transient errors.
        backoff_base_seconds: first retry wait; doubles per attempt, with jitter (Google gives no delay).
        timeout_seconds: per-request timeout.
    """
    for value, key in ((access_token, "ACCESS_TOKEN"), (developer_token, "DEVELOPER_TOKEN")):
        if not value:
            raise ConfigError(f"google_ads: {s.ENV_PREFIX}{key} is not set (or sources.google_ads.{key.lower()})")
    customers = normalize_customer_ids(customer_ids, f"{s.ENV_PREFIX}CUSTOMER_IDS")
    if not customers:
        raise ConfigError(f"google_ads: {s.ENV_PREFIX}CUSTOMER_IDS is not set (or sources.google_ads.customer_ids)")
    login = normalize_customer_ids(login_customer_id, f"{s.ENV_PREFIX}LOGIN_CUSTOMER_ID")
    if len(login) > 1:
        raise ConfigError(f"google_ads: {s.ENV_PREFIX}LOGIN_CUSTOMER_ID takes one manager customer id")
    if not re.fullmatch(r"v\d+", str(api_version)):
        raise ConfigError(f"google_ads: {s.ENV_PREFIX}API_VERSION={api_version!r} is not a version like v17")
    if conversion_lag_days < 1 or days_per_request < 1:
        raise ConfigError(f"google_ads: {s.ENV_PREFIX}CONVERSION_LAG_DAYS and DAYS_PER_REQUEST must be at least 1")
    floor = parse_date(start_date, f"{s.ENV_PREFIX}START_DATE")
    window = Window(
        floor=floor,
        first_start=floor or datetime.now(UTC).date() - timedelta(days=s.DEFAULT_START_DAYS_AGO),
        end=parse_date(end_date, f"{s.ENV_PREFIX}END_DATE"),
        lag_days=conversion_lag_days,
        days_per_request=days_per_request,
    )
    client = GoogleAdsClient(
        base_url=base_url, api_version=str(api_version), access_token=access_token,  # type: ignore[arg-type]
        developer_token=str(developer_token), login_customer_id=login[0] if login else None,
        policy=RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base_seconds, timeout=timeout_seconds),
    )
    pages = google_ads_pages(client, customers, window)
    return [
        pages | customers_table,
        pages | campaigns,
        pages | ad_groups,
        pages | ads,
        pages | ad_performance_daily,
        pages | campaign_performance_daily,
        pages | google_ads_quarantine,
    ]


@dlt.resource(name="google_ads_pages", selected=False)
def google_ads_pages(client: GoogleAdsClient, customers: list[str], window: Window) -> Iterator[Page]:
    """Every customer's entities and daily reports, sorted into rows to load and rows to quarantine.

    Re-reads the conversion lag on every run. Not loaded itself: one transformer per table and the
    quarantine transformer take their parts.
    """
    state = dlt.current.resource_state().setdefault("last_date", {})
    seen: dict[str, set[tuple[Any, ...]]] = {}  # a row met twice in one run loads once
    for customer_id in customers:
        yield from customer_pages(client, customer_id, window, state.setdefault(customer_id, {}), seen)


def _part(page: Page, report: s.Report) -> Iterator[list[dict[str, Any]]]:
    if page["table"] == report.table and page["good"]:
        yield page["good"]


@dlt.transformer(name="customers", table_name=s.CUSTOMERS.table, columns=column_hints(s.CUSTOMERS), **_ICEBERG)
def customers_table(page: Page) -> Iterator[list[dict[str, Any]]]:
    """One row per customer and run: name, currency, time zone, status."""
    yield from _part(page, s.CUSTOMERS)


@dlt.transformer(name="campaigns", table_name=s.CAMPAIGNS.table, columns=column_hints(s.CAMPAIGNS), **_ICEBERG)
def campaigns(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Every campaign of every customer, as of this run (staging keeps the latest version)."""
    yield from _part(page, s.CAMPAIGNS)


@dlt.transformer(name="ad_groups", table_name=s.AD_GROUPS.table, columns=column_hints(s.AD_GROUPS), **_ICEBERG)
def ad_groups(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Every ad group of every customer, as of this run."""
    yield from _part(page, s.AD_GROUPS)


@dlt.transformer(name="ads", table_name=s.ADS.table, columns=column_hints(s.ADS), **_ICEBERG)
def ads(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Every ad (``ad_group_ad``) of every customer, as of this run."""
    yield from _part(page, s.ADS)


@dlt.transformer(name="ad_performance_daily", table_name=s.AD_PERFORMANCE.table,
                 columns=column_hints(s.AD_PERFORMANCE), **_ICEBERG)
def ad_performance_daily(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Daily ad-level performance (campaigns without ads, such as Performance Max, are not in it)."""
    yield from _part(page, s.AD_PERFORMANCE)


@dlt.transformer(name="campaign_performance_daily", table_name=s.CAMPAIGN_PERFORMANCE.table,
                 columns=column_hints(s.CAMPAIGN_PERFORMANCE), **_ICEBERG)
def campaign_performance_daily(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Daily campaign-level performance: the spend of every campaign, with ads or without."""
    yield from _part(page, s.CAMPAIGN_PERFORMANCE)


@dlt.transformer(name="google_ads_quarantine", table_name=QUARANTINE_TABLE, columns=QUARANTINE_COLUMNS, **_ICEBERG)
def google_ads_quarantine(page: Page) -> Iterator[list[dict[str, Any]]]:
    """Rows that would not load, with the reason, in ``raw._quarantine``."""
    if page["rejected"]:
        yield page["rejected"]

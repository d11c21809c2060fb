"""Constants of the Google Ads API (REST, GAQL) as adlake uses it (field notes, section 2.2)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BASE_URL = "https://googleads.googleapis.com"
DEFAULT_API_VERSION = "v17"
ENV_PREFIX = "SOURCES__GOOGLE_ADS__"

# Conversions land on the click day and keep arriving: every run re-reads this many days.
CONVERSION_LAG_DAYS = 14
DEFAULT_START_DAYS_AGO = 30
# searchStream has no paging: a request's whole answer sits in memory, so long windows are split.
DAYS_PER_REQUEST = 30

# Value kinds of a selected field, as the raw column keeps them.
ID = "id"  # int64 id: the decimal string Google sends, required (a row without it is quarantined)
INT64 = "int64"  # int64 metric: parsed to an exact integer (absent = 0, proto3 JSON leaves zeros out)
DOUBLE = "double"  # double metric: a float (absent = 0.0)
DATE = "date"  # segments.date, YYYY-MM-DD in the customer's time zone, required
TEXT = "text"  # strings and enums, as sent (absent = null)


@dataclass(frozen=True)
class Report:
    """One GAQL query and the raw table its rows land in.

    Attributes:
        resource: the dlt resource name (also the quarantine stream).
        table: the raw table.
        source: the GAQL ``FROM`` resource.
        fields: (GAQL field, raw column, kind) in SELECT order.
        by_date: whether rows are daily (``segments.date`` in a closed ``BETWEEN`` range).
    """

    resource: str
    table: str
    source: str
    fields: tuple[tuple[str, str, str], ...]
    by_date: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """Raw columns that identify a row (ids and the date): repeats in one run are dropped."""
        return tuple(column for _, column, kind in self.fields if kind in (ID, DATE))

    def query(self, since: str | None = None, until: str | None = None) -> str:
        """The GAQL text; daily reports take a closed date range (Google rejects open ones)."""
        text = f"SELECT {', '.join(name for name, _, _ in self.fields)} FROM {self.source}"
        if self.by_date:
            text += f" WHERE segments.date BETWEEN '{since}' AND '{until}'"
        return text


_CUSTOMER_OF_ROW = (("customer.id", "customer_id", ID),)
_METRICS = (
    ("segments.date", "date", DATE),
    ("metrics.impressions", "impressions", INT64),
    ("metrics.clicks", "clicks", INT64),
    ("metrics.cost_micros", "cost_micros", INT64),
    ("metrics.conversions", "conversions", DOUBLE),
    ("metrics.conversions_value", "conversions_value", DOUBLE),
    ("metrics.all_conversions", "all_conversions", DOUBLE),
    # Report days and money are the customer's: both travel with every row.
    ("customer.currency_code", "currency_code", TEXT),
    ("customer.time_zone", "time_zone", TEXT),
)

CUSTOMERS = Report("customers", "google_ads__customers", "customer", (
    *_CUSTOMER_OF_ROW,
    ("customer.descriptive_name", "customer_name", TEXT),
    ("customer.currency_code", "currency_code", TEXT),
    ("customer.time_zone", "time_zone", TEXT),
    ("customer.status", "status", TEXT),
))
CAMPAIGNS = Report("campaigns", "google_ads__campaigns", "campaign", (
    *_CUSTOMER_OF_ROW,
    ("campaign.id", "campaign_id", ID),
    ("campaign.name", "campaign_name", TEXT),
    ("campaign.status", "status", TEXT),
    ("campaign.advertising_channel_type", "advertising_channel_type", TEXT),
))
AD_GROUPS = Report("ad_groups", "google_ads__ad_groups", "ad_group", (
    *_CUSTOMER_OF_ROW,
    ("campaign.id", "campaign_id", ID),
    ("ad_group.id", "ad_group_id", ID),
    ("ad_group.name", "ad_group_name", TEXT),
    ("ad_group.status", "status", TEXT),
))
ADS = Report("ads", "google_ads__ads", "ad_group_ad", (
    *_CUSTOMER_OF_ROW,
    ("campaign.id", "campaign_id", ID),
    ("ad_group.id", "ad_group_id", ID),
    ("ad_group_ad.ad.id", "ad_id", ID),
    ("ad_group_ad.ad.name", "ad_name", TEXT),
    ("ad_group_ad.status", "status", TEXT),
))
AD_PERFORMANCE = Report("ad_performance_daily", "google_ads__ad_performance_daily", "ad_group_ad", (
    *_CUSTOMER_OF_ROW,
    ("campaign.id", "campaign_id", ID),
    ("ad_group.id", "ad_group_id", ID),
    ("ad_group_ad.ad.id", "ad_id", ID),
    *_METRICS,
), by_date=True)
# Performance Max (and other campaigns without ads) spend only shows at campaign level: load it apart.
CAMPAIGN_PERFORMANCE = Report("campaign_performance_daily", "google_ads__campaign_performance_daily", "campaign", (
    *_CUSTOMER_OF_ROW,
    ("campaign.id", "campaign_id", ID),
    *_METRICS,
), by_date=True)

ENTITIES = (CUSTOMERS, CAMPAIGNS, AD_GROUPS, ADS)
REPORTS = (AD_PERFORMANCE, CAMPAIGN_PERFORMANCE)

# google.rpc statuses worth another try (RESOURCE_EXHAUSTED is the quota signal, with HTTP 429).
RETRY_STATUSES = frozenset({"RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED"})
# GoogleAdsError codes about one customer (not the credentials): the customer id or the manager is wrong.
CUSTOMER_CODES = frozenset({"USER_PERMISSION_DENIED", "CUSTOMER_NOT_ENABLED", "CUSTOMER_NOT_FOUND",
                            "CLIENT_CUSTOMER_ID_INVALID"})

"""Constants of the AppsFlyer raw-data Pull API as adlake uses it (field notes, section 2.6)."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://hq1.appsflyer.com"
ENV_PREFIX = "SOURCES__APPSFLYER__"
EXPORT_PATH = "api/raw-data/export/app/{app_id}/{report}/v5"

# Late events and re-attributions keep landing for a day or two: every run re-reads that window.
RESTATEMENT_DAYS = 2
DEFAULT_START_DAYS_AGO = 30
DEFAULT_TIMEZONE = "UTC"
MAXIMUM_ROWS = 1_000_000
# Raw data is kept for 90 days; one day of margin keeps a request near midnight inside it.
HISTORY_DAYS = 90
# Report -> (raw table, dlt resource name, most days per call).
REPORTS: dict[str, tuple[str, str, int]] = {
    "installs_report": ("appsflyer__installs", "installs", 60),
    "in_app_events_report": ("appsflyer__in_app_events", "in_app_events", 31),
}

# AppsFlyer writes "no value" three ways; all of them land as null.
EMPTY_VALUES = frozenset({"", "N/A", "NULL"})
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M")

KNOWN_COLUMNS = frozenset({
    "attributed_touch_type", "attributed_touch_time", "install_time", "event_time", "event_name", "event_value",
    "event_revenue", "event_revenue_currency", "event_revenue_usd", "media_source", "campaign", "campaign_id",
    "adset", "adset_id", "ad", "ad_id", "channel", "country_code", "appsflyer_id", "advertising_id", "idfa",
    "idfv", "android_id", "customer_user_id", "platform", "is_retargeting", "is_primary_attribution", "app_id",
    "conversion_type", "app_version", "os_version", "partner",
})
TEXT_COLUMNS = (
    "event_time", "install_time", "attributed_touch_time", "event_name", "event_value", "event_revenue",
    "event_revenue_currency", "event_revenue_usd", "media_source", "campaign", "campaign_id", "appsflyer_id",
    "customer_user_id", "advertising_id", "is_retargeting", "is_primary_attribution",
)
KEY_COLUMNS = ("appsflyer_id", "event_time", "event_name")
DECIMAL_COLUMNS = ("event_revenue", "event_revenue_usd")
# The columns whose values identify one event (primary and retargeting copies differ in the last one).
DEDUP_COLUMNS = ("appsflyer_id", "event_name", "event_time", "event_value", "is_primary_attribution")

QUOTA_MESSAGE = "API calls limit has been reached"
AGGREGATE_LIMIT_MESSAGE = "Limit reached for"
AGGREGATE_LIMIT_WAIT_SECONDS = 60.0

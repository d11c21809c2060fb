"""Constants of the TikTok Business API as adlake uses it (see field notes, section 2.4)."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://business-api.tiktok.com"
API_ROOT = "open_api/v1.3"
ENV_PREFIX = "SOURCES__TIKTOK_ADS__"

# TikTok keeps adding conversions to a day while its attribution windows are open (7-day click):
# every run re-reads this many days, ending with the last day loaded before.
ATTRIBUTION_WINDOW_DAYS = 7
DEFAULT_START_DAYS_AGO = 30
# The API refuses daily reports spanning more than 30 days.
MAX_DAYS_PER_REQUEST = 30
DAYS_PER_REQUEST = 30
PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000

# Envelope codes: errors arrive as HTTP 200 with ``code != 0``.
CODE_OK = 0
CODE_NO_PERMISSION = 40001  # advertiser unknown or not granted to the token
CODE_BAD_PARAMETER = 40002
CODE_RATE_LIMITED = 40100
AUTH_CODES = frozenset({40104, 40105})  # token missing / incorrect or revoked

REPORT_PATH = "report/integrated/get/"
ADVERTISER_PATH = "advertiser/info/"
CAMPAIGN_PATH = "campaign/get/"
AD_GROUP_PATH = "adgroup/get/"
AD_PATH = "ad/get/"

REPORT_DATA_LEVEL = "AUCTION_AD"
REPORT_DIMENSIONS = ("ad_id", "stat_time_day")
REPORT_METRICS = (
    "spend", "impressions", "clicks", "ctr", "cpc", "cpm", "conversion", "cost_per_conversion",
    "conversion_rate", "total_conversion_value", "campaign_id", "campaign_name", "adgroup_id",
    "adgroup_name", "ad_name",
)
# Columns of a flattened report row; anything else TikTok sends is loaded and reported as a new field.
REPORT_KEY_FIELDS = ("advertiser_id", "ad_id", "stat_time_day")
KNOWN_REPORT_FIELDS = frozenset({*REPORT_KEY_FIELDS, "report_date", *REPORT_METRICS})

# Report metrics arrive as strings; these must parse or the row is quarantined ("-" means n/a).
REPORT_INTEGER_FIELDS = ("impressions", "clicks", "conversion")
REPORT_DECIMAL_FIELDS = ("spend", "total_conversion_value", "ctr", "cpc", "cpm", "cost_per_conversion",
                         "conversion_rate")
NOT_AVAILABLE = "-"

"""Constants of the Meta Marketing API as adlake uses it (see field notes, section 2.1)."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
ENV_PREFIX = "SOURCES__META_ADS__"

# Meta freezes insights 28 days after they are generated: every run re-reads that window.
ATTRIBUTION_WINDOW_DAYS = 28
DEFAULT_START_DAYS_AGO = 30
DAYS_PER_REQUEST = 30
PAGE_LIMIT = 500

ACCOUNT_FIELDS = ("id", "account_id", "name", "currency", "timezone_name", "account_status")
CAMPAIGN_FIELDS = (
    "id", "account_id", "name", "objective", "status", "effective_status",
    "daily_budget", "lifetime_budget", "created_time", "updated_time",
)
AD_SET_FIELDS = (
    "id", "account_id", "campaign_id", "name", "status", "effective_status", "daily_budget",
    "bid_amount", "optimization_goal", "billing_event", "created_time", "updated_time",
)
AD_FIELDS = ("id", "account_id", "campaign_id", "adset_id", "name", "status", "effective_status",
             "created_time", "updated_time")
INSIGHT_FIELDS = (
    "account_id", "account_name", "account_currency", "campaign_id", "campaign_name", "adset_id",
    "adset_name", "ad_id", "ad_name", "date_start", "date_stop", "impressions", "clicks",
    "inline_link_clicks", "spend", "reach", "frequency", "actions", "action_values",
)
# Anything else Meta sends is loaded all the same and reported as a new field in raw._ingest_runs.
KNOWN_INSIGHT_FIELDS = frozenset(INSIGHT_FIELDS)
ACTION_ATTRIBUTION_WINDOWS = ("1d_click", "7d_click", "28d_click", "1d_view")

# Insights numbers arrive as strings; these must parse or the row is quarantined.
INSIGHT_INTEGER_FIELDS = ("impressions", "clicks", "inline_link_clicks", "reach")
INSIGHT_DECIMAL_FIELDS = ("spend", "frequency")
INSIGHT_KEY_FIELDS = ("account_id", "ad_id", "date_start")

# Error codes Meta uses for throttling (app, user/account, page, custom, Business Use Case).
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
# Transient server-side codes worth another try.
TRANSIENT_CODES = frozenset({1, 2})
AUTH_CODES = frozenset({102, 190})

# Above this share of any usage budget we pause before the platform blocks us.
USAGE_THRESHOLD_PCT = 90.0
MAX_THROTTLE_WAIT_SECONDS = 300.0

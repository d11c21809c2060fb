"""Constants of the LinkedIn Marketing API as adlake uses it (see field notes, section 2.3)."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.linkedin.com"
# LinkedIn serves each monthly version for about a year; move this forward when it ages out
# (or set SOURCES__LINKEDIN_ADS__API_VERSION).
DEFAULT_API_VERSION = "202610"
ENV_PREFIX = "SOURCES__LINKEDIN_ADS__"
RESTLI_PROTOCOL_VERSION = "2.0.0"

# Days re-read on every run, ending with the last day loaded before: conversions restate for as long
# as LinkedIn's click-through window, 30 days by default.
RESTATEMENT_DAYS = 30
DEFAULT_START_DAYS_AGO = 30
DAYS_PER_REQUEST = 30
# adAnalytics has no pagination and answers at most ~15,000 elements: a window that comes back
# that full is split in half and asked again.
MAX_ELEMENTS_PER_RESPONSE = 15000
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

URN_ACCOUNT = "urn:li:sponsoredAccount:"

# adAnalytics takes at most 20 fields per call: metrics go in chunks of 18 next to the two keys.
MAX_FIELDS_PER_CALL = 20
KEY_FIELDS = ("dateRange", "pivotValues")
METRICS_PER_CALL = MAX_FIELDS_PER_CALL - len(KEY_FIELDS)
ANALYTICS_METRICS = (
    "impressions", "clicks", "landingPageClicks", "totalEngagements", "costInLocalCurrency", "costInUsd",
    "externalWebsiteConversions", "externalWebsitePostClickConversions", "externalWebsitePostViewConversions",
    "conversionValueInLocalCurrency", "oneClickLeads", "oneClickLeadFormOpens", "likes", "comments", "shares",
    "follows", "reactions", "otherEngagements", "videoViews", "videoStarts", "videoCompletions",
)
# Money arrives as decimal strings, counts as numbers; both must parse or the row is quarantined.
DECIMAL_METRICS = ("costInLocalCurrency", "costInUsd", "conversionValueInLocalCurrency")
INTEGER_METRICS = tuple(m for m in ANALYTICS_METRICS if m not in DECIMAL_METRICS)
# Columns adlake adds to every analytics row.
DERIVED_FIELDS = ("account_id", "pivot", "pivot_value", "report_date")
KNOWN_ANALYTICS_FIELDS = frozenset({*KEY_FIELDS, *ANALYTICS_METRICS, *DERIVED_FIELDS})

# Error codes.
AUTH_CODES = frozenset({"INVALID_ACCESS_TOKEN", "EXPIRED_ACCESS_TOKEN", "REVOKED_ACCESS_TOKEN"})
AUTH_SERVICE_CODES = frozenset({65600, 65601, 65602})
VERSION_CODES = frozenset({"VERSION_MISSING", "NONEXISTENT_VERSION"})
# A 429 "... DAY limit" only clears at 00:00 UTC (a data-volume 429 after about 5 minutes): the
# client retries with backoff up to MAX_ATTEMPTS and then fails transient, so the schedule retries later.

"""Constants of the Microsoft Advertising Reporting API v13 as adlake uses it (field notes, section 2.5)."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://reporting.api.bingads.microsoft.com"
ENV_PREFIX = "SOURCES__MICROSOFT_ADS__"
SUBMIT_PATH = "Reporting/v13/GenerateReport/Submit"
POLL_PATH = "Reporting/v13/GenerateReport/Poll"

# Conversions keep arriving for 30 days after the click: every run re-reads that window.
RESTATEMENT_DAYS = 30
DEFAULT_START_DAYS_AGO = 30
POLL_INTERVAL_SECONDS = 5.0
MAX_POLLS = 120

# Report request type -> (raw table, dlt resource name, columns asked for, key columns of one row).
_COMMON_HEAD = ("TimePeriod", "AccountId", "AccountName", "CurrencyCode", "CampaignId", "CampaignName")
_MEASURES = ("Impressions", "Clicks", "Ctr", "AverageCpc", "Spend", "Conversions", "ViewThroughConversions",
             "Revenue")
REPORTS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "CampaignPerformanceReportRequest": (
        "microsoft_ads__campaign_performance_daily", "campaign_performance_daily",
        (*_COMMON_HEAD, *_MEASURES), ("AccountId", "CampaignId", "TimePeriod")),
    "AdGroupPerformanceReportRequest": (
        "microsoft_ads__ad_group_performance_daily", "ad_group_performance_daily",
        (*_COMMON_HEAD, "AdGroupId", "AdGroupName", *_MEASURES), ("AccountId", "AdGroupId", "TimePeriod")),
    "AdPerformanceReportRequest": (
        "microsoft_ads__ad_performance_daily", "ad_performance_daily",
        (*_COMMON_HEAD, "AdGroupId", "AdGroupName", "AdId", "AdTitle", *_MEASURES),
        ("AccountId", "AdId", "TimePeriod")),
}

# Values that must parse or the row is quarantined (kept as the CSV's strings all the same).
INTEGER_COLUMNS = ("Impressions", "Clicks", "Conversions", "ViewThroughConversions")
DECIMAL_COLUMNS = ("Spend", "Revenue", "AverageCpc")

# Fault codes (Microsoft Advertising operation error codes).
THROTTLE_CODES = frozenset({117})
AUTH_CODES = frozenset({105, 109})
NOT_AUTHORIZED_CODE = 106
INTERNAL_CODES = frozenset({0})

# ReportTimeZone enum name -> IANA zone, used to know "today" in the account's report days.
TIME_ZONES: dict[str, str] = {
    "AmsterdamBerlinBernRomeStockholmVienna": "Europe/Berlin",
    "BelgradeBratislavaBudapestLjubljanaPrague": "Europe/Prague",
    "BrusselsCopenhagenMadridParis": "Europe/Madrid",
    "SarajevoSkopjeWarsawZagreb": "Europe/Warsaw",
    "GreenwichMeanTimeDublinEdinburghLisbonLondon": "Europe/London",
    "EasternTimeUSCanada": "America/New_York",
    "CentralTimeUSCanada": "America/Chicago",
    "MountainTimeUSCanada": "America/Denver",
    "PacificTimeUSCanadaTijuana": "America/Los_Angeles",
}

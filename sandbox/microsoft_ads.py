"""Emulation of the Microsoft Advertising Reporting API v13 (JSON REST flavour) over the simulated world.

The flow is the real one: ``POST GenerateReport/Submit`` returns a ``ReportRequestId``; ``POST
GenerateReport/Poll`` answers ``Pending`` for the first ``pending_polls`` polls, then ``Success`` with a
download URL; ``GET`` on that URL returns a ZIP archive holding one CSV (or TSV) file.

Faithful where a connector depends on it: only the requested columns, in the requested order; every CSV
field quoted; the report header (``"Report Name: ..."`` ... ``"Rows: N"`` and a blank line) and the copyright
footer unless excluded; daily rows only for delivered entity-days; money as decimals with two places, exact
from integer cents; a ``null`` download URL when the report has no rows; ``ApiFaultDetail`` /
``AdApiFaultDetail`` envelopes with the documented codes; conversions as ``world.reported`` gives them on the
clock of the Submit, so recent days restate (Microsoft's 30-day click window).

Sandbox limits, each answered with an error rather than silently wrong data: custom date ranges only (no
``PredefinedTime``), ``Daily`` and ``Summary`` aggregation only, account scope only (no campaign or ad group
scope, no ``Filter``), ``Csv`` and ``Tsv`` only, and the account's own time zone only: the world's days are
the account's local days and cannot be re-bucketed into another zone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.server import Clock, Request, Response
from sandbox.world import Ad, AdAccount, Reported, World

DEFAULT_TOKEN = "sandbox-microsoft-token"
DEFAULT_DEVELOPER_TOKEN = "sandbox-microsoft-developer-token"
# The real service asks to wait "a minute"; a short hint keeps retrying clients and tests quick.
RETRY_AFTER_SECONDS = 1

PLATFORM = "microsoft_ads"
_SUBMIT = "/Reporting/v13/GenerateReport/Submit"
_POLL = "/Reporting/v13/GenerateReport/Poll"
_DOWNLOAD = re.compile(r"^/ReportDownloads/(?P<id>\d{1,40})\.zip$")

# Report request type -> (depth of its rows in the hierarchy, default report name).
_REPORT_TYPES: dict[str, tuple[int, str]] = {
    "CampaignPerformanceReportRequest": (1, "Campaign Performance Report"),
    "AdGroupPerformanceReportRequest": (2, "Ad Group Performance Report"),
    "AdPerformanceReportRequest": (3, "Ad Performance Report"),
}
_AGGREGATIONS = ("Daily", "Summary")
# Valid ReportAggregation values the sandbox does not emulate (the world has no hours, weeks are not needed yet).
_OTHER_AGGREGATIONS = ("Hourly", "HourOfDay", "DayOfWeek", "Weekly", "WeeklyStartingMonday", "Monthly", "Yearly")
_FORMATS = {"Csv": ",", "Tsv": "\t"}

# ReportTimeZone values for the zones of the world's accounts: enum name -> (report header text, IANA zone).
_TIME_ZONES: dict[str, tuple[str, str]] = {
    "AmsterdamBerlinBernRomeStockholmVienna": ("(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
                                               "Europe/Berlin"),
    "BelgradeBratislavaBudapestLjubljanaPrague": ("(GMT+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague",
                                                  "Europe/Prague"),
    "BrusselsCopenhagenMadridParis": ("(GMT+01:00) Brussels, Copenhagen, Madrid, Paris", "Europe/Madrid"),
    "SarajevoSkopjeWarsawZagreb": ("(GMT+01:00) Sarajevo, Skopje, Warsaw, Zagreb", "Europe/Warsaw"),
    "GreenwichMeanTimeDublinEdinburghLisbonLondon": (
        "(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London", "Europe/London"),
    "EasternTimeUSCanada": ("(GMT-05:00) Eastern Time (US & Canada)", "America/New_York"),
    "CentralTimeUSCanada": ("(GMT-06:00) Central Time (US & Canada)", "America/Chicago"),
    "MountainTimeUSCanada": ("(GMT-07:00) Mountain Time (US & Canada)", "America/Denver"),
    "PacificTimeUSCanadaTijuana": ("(GMT-08:00) Pacific Time (US & Canada); Tijuana", "America/Los_Angeles"),
}
_ZONE_BY_IANA = {iana: name for name, (_, iana) in _TIME_ZONES.items()}


def report_time_zone(account: AdAccount) -> str:
    """Microsoft's ``ReportTimeZone`` name for an account's IANA zone (what a connector should send)."""
    return _ZONE_BY_IANA[account.timezone]


def money(cents: int) -> str:
    """Microsoft's report money: ``"143.27"`` (no thousands separator, FormatVersion 2.0)."""
    return f"{cents // 100}.{cents % 100:02d}"


def _rounded(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, in integers (exact, unlike floats)."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass
class _Totals:
    """Metrics summed over the ad-days of one report row."""

    impressions: int = 0
    clicks: int = 0
    spend_cents: int = 0
    conversions: int = 0
    view_through: int = 0
    revenue_cents: int = 0

    def add(self, reported: Reported) -> None:
        """Add one ad-day as the platform reports it."""
        self.impressions += reported.delivery.impressions
        self.clicks += reported.delivery.clicks
        self.spend_cents += reported.delivery.spend_cents
        # Microsoft's Conversions are post-click; view-through conversions have their own column.
        self.conversions += reported.click_conversions
        self.view_through += reported.view_conversions
        # The world values click and view conversions together; Revenue carries that whole value.
        self.revenue_cents += reported.conversion_value_cents


@dataclass(frozen=True)
class _Row:
    """One report row: a day (None for Summary), an ad standing for the row's entity, and its totals."""

    day: date | None
    ad: Ad
    totals: _Totals

    @property
    def account(self) -> AdAccount:
        """The row's account."""
        return self.ad.ad_group.campaign.account


def _ctr(t: _Totals) -> str:
    return f"{money(_rounded(t.clicks * 10_000, t.impressions))}%" if t.impressions else "0.00%"


def _average_cpc(t: _Totals) -> str:
    return money(_rounded(t.spend_cents, t.clicks)) if t.clicks else "0.00"


def _account_number(account: AdAccount) -> str:
    # Microsoft shows an 8-character account number next to the numeric id; derive a stable one.
    return "F" + hashlib.sha256(account.account_id.encode()).hexdigest()[:7].upper()


# Column -> (shallowest report depth that has it, how a row renders it).
_COLUMNS: dict[str, tuple[int, Callable[[_Row], str]]] = {
    "TimePeriod": (1, lambda r: r.day.isoformat() if r.day else ""),
    "AccountId": (1, lambda r: r.account.account_id),
    "AccountName": (1, lambda r: r.account.name),
    "AccountNumber": (1, lambda r: _account_number(r.account)),
    "CurrencyCode": (1, lambda r: r.account.currency),
    "CampaignId": (1, lambda r: r.ad.ad_group.campaign.campaign_id),
    "CampaignName": (1, lambda r: r.ad.ad_group.campaign.name),
    "AdGroupId": (2, lambda r: r.ad.ad_group.ad_group_id),
    "AdGroupName": (2, lambda r: r.ad.ad_group.name),
    "AdId": (3, lambda r: r.ad.ad_id),
    "AdTitle": (3, lambda r: r.ad.name),
    "Impressions": (1, lambda r: str(r.totals.impressions)),
    "Clicks": (1, lambda r: str(r.totals.clicks)),
    "Ctr": (1, lambda r: _ctr(r.totals)),
    "AverageCpc": (1, lambda r: _average_cpc(r.totals)),
    "Spend": (1, lambda r: money(r.totals.spend_cents)),
    "Conversions": (1, lambda r: str(r.totals.conversions)),
    "ViewThroughConversions": (1, lambda r: str(r.totals.view_through)),
    "Revenue": (1, lambda r: money(r.totals.revenue_cents)),
}
_MEASURES = frozenset({"Impressions", "Clicks", "Ctr", "AverageCpc", "Spend", "Conversions",
                       "ViewThroughConversions", "Revenue"})


class _FaultError(Exception):
    """A request the service refuses; carries the platform's error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _tracking_id(*parts: object) -> str:
    """A GUID-shaped tracking id, stable for the same request (real ones are random)."""
    h = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _api_fault(status: int, code: int, error_code: str, message: str, *, details: str | None = None,
               seed: str = "", headers: dict[str, str] | None = None) -> Response:
    """The Reporting service's own errors (bad request shapes, report ids, rate limits)."""
    tracking = _tracking_id("api", code, seed)
    body = {"TrackingId": tracking, "Type": "ApiFaultDetail", "BatchErrors": [],
            "OperationErrors": [{"Code": code, "Details": details, "ErrorCode": error_code, "Message": message,
                                 "Type": "OperationError"}]}
    return Response.json(status, body, {"TrackingId": tracking, **(headers or {})})


def _ad_api_fault(status: int, code: int, error_code: str, message: str, *, seed: str = "") -> Response:
    """Generic Ad API errors shared by every Microsoft Advertising service (authentication, internal)."""
    tracking = _tracking_id("adapi", code, seed)
    body = {"TrackingId": tracking, "Type": "AdApiFaultDetail",
            "Errors": [{"Code": code, "Detail": None, "ErrorCode": error_code, "Message": message,
                        "Type": "AdApiError"}]}
    return Response.json(status, body, {"TrackingId": tracking})


def _bad_request(code: int, error_code: str, message: str, details: str | None = None) -> _FaultError:
    return _FaultError(_api_fault(400, code, error_code, message, details=details, seed=f"{message}|{details}"))


def _null_request(details: str) -> _FaultError:
    # A body the service cannot deserialize (wrong shape, unknown enum value) reaches it as a null request.
    return _bad_request(100, "NullRequest", "The request message is null.", details)


@dataclass(frozen=True)
class _ReportSpec:
    """A validated report request."""

    report_type: str
    name: str
    aggregation: str
    columns: tuple[str, ...]
    accounts: tuple[AdAccount, ...]
    start: date
    end: date
    time_zone: str
    delimiter: str
    exclude_column_headers: bool
    exclude_header: bool
    exclude_footer: bool

    @property
    def depth(self) -> int:
        """1 for campaign rows, 2 for ad group rows, 3 for ad rows."""
        return _REPORT_TYPES[self.report_type][0]


@dataclass
class _ReportJob:
    """A submitted report: what was asked, the clock it was asked under, and how often it was polled."""

    spec: _ReportSpec
    as_of: date
    polls: int = 0
    archive: bytes | None = None  # built on the first successful poll
    rows: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class MicrosoftAdsApp:
    """The Reporting API v13: SubmitGenerateReport, PollGenerateReport and the report download."""

    prefix = "/microsoft"
    platform = PLATFORM

    def __init__(self, world: World, clock: Clock, *, token: str = DEFAULT_TOKEN,
                 developer_token: str = DEFAULT_DEVELOPER_TOKEN, pending_polls: int = 1) -> None:
        self.world = world
        self.clock = clock
        self.token = token
        self.developer_token = developer_token
        self.pending_polls = pending_polls
        self.retry_after_seconds = RETRY_AFTER_SECONDS
        self._jobs: dict[str, _ReportJob] = {}
        self._lock = threading.Lock()

    # -- HTTP ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer one request."""
        routes: dict[str, Callable[[Request], Response]] = {_SUBMIT: self._submit, _POLL: self._poll}
        try:
            if request.path in routes:
                if request.method != "POST":
                    return Response.json(405, {"Message": f"The requested resource does not support http method "
                                                          f"'{request.method}'."})
                self._authenticate(request)
                return routes[request.path](request)
            match = _DOWNLOAD.match(request.path)
            if match is not None and request.method == "GET":
                return self._download(match["id"])
            return self.not_found(request)
        except _FaultError as fault:
            return fault.response

    def not_found(self, request: Request) -> Response:
        """ASP.NET Web API's answer for a route it does not have (the REST endpoints run on it)."""
        return Response.json(404, {"Message": "No HTTP resource was found that matches the request URI "
                                              f"'{request.base_url}{request.path}'."})

    def fault_response(self, kind: str, request: Request) -> Response:
        """The platform's own way of saying ``kind`` (throttle, server_error, auth_expired)."""
        seed = f"{kind}|{request.path}"
        if kind == "throttle":
            return _api_fault(429, 117, "CallRateExceeded",
                              "You have exceeded the number of calls that you are allowed to make in a minute. "
                              "Please reduce the number of calls that you make per minute.",
                              seed=seed, headers={"Retry-After": str(self.retry_after_seconds)})
        if kind == "auth_expired":
            return _ad_api_fault(401, 109, "AuthenticationTokenExpired",
                                 "Authentication token expired. Please renew it or obtain a new token.", seed=seed)
        return _ad_api_fault(500, 0, "InternalError", "An internal error has occurred.", seed=seed)

    # -- authentication -------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> None:
        """Refuse callers without valid tokens, then callers not managing the account they act for."""
        bearer = request.headers.get("authorization", "")
        supplied = bearer.removeprefix("Bearer ").strip() if bearer.startswith("Bearer ") else None
        if supplied != self.token or request.headers.get("developertoken") != self.developer_token:
            raise _FaultError(_ad_api_fault(
                401, 105, "InvalidCredentials",
                "Authentication failed. Either supplied credentials are invalid or the account is inactive.",
                seed=request.path))
        customer, account_id = request.headers.get("customerid"), request.headers.get("customeraccountid")
        if not customer or not account_id:
            raise _FaultError(_ad_api_fault(400, 116, "RequestMissingHeaders",
                                            "One or more required header elements are missing from the request.",
                                            seed=request.path))
        account = self.world.account(PLATFORM, account_id)
        # The customer id is the world's business id of the account (the manager of the account).
        if account is None or account.business_id != customer:
            raise _FaultError(_ad_api_fault(401, 106, "UserIsNotAuthorized",
                                            "The user is not authorized to perform this action.",
                                            seed=f"{customer}|{account_id}"))

    # -- operations -----------------------------------------------------------------------------
    def _submit(self, request: Request) -> Response:
        body = _json_object(request.body)
        raw = body.get("ReportRequest")
        if not isinstance(raw, dict):
            raise _null_request("ReportRequest is missing or is not an object.")
        spec = _parse_report_request(raw, self.world, self.clock.as_of, request.headers["customerid"])
        as_of = self.clock.as_of
        # Same request under the same clock, same id: reruns are reproducible byte for byte.
        canonical = json.dumps({"request": raw, "as_of": as_of.isoformat(),
                                "customer": request.headers["customerid"]}, sort_keys=True)
        digest = int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big")
        report_id = str(10**19 + digest % (9 * 10**19))  # 20 digits, no leading zero
        with self._lock:
            # Resubmitting starts the job over, so every Submit -> Poll sequence looks the same.
            self._jobs[report_id] = _ReportJob(spec, as_of)
        return Response.json(200, {"ReportRequestId": report_id})

    def _poll(self, request: Request) -> Response:
        report_id = _json_object(request.body).get("ReportRequestId")
        if not isinstance(report_id, str) or not report_id:
            raise _null_request("ReportRequestId is missing or is not a string.")
        with self._lock:
            job = self._jobs.get(report_id)
        if job is None:
            raise _bad_request(2100, "ReportingServiceInvalidReportId", "The report identifier is not valid.",
                               report_id)
        with job.lock:
            job.polls += 1
            if job.polls <= self.pending_polls:
                return Response.json(200, {"ReportRequestStatus": {"Status": "Pending"}})
            if job.archive is None:
                job.archive, job.rows = self._build(report_id, job)
        # A successful report without rows has no file to download, as in the real service.
        url = f"{request.base_url}/ReportDownloads/{report_id}.zip" if job.rows else None
        return Response.json(200, {"ReportRequestStatus": {"ReportDownloadUrl": url, "Status": "Success"}})

    def _download(self, report_id: str) -> Response:
        with self._lock:
            job = self._jobs.get(report_id)
        if job is None or job.archive is None or not job.rows:
            # Download URLs point at blob storage, which answers in its own XML.
            body = (b'<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code>'
                    b"<Message>The specified blob does not exist.</Message></Error>")
            return Response(404, body, {"Content-Type": "application/xml"})
        return Response(200, job.archive, {"Content-Type": "application/zip",
                                           "Content-Disposition": f'attachment; filename="{report_id}.zip"'})

    # -- report ---------------------------------------------------------------------------------
    def _build(self, report_id: str, job: _ReportJob) -> tuple[bytes, int]:
        """The zipped report file and its number of data rows."""
        rows = self._rows(job.spec, job.as_of)
        text = _render(job.spec, rows, job.as_of)
        return _zip(f"{report_id}.csv", text.encode("utf-8"), job.as_of), len(rows)

    def _rows(self, spec: _ReportSpec, as_of: date) -> list[_Row]:
        """Report rows: reported ad-days summed to the report's depth, per day unless Summary."""
        totals: dict[tuple[Any, ...], _Totals] = {}
        representative: dict[tuple[Any, ...], Ad] = {}
        days = list(_days(spec.start, min(spec.end, as_of)))
        for account in spec.accounts:
            for ad in self.world.all_ads(account):
                for day in days:
                    reported = self.world.reported(ad, day, as_of)
                    if reported is None:
                        continue
                    key = (day if spec.aggregation == "Daily" else None, *_entity_key(ad, spec.depth))
                    representative.setdefault(key, ad)
                    totals.setdefault(key, _Totals()).add(reported)
        rows = [_Row(key[0], representative[key], t) for key, t in totals.items()]
        # Day-major, then the hierarchy's own order (dicts keep insertion order; the sort is stable).
        return sorted(rows, key=lambda r: r.day or date.min)


def _entity_key(ad: Ad, depth: int) -> tuple[str, ...]:
    ids = (ad.ad_group.campaign.account.account_id, ad.ad_group.campaign.campaign_id, ad.ad_group.ad_group_id,
           ad.ad_id)
    return ids[: depth + 1]


def _days(start: date, end: date) -> Iterable[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _null_request(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise _null_request("The request body is not a JSON object.")
    return parsed


# -- request validation ---------------------------------------------------------------------------
def _parse_report_request(raw: dict[str, Any], world: World, as_of: date, customer: str) -> _ReportSpec:
    """Check a ReportRequest the way the service does, with its error codes; return what it asks for."""
    report_type = raw.get("Type")
    if report_type not in _REPORT_TYPES:
        raise _bad_request(2002, "ReportingServiceUnknownReportType", "The report request type is not valid.",
                           f"Supported by the sandbox: {', '.join(_REPORT_TYPES)}; got {report_type!r}.")
    aggregation = _aggregation(raw.get("Aggregation"))
    if raw.get("Filter"):
        raise _null_request("Filter: the sandbox does not emulate report filters.")
    accounts = _scope_accounts(raw.get("Scope"), world, customer)
    start, end = _time_range(raw.get("Time"), as_of)
    if raw.get("ReturnOnlyCompleteData") and end > as_of:
        raise _bad_request(2004, "ReportingServiceNoCompleteDataAvaliable",
                           "You requested a report with complete data for all included campaigns. Currently only "
                           "partial data is available in the respective time zone of one or more campaigns. "
                           "Please try again later or submit a report request for partial data.")
    return _ReportSpec(
        report_type=report_type,
        name=str(raw.get("ReportName") or _REPORT_TYPES[report_type][1]),
        aggregation=aggregation,
        columns=_columns(raw.get("Columns"), report_type, aggregation),
        accounts=accounts,
        start=start,
        end=end,
        time_zone=_time_zone((raw.get("Time") or {}).get("ReportTimeZone"), accounts),
        delimiter=_delimiter(raw.get("Format")),
        exclude_column_headers=bool(raw.get("ExcludeColumnHeaders")),
        exclude_header=bool(raw.get("ExcludeReportHeader")),
        exclude_footer=bool(raw.get("ExcludeReportFooter")),
    )


def _aggregation(value: object) -> str:
    if value in _AGGREGATIONS:
        return str(value)
    if value in _OTHER_AGGREGATIONS:
        raise _bad_request(2059, "UnsuportedTimeGrain", "The report type does not support the specified time grain.",
                           f"The sandbox emulates {' and '.join(_AGGREGATIONS)} aggregation only.")
    if value is None:
        raise _bad_request(2007, "ReportingServiceInvalidReportAggregation",
                           "The report aggregation is not valid for the specified report time period.")
    raise _null_request(f"Aggregation: {value!r} is not a valid ReportAggregation.")


def _delimiter(value: object) -> str:
    fmt = value or "Csv"  # Csv is the service's default format
    if fmt not in _FORMATS:
        raise _null_request(f"Format: the sandbox writes Csv and Tsv reports only; got {fmt!r}.")
    return _FORMATS[str(fmt)]


def _columns(value: object, report_type: str, aggregation: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _bad_request(2014, "ReportingServiceNullColumns",
                           "The list of columns to include in the report cannot be null or empty.")
    depth = _REPORT_TYPES[report_type][0]
    column_type = report_type.removesuffix("Request") + "Column"
    unknown = [c for c in value if not isinstance(c, str) or c not in _COLUMNS or _COLUMNS[c][0] > depth]
    if unknown:
        raise _null_request(f"Columns: {', '.join(map(str, unknown))} is not a valid {column_type} value.")
    duplicates = sorted({c for c in value if value.count(c) > 1})
    if duplicates:
        raise _bad_request(2016, "ReportingServiceDuplicateColumns",
                           "The list of columns to include in the report contains duplicate.", ",".join(duplicates))
    if aggregation == "Summary" and "TimePeriod" in value:
        raise _bad_request(2034, "ReportingServiceInvalidTimePeriodColumnForSummaryReport",
                           "The TimePeriod column cannot be specified in a report request that has a summary "
                           "aggregation.")
    if not _MEASURES & set(value):
        raise _bad_request(2017, "ReportingServiceNoMeasureSelected",
                           "The report request does not specify at least one measurement column.")
    return tuple(value)


def _scope_accounts(scope: object, world: World, customer: str) -> tuple[AdAccount, ...]:
    if not isinstance(scope, dict) or not isinstance(scope.get("AccountIds"), list) or not scope["AccountIds"]:
        raise _bad_request(2026, "ReportingServiceInvalidAccountReportScope",
                           "The account report scope does not contain account identifiers.")
    if scope.get("Campaigns") or scope.get("AdGroups"):
        raise _null_request("Scope: the sandbox supports AccountIds only (no Campaigns or AdGroups).")
    ids = [str(i) for i in scope["AccountIds"]]
    accounts = [world.account(PLATFORM, i) for i in ids]
    invalid = [i for i, a in zip(ids, accounts, strict=True) if a is None or a.business_id != customer]
    if invalid:
        raise _bad_request(2035, "ReportingServiceInvalidAccountIds",
                           "The report request contains at least one account identifier that is not valid.",
                           ",".join(invalid[:20]))
    return tuple(a for a in accounts if a is not None)


def _time_range(time_: object, as_of: date) -> tuple[date, date]:
    if not isinstance(time_, dict):
        raise _bad_request(2008, "ReportingServiceInvalidReportTimeSelection",
                           "The report time is null or contains more than one predefined time, custom date, or "
                           "custom date range start and end.")
    if time_.get("PredefinedTime"):
        raise _null_request("Time: the sandbox supports CustomDateRangeStart and CustomDateRangeEnd only.")
    start = _date(time_.get("CustomDateRangeStart"))
    if start is None:
        raise _bad_request(2009, "ReportingServiceInvalidCustomDateRangeStart",
                           "The report time contains a custom date range start value that is not valid.")
    end = _date(time_.get("CustomDateRangeEnd"))
    if end is None:
        raise _bad_request(2010, "ReportingServiceInvalidCustomDateRangeEnd",
                           "The report time contains a custom date range end value that is not valid.")
    if end < start:
        raise _bad_request(2011, "ReportingServiceEndDateBeforeStartDate",
                           "The report time contains a custom date range that is not valid; the end date cannot "
                           "be earlier than the start date.")
    if start > as_of:
        raise _bad_request(2041, "ReportingServiceInvalidFutureStartDate",
                           "The specified report time start date is in the future.")
    return start, end


def _date(value: object) -> date | None:
    if not isinstance(value, dict):
        return None
    try:
        return date(int(value["Year"]), int(value["Month"]), int(value["Day"]))
    except (KeyError, TypeError, ValueError):
        return None


def _time_zone(value: object, accounts: tuple[AdAccount, ...]) -> str:
    """The ReportTimeZone to state in the header: the accounts' own zone (the only one the world has days in)."""
    zones = {_ZONE_BY_IANA.get(a.timezone) for a in accounts}
    zone = zones.pop() if len(zones) == 1 else None
    if zone is None:
        raise _null_request("Time: the sandbox reports accounts in one known time zone only.")
    if value is None or value == zone:
        return zone
    if value in _TIME_ZONES:
        raise _null_request(f"Time.ReportTimeZone: the sandbox cannot re-bucket days into {value}; the account "
                            f"reports in {zone}.")
    raise _null_request(f"Time.ReportTimeZone: {value!r} is not a valid ReportTimeZone.")


# -- report file ----------------------------------------------------------------------------------
def _us_date(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _last_completed(as_of: date, zone: str) -> str:
    """When the books closed for ``as_of``: the end of that day in the report's zone, written in UTC."""
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=ZoneInfo(_TIME_ZONES[zone][1]))
    utc = end.astimezone(UTC)
    hour = utc.hour % 12 or 12
    return f"{_us_date(utc.date())} {hour}:{utc.minute:02d}:{utc.second:02d} {'AM' if utc.hour < 12 else 'PM'} (GMT)"


def _render(spec: _ReportSpec, rows: list[_Row], as_of: date) -> str:
    """The report file as the service writes it: header lines, column names, rows, footer; every field quoted."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=spec.delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    if not spec.exclude_header:
        report_time = _us_date(spec.start) if spec.start == spec.end else \
            f"{_us_date(spec.start)}, {_us_date(spec.end)}"
        completed = _last_completed(as_of, spec.time_zone)
        for line in (f"Report Name: {spec.name}", f"Report Time: {report_time}",
                     f"Time Zone: {_TIME_ZONES[spec.time_zone][0]}", f"Last Completed Available Day: {completed}",
                     f"Last Completed Available Hour: {completed}", f"Report Aggregation: {spec.aggregation}",
                     "Report Filter: ", f"Potential Incomplete Data: {'true' if spec.end > as_of else 'false'}",
                     f"Rows: {len(rows)}"):
            writer.writerow([line])
        out.write("\r\n")
    if not spec.exclude_column_headers:
        writer.writerow(spec.columns)
    render = [_COLUMNS[c][1] for c in spec.columns]
    writer.writerows([f(row) for f in render] for row in rows)
    if not spec.exclude_footer:
        out.write("\r\n")
        writer.writerow([f"\u00a9{as_of.year} Microsoft Corporation. All rights reserved. "])
    return out.getvalue()


def _zip(name: str, content: bytes, as_of: date) -> bytes:
    """A ZIP holding one file, byte-identical for identical content (fixed timestamp and attributes)."""
    info = zipfile.ZipInfo(name, date_time=(as_of.year, as_of.month, as_of.day, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 0  # the service's archives come from Windows hosts; fixed either way
    info.external_attr = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, content)
    return buffer.getvalue()

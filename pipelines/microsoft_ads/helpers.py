"""Microsoft Advertising Reporting API helpers: error envelopes, Submit -> Poll -> download, report
windows and row validation. The dlt decorators live in ``__init__.py``."""

from __future__ import annotations

import csv
import io
import logging
import re
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from pipelines.errors import ConfigError, MalformedResponseError, SourceError
from pipelines.http import ApiClient, RetryPolicy, Verdict, default_classify, retry_after_seconds
from pipelines.microsoft_ads import settings as s
from pipelines.quarantine import Tally, quarantine_record
from pipelines.validation import number_problem

log = logging.getLogger("adlake.microsoft_ads")
SOURCE = "microsoft_ads"


def fault_errors(response: requests.Response) -> list[dict[str, Any]]:
    """The operation errors of an ``ApiFaultDetail`` or ``AdApiFaultDetail`` envelope (empty if none)."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    errors = body.get("OperationErrors") or body.get("Errors") or body.get("BatchErrors") or []
    return [e for e in errors if isinstance(e, dict)]


def classify(response: requests.Response) -> Verdict | None:
    """Read Microsoft's fault envelopes: throttling and internal errors are retried, the rest is final."""
    if response.ok:
        return None
    errors = fault_errors(response)
    codes = {e.get("Code") for e in errors}
    first = errors[0] if errors else {}
    label = (f"{first.get('Message')} (code {first.get('Code')} {first.get('ErrorCode')})" if errors
             else f"HTTP {response.status_code}")
    if codes & s.THROTTLE_CODES or response.status_code == 429:
        return Verdict(f"throttled: {label}", retry=True, wait=retry_after_seconds(response))
    if codes & s.INTERNAL_CODES or response.status_code >= 500:
        return Verdict(label, retry=True, wait=retry_after_seconds(response))
    if s.NOT_AUTHORIZED_CODE in codes:
        return Verdict(f"not authorized for the account: {label}")
    if codes & s.AUTH_CODES or response.status_code == 401:
        return Verdict(f"access token rejected ({s.ENV_PREFIX}ACCESS_TOKEN, {s.ENV_PREFIX}DEVELOPER_TOKEN): {label}")
    return Verdict(label)


def _day(value: date) -> dict[str, int]:
    return {"Day": value.day, "Month": value.month, "Year": value.year}


def report_request(report_type: str, account_id: str, since: date, until: date,
                   time_zone: str | None) -> dict[str, Any]:
    """The SubmitGenerateReport body for one account, daily, explicit columns, no header or footer lines."""
    columns = s.REPORTS[report_type][2]
    report_time: dict[str, Any] = {"CustomDateRangeStart": _day(since), "CustomDateRangeEnd": _day(until)}
    if time_zone:
        report_time["ReportTimeZone"] = time_zone
    return {"ReportRequest": {
        "Type": report_type,
        "Aggregation": "Daily",
        "Columns": list(columns),
        "Scope": {"AccountIds": [int(account_id)]},
        "Time": report_time,
        "Format": "Csv",
        "ExcludeColumnHeaders": False,
        "ExcludeReportHeader": True,
        "ExcludeReportFooter": True,
        "ReturnOnlyCompleteData": False,
    }}


@dataclass
class MicrosoftClient:
    """Reporting client for one customer: submits reports, polls them and downloads the zipped CSV."""

    base_url: str
    access_token: str
    developer_token: str
    customer_id: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    poll_interval_seconds: float = s.POLL_INTERVAL_SECONDS
    max_polls: int = s.MAX_POLLS

    def __post_init__(self) -> None:
        self.http = ApiClient(
            SOURCE, self.base_url, base_url_setting=f"{s.ENV_PREFIX}BASE_URL",
            headers={"Authorization": f"Bearer {self.access_token}", "DeveloperToken": self.developer_token,
                     "CustomerId": self.customer_id},
            classify=classify, policy=self.policy,
        )
        # Download URLs point at blob storage with their own signature: never send our tokens there.
        self.files = ApiClient(SOURCE, self.base_url, base_url_setting=f"{s.ENV_PREFIX}BASE_URL",
                               classify=default_classify, policy=self.policy)

    def _post(self, path: str, body: Any, account_id: str) -> dict[str, Any]:
        try:
            data = self.http.request("POST", path, json_body=body, headers={"CustomerAccountId": account_id})
        except SourceError as exc:
            if exc.status in (400, 401) and f"code {s.NOT_AUTHORIZED_CODE} " in str(exc):
                raise ConfigError(
                    f"microsoft_ads: account {account_id} from {s.ENV_PREFIX}ACCOUNT_IDS is not managed by "
                    f"customer {s.ENV_PREFIX}CUSTOMER_ID={self.customer_id}: {str(exc).split('failed: ', 1)[-1]}"
                ) from exc
            raise
        if not isinstance(data, dict):
            raise MalformedResponseError.shape(SOURCE, f"POST {path}", "expected an object", data)
        return data

    def report_rows(self, report_type: str, account_id: str, since: date, until: date,
                    time_zone: str | None) -> list[dict[str, str]]:
        """Submit one report, wait for it and return its CSV rows (empty when the report has none)."""
        body = report_request(report_type, account_id, since, until, time_zone)
        report_id = self._post(s.SUBMIT_PATH, body, account_id).get("ReportRequestId")
        if not report_id:
            raise SourceError(SOURCE, f"Submit {report_type}: no ReportRequestId in the answer", transient=True)
        url = self._wait(report_type, str(report_id), account_id)
        return [] if url is None else self._download(url, report_type)

    def _wait(self, report_type: str, report_id: str, account_id: str) -> str | None:
        """Poll until Success (bounded); the download URL, None for an empty report."""
        for poll in range(1, self.max_polls + 1):
            status = self._post(s.POLL_PATH, {"ReportRequestId": report_id}, account_id).get("ReportRequestStatus")
            state = status.get("Status") if isinstance(status, dict) else None
            if state == "Success":
                url = status.get("ReportDownloadUrl")  # type: ignore[union-attr]
                return str(url) if url else None
            if state not in ("Pending", "InProgress"):
                raise SourceError(SOURCE, f"report {report_type} ended with status {state!r}")
            log.debug("microsoft_ads: %s %s pending (poll %d/%d)", report_type, report_id, poll, self.max_polls)
            time.sleep(self.poll_interval_seconds)
        raise SourceError(SOURCE, f"report {report_type} still pending after {self.max_polls} polls "
                                  f"({s.ENV_PREFIX}MAX_POLLS)", transient=True)

    def _download(self, url: str, report_type: str) -> list[dict[str, str]]:
        """Download the ZIP and read its one CSV; a truncated archive is fetched again, then quarantined."""
        return parse_report(self.files.request("GET", url, parse="bytes", check=archive_problem))


def archive_problem(archive: bytes) -> str | None:
    """Why a downloaded report cannot be read (None: it can)."""
    try:
        parse_report(archive)
    except (zipfile.BadZipFile, UnicodeDecodeError, csv.Error) as exc:
        return f"not a readable report archive: {exc.__class__.__name__}"
    return None


def parse_report(archive: bytes) -> list[dict[str, str]]:
    """The rows of the zipped CSV report, keyed by Microsoft's column names."""
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        names = [n for n in zipped.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise zipfile.BadZipFile(f"expected one file in the report archive, found {len(names)}")
        text = zipped.read(names[0]).decode("utf-8-sig")  # the service writes a byte-order mark
    return [row for row in csv.DictReader(io.StringIO(text)) if any(row.values())]


_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake(name: str) -> str:
    """``TimePeriod`` -> ``time_period`` (the raw tables use snake_case column names)."""
    return _SNAKE.sub("_", name).lower()


def row_problem(row: Mapping[str, Any], key_columns: tuple[str, ...]) -> tuple[str, str] | None:
    """Why a report row cannot be loaded (reason code, detail), or None when it is sound."""
    for key in key_columns:
        if not row.get(key):
            return "missing_key", f"no {key}"
    try:
        date.fromisoformat(str(row["TimePeriod"]))
    except ValueError:
        return "type_coercion", f"TimePeriod={row['TimePeriod']!r} is not a date"
    return number_problem(row, s.INTEGER_COLUMNS, s.DECIMAL_COLUMNS, missing=(None, ""))


def sort_rows(rows: list[dict[str, str]], report_type: str, seen: set[tuple[str, ...]], now: datetime,
              tally: Tally) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split report rows into rows to load (snake_case, stamped) and quarantine rows; drop repeats of this run."""
    _, resource, _, key_columns = s.REPORTS[report_type]
    good: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for row in rows:
        tally.received += 1
        problem = row_problem(row, key_columns)
        if problem is not None:
            tally.quarantined += 1
            rejected.append(quarantine_record(SOURCE, resource, problem, row, now))
            continue
        key = tuple(str(row[k]) for k in key_columns)
        if key in seen:
            tally.duplicates += 1
            continue
        seen.add(key)
        good.append({**{snake(k): v for k, v in row.items()}, "_ingested_at": now})
    return good, rejected


def normalize_ids(value: str | list[str] | tuple[str, ...] | None, setting: str) -> list[str]:
    """Accept ``"1,2"`` or a list; return numeric ids without duplicates."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    ids: list[str] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not text.isdigit():
            raise ConfigError(f"microsoft_ads: {setting} has a non-numeric id {item!r}")
        if text not in ids:
            ids.append(text)
    return ids


def report_today(time_zone: str | None) -> date:
    """Today in the report's time zone (UTC when none is configured)."""
    zone = ZoneInfo(s.TIME_ZONES[time_zone]) if time_zone in s.TIME_ZONES else UTC
    return datetime.now(zone).date()



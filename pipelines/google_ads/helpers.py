"""Google Ads API helpers: the error envelope, ``googleAds:searchStream``, flattening GAQL rows into typed
snake_case records, report windows and settings parsing. The dlt decorators live in ``__init__.py``."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import requests

from pipelines import runs
from pipelines.errors import ConfigError, MalformedResponseError, SourceError
from pipelines.google_ads import settings as s
from pipelines.http import ApiClient, RetryPolicy, Verdict, retry_after_seconds
from pipelines.quarantine import Tally, quarantine_record
from pipelines.reads import WindowRead, guard_list
from pipelines.windows import report_window, today_in

log = logging.getLogger("adlake.google_ads")
SOURCE = "google_ads"
Page = dict[str, Any]


# -- errors ---------------------------------------------------------------------------------------
def envelope(body: Any) -> dict[str, Any]:
    """The ``error`` object of a decoded body (searchStream wraps it in its array), else ``{}``."""
    if isinstance(body, list):
        body = next((item for item in body if isinstance(item, dict) and "error" in item), {})
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _failures(error: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The GoogleAdsError entries of a ``GoogleAdsFailure`` detail (empty for front-end errors)."""
    details = error.get("details")
    failures: list[dict[str, Any]] = []
    for detail in details if isinstance(details, list) else ():
        errors = detail.get("errors") if isinstance(detail, dict) else None
        failures += [f for f in errors if isinstance(f, dict)] if isinstance(errors, list) else []
    return failures


def _codes(failure: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(family, code) pairs of one GoogleAdsError, e.g. ``("quotaError", "RESOURCE_EXHAUSTED")``."""
    code = failure.get("errorCode")
    return [(str(k), str(v)) for k, v in code.items()] if isinstance(code, dict) else []


def _retry_delay(failures: list[dict[str, Any]]) -> float | None:
    """``quotaErrorDetails.retryDelay`` (``"30s"``) when Google gives one; mostly it does not."""
    for failure in failures:
        details = failure.get("details")
        delay = details.get("quotaErrorDetails", {}).get("retryDelay") if isinstance(details, dict) else None
        match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(delay or ""))
        if match:
            return float(match.group(1))
    return None


def verdict(error: Mapping[str, Any], http_status: int) -> Verdict:
    """What a Google error envelope means: quota and server errors are retried, credentials name their setting."""
    status = str(error.get("status") or "")
    failures = _failures(error)
    codes = [pair for failure in failures for pair in _codes(failure)]
    if failures:
        label = f"{failures[0].get('message') or error.get('message')} ({'; '.join(f'{k}.{v}' for k, v in codes)})"
    else:
        message = error.get("message") or f"HTTP {http_status}"
        label = f"{message} ({status})" if status else str(message)
    names = {code for _, code in codes}
    if http_status == 429 or status == "RESOURCE_EXHAUSTED" or any(k == "quotaError" for k, _ in codes):
        return Verdict(f"throttled: {label}", retry=True, wait=_retry_delay(failures))
    if any("DEVELOPER_TOKEN" in name for name in names):
        return Verdict(f"developer token rejected ({s.ENV_PREFIX}DEVELOPER_TOKEN): {label}")
    if any("LOGIN_CUSTOMER_ID" in name for name in names):
        return Verdict(f"login customer id rejected ({s.ENV_PREFIX}LOGIN_CUSTOMER_ID): {label}")
    if http_status == 401 or status == "UNAUTHENTICATED":
        return Verdict(f"access token rejected ({s.ENV_PREFIX}ACCESS_TOKEN): {label}")
    if http_status >= 500 or status in s.RETRY_STATUSES:
        return Verdict(label, retry=True)
    return Verdict(label)


def classify(response: requests.Response) -> Verdict | None:
    """Read Google's error envelope from a failed response (None for success)."""
    if response.ok:
        return None
    try:
        error = envelope(response.json())
    except ValueError:
        error = {}
    found = verdict(error, response.status_code)
    if found.retry and found.wait is None:
        return replace(found, wait=retry_after_seconds(response))
    return found


# -- the client -----------------------------------------------------------------------------------
@dataclass
class GoogleAdsClient:
    """GoogleAdsService ``searchStream`` for one OAuth token, developer token and (optional) manager."""

    base_url: str
    api_version: str
    access_token: str
    developer_token: str
    login_customer_id: str | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        headers = {"Authorization": f"Bearer {self.access_token}", "developer-token": self.developer_token}
        if self.login_customer_id:
            headers["login-customer-id"] = self.login_customer_id
        self.http = ApiClient(SOURCE, self.base_url, base_url_setting=f"{s.ENV_PREFIX}BASE_URL", headers=headers,
                              classify=classify, policy=self.policy)

    def search_stream(self, customer_id: str, query: str) -> list[dict[str, Any]]:
        """Every result row of one GAQL query, across the stream's batches (no rows: an empty list)."""
        path = f"{self.api_version}/customers/{customer_id}/googleAds:searchStream"
        try:
            batches = self.http.post_json(path, {"query": query})
        except SourceError as exc:
            if exc.status is not None and not exc.transient and any(code in str(exc) for code in s.CUSTOMER_CODES):
                raise ConfigError(self._customer_problem(customer_id, exc)) from exc
            raise
        if not isinstance(batches, list):
            raise self._malformed(path, "expected an array of batches", batches)
        rows: list[dict[str, Any]] = []
        for batch in batches:
            if isinstance(batch, dict) and "error" in batch:  # a failure after the stream had begun
                error = envelope(batch)
                found = verdict(error, error["code"] if isinstance(error.get("code"), int) else 500)
                raise SourceError(SOURCE, f"POST {path} failed mid-stream: {found.message}", transient=found.retry)
            results = batch.get("results", []) if isinstance(batch, dict) else None  # absent when empty
            if not isinstance(results, list) or not all(isinstance(row, dict) for row in results):
                raise self._malformed(path, "a batch without a results list", batches)
            rows.extend(results)
        return rows

    def _malformed(self, path: str, problem: str, body: Any) -> MalformedResponseError:
        return MalformedResponseError.shape(SOURCE, f"POST {path}", problem, body)

    def _customer_problem(self, customer_id: str, exc: SourceError) -> str:
        via = (f"through {s.ENV_PREFIX}LOGIN_CUSTOMER_ID={self.login_customer_id}" if self.login_customer_id
               else f"(set {s.ENV_PREFIX}LOGIN_CUSTOMER_ID when it is reached through a manager account)")
        return (f"google_ads: customer {customer_id} from {s.ENV_PREFIX}CUSTOMER_IDS is not accessible {via}: "
                f"{str(exc).split('failed: ', 1)[-1]}")


# -- rows -----------------------------------------------------------------------------------------
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def json_path(name: str) -> tuple[str, ...]:
    """Where a GAQL field sits in a REST row: ``ad_group_ad.ad.id`` -> ``adGroupAd``, ``ad``, ``id``."""
    return tuple(_camel(part) for part in name.split("."))


def _get(row: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = row
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _leaves(node: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{path}.")
        elif key != "resourceName":
            yield path


class _RowError(ValueError):
    """Why a row cannot load: a quarantine reason (code, detail)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = (code, detail)


_DIGITS = re.compile(r"[0-9]+")


def _id(name: str, value: Any) -> str:
    if not _DIGITS.fullmatch(str(value)):
        raise _RowError("type_coercion", f"{name}={value!r} is not an id")
    return str(value)


def _date(name: str, value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _RowError("type_coercion", f"{name}={value!r} is not a date") from None


def _int64(name: str, value: Any) -> int:
    if value is None:
        return 0  # proto3 JSON leaves zero values out
    if isinstance(value, bool) or not (isinstance(value, int) or _DIGITS.fullmatch(str(value))) or int(value) < 0:
        raise _RowError("type_coercion", f"{name}={value!r} is not a non-negative integer")
    return int(value)


def _double(name: str, value: Any) -> float:
    if value is None:
        return 0.0
    try:
        number = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise _RowError("type_coercion", f"{name}={value!r} is not a finite non-negative number")
    return number


_CONVERT = {s.ID: _id, s.DATE: _date, s.INT64: _int64, s.DOUBLE: _double, s.TEXT: lambda _name, value: value}


def _typed(name: str, kind: str, value: Any) -> Any:
    """One field as its raw column keeps it; raises :class:`_RowError` with a quarantine reason."""
    if kind in (s.ID, s.DATE) and value in (None, ""):
        raise _RowError("missing_key", f"no {name}")
    if isinstance(value, (Mapping, list)):
        raise _RowError("schema_violation", f"{name} is not a single value")
    return _CONVERT[kind](name, value)


def flatten(row: Mapping[str, Any], report: s.Report) -> dict[str, Any]:
    """A nested lowerCamelCase row as typed snake_case columns; raises :class:`_RowError` when it cannot load."""
    return {column: _typed(name, kind, _get(row, json_path(name))) for name, column, kind in report.fields}


def sort_rows(rows: list[dict[str, Any]], report: s.Report, seen: set[tuple[Any, ...]], now: datetime,
              tally: Tally) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split rows into records to load (flat, stamped) and quarantine rows; drop key repeats of this run."""
    expected = frozenset(".".join(json_path(name)) for name, _, _ in report.fields)
    good: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for row in rows:
        tally.received += 1
        runs.note_new_fields(SOURCE, report.table, dict.fromkeys(_leaves(row)), expected)
        try:
            record = flatten(row, report)
        except _RowError as bad:
            tally.quarantined += 1
            rejected.append(quarantine_record(SOURCE, report.resource, bad.reason, row, now))
            continue
        key = tuple(record[column] for column in report.keys)
        if key in seen:
            tally.duplicates += 1
            continue
        seen.add(key)
        record["_ingested_at"] = now
        good.append(record)
    return good, rejected


def column_hints(report: s.Report) -> dict[str, dict[str, Any]]:
    """dlt column hints from a report's kinds; daily tables are partitioned by the report date."""
    types = {s.ID: "text", s.TEXT: "text", s.INT64: "bigint", s.DOUBLE: "double", s.DATE: "date"}
    hints: dict[str, dict[str, Any]] = {column: {"data_type": types[kind]} for _, column, kind in report.fields}
    if report.by_date:
        hints["date"]["partition"] = True
    return {**hints, "_ingested_at": {"data_type": "timestamp"}}


# -- one customer's pages -------------------------------------------------------------------------
@dataclass
class Window:
    """The report days a run asks for: ``floor`` (a configured start, never read before), the first
    run's start, an optional fixed end, and the days re-read for late conversions."""

    floor: date | None
    first_start: date
    end: date | None
    lag_days: int
    days_per_request: int


def _load(report: s.Report, rows: list[dict[str, Any]], seen: dict[str, set[tuple[Any, ...]]], tally: Tally) -> Page:
    good, rejected = sort_rows(rows, report, seen.setdefault(report.table, set()), datetime.now(UTC), tally)
    return {"table": report.table, "good": good, "rejected": rejected}


def _count(report: s.Report, customer_id: str, tally: Tally, span: str = "") -> None:
    log.info("google_ads: customer %s %s%s: %s", customer_id, report.resource, span, tally)
    total = runs.tally(SOURCE, report.table)
    total.received += tally.received
    total.quarantined += tally.quarantined
    total.duplicates += tally.duplicates


def customer_pages(client: GoogleAdsClient, customer_id: str, window: Window, state: dict[str, Any],
                   seen: dict[str, set[tuple[Any, ...]]]) -> Iterator[Page]:
    """One customer's entity snapshots, then its daily reports over the window (state: last day per report)."""
    time_zone: str | None = None
    unit = f"customer {customer_id}"
    for report in s.ENTITIES:
        tally = Tally()
        rejected: list[dict[str, Any]] = []
        for rows in guard_list(SOURCE, report.resource, unit, _stream(client, customer_id, report.query()), tally,
                               rejected):
            page = _load(report, rows, seen, tally)
            if report is s.CUSTOMERS and page["good"]:
                time_zone = page["good"][0]["time_zone"]
            yield page
        _count(report, customer_id, tally)
        yield {"table": report.table, "good": [], "rejected": rejected}
    today = today_in(time_zone)
    for report in s.REPORTS:
        last = state.get(report.resource)
        span = report_window(window.floor, window.first_start, window.end or today,
                             date.fromisoformat(last) if last else None, window.lag_days)
        if span is None:
            continue
        read = WindowRead(SOURCE, report.table, report.resource, unit, span, window.days_per_request)
        for since, until in read.chunks():
            query = report.query(since.isoformat(), until.isoformat())
            for rows in read.guard(since, until, _stream(client, customer_id, query)):
                yield _load(report, rows, seen, read.tally)
            yield {"table": report.table, "good": [], "rejected": read.take_rejected()}
        state[report.resource] = read.finish(today, last)


def _stream(client: GoogleAdsClient, customer_id: str, query: str) -> Iterator[list[dict[str, Any]]]:
    yield client.search_stream(customer_id, query)


# -- settings and windows -------------------------------------------------------------------------
def normalize_customer_ids(value: Any, setting: str) -> list[str]:
    """Accept ``"123-456-7890,2345678901"`` or a list; return 10-digit ids without dashes or repeats."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) \
        else [value]
    ids: list[str] = []
    for item in items:
        text = str(item).strip().replace("-", "")
        if not text:
            continue
        if not (text.isdigit() and len(text) == 10):
            raise ConfigError(f"google_ads: {setting} has {str(item).strip()!r}, not a 10-digit customer id")
        if text not in ids:
            ids.append(text)
    return ids



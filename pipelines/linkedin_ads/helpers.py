"""LinkedIn Marketing API helpers: error envelopes, hand-built Rest.li queries, cursor paging of
entities, field-chunked adAnalytics calls merged on (day, pivot), windows and row validation.
The dlt decorators live in ``__init__.py``."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from pipelines import runs
from pipelines.errors import ConfigError, MalformedResponseError, SourceError
from pipelines.http import ApiClient, RetryPolicy, Verdict, retry_after_seconds
from pipelines.linkedin_ads import settings as s
from pipelines.quarantine import Tally, quarantine_record, to_quarantine
from pipelines.reads import guard_list
from pipelines.validation import number_problem

log = logging.getLogger("adlake.linkedin_ads")
SOURCE = "linkedin_ads"


def classify(response: requests.Response) -> Verdict | None:
    """Read LinkedIn's error envelope (``status``, ``serviceErrorCode``, ``code``, ``message``).

    429 and 5xx are retried; token errors fail fast naming the setting; version errors carry their
    code so the client can turn them into a ConfigError; the rest is final.
    """
    if response.ok:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    envelope = body if isinstance(body, dict) else {}
    code = envelope.get("code")
    service_code = envelope.get("serviceErrorCode")
    message = str(envelope.get("message") or f"HTTP {response.status_code}")
    label = f"{message} ({code or 'HTTP ' + str(response.status_code)}"
    label += f", serviceErrorCode {service_code})" if service_code is not None else ")"
    if response.status_code == 429:
        return Verdict(f"throttled: {label}", retry=True, wait=retry_after_seconds(response))
    if response.status_code >= 500:
        return Verdict(label, retry=True, wait=retry_after_seconds(response))
    if response.status_code == 401 or code in s.AUTH_CODES or service_code in s.AUTH_SERVICE_CODES:
        return Verdict(f"access token rejected ({s.ENV_PREFIX}ACCESS_TOKEN): {label}")
    return Verdict(label)


@dataclass
class LinkedInClient:
    """Versioned ``/rest`` client for one access token; queries are built by hand in Rest.li 2.0 syntax."""

    base_url: str
    access_token: str
    api_version: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    page_size: int = s.PAGE_SIZE

    def __post_init__(self) -> None:
        self.http = ApiClient(
            SOURCE,
            self.base_url,
            base_url_setting=f"{s.ENV_PREFIX}BASE_URL",
            headers={
                "Authorization": f"Bearer {self.access_token}",
                "Linkedin-Version": self.api_version,
                "X-Restli-Protocol-Version": s.RESTLI_PROTOCOL_VERSION,
            },
            classify=classify,
            policy=self.policy,
        )

    def get(self, path: str, query: str = "") -> dict[str, Any]:
        """GET ``rest/<path>?<query>``; the query is passed through untouched (``requests`` would encode
        the Rest.li parentheses, colons and commas)."""
        target = f"rest/{path}" + (f"?{query}" if query else "")
        try:
            body = self.http.get_json(target)
        except SourceError as exc:
            if exc.status in (400, 426) and any(code in str(exc) for code in s.VERSION_CODES):
                raise ConfigError(
                    f"linkedin_ads: {s.ENV_PREFIX}API_VERSION={self.api_version} is not accepted: "
                    f"{str(exc).split('failed: ', 1)[-1]}"
                ) from exc
            raise
        if not isinstance(body, dict):
            raise MalformedResponseError.shape(SOURCE, f"GET rest/{path}", "expected an object", body)
        return body

    def get_pages(self, path: str, query: str) -> Iterator[list[dict[str, Any]]]:
        """Every page of an entity finder, following ``metadata.nextPageToken``."""
        token: str | None = None
        while True:
            paged = f"{query}&pageSize={self.page_size}" + (f"&pageToken={quote(token, safe='')}" if token else "")
            body = self.get(path, paged)
            elements = body.get("elements")
            if not isinstance(elements, list):
                raise MalformedResponseError.shape(SOURCE, f"GET rest/{path}", "no 'elements' list", body)
            yield elements
            token = (body.get("metadata") or {}).get("nextPageToken")
            if not token:
                return

    def account(self, account_id: str) -> dict[str, Any]:
        """The ad account, or a ConfigError naming the configured id when the token cannot read it."""
        try:
            return self.get(f"adAccounts/{account_id}")
        except SourceError as exc:
            if exc.status not in (403, 404):
                raise
            raise ConfigError(
                f"linkedin_ads: ad account {account_id} from {s.ENV_PREFIX}ACCOUNT_IDS is not readable: "
                f"{str(exc).split('failed: ', 1)[-1]}"
            ) from exc

    def analytics(self, account_id: str, pivot: str, since: date, until: date) -> list[dict[str, Any]]:
        """Daily adAnalytics elements for one account and pivot, every metric, merged on (day, pivot value).

        At most 20 fields per call: the metrics go in chunks of 18 next to ``dateRange`` and ``pivotValues``.
        """
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for metrics in metric_chunks(s.ANALYTICS_METRICS, s.METRICS_PER_CALL):
            body = self.get("adAnalytics", analytics_query(account_id, pivot, since, until, metrics))
            elements = body.get("elements")
            if not isinstance(elements, list):
                raise MalformedResponseError.shape(SOURCE, "GET rest/adAnalytics", "no 'elements' list", body)
            for element in elements:
                merge_element(merged, element)
        return list(merged.values())


class AccountCache:
    """Reads each configured ad account once per run."""

    def __init__(self, client: LinkedInClient, ids: list[str]) -> None:
        self._client = client
        self._ids = ids
        self._rows: list[dict[str, Any]] | None = None

    @property
    def ids(self) -> list[str]:
        return self._ids

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = [self._client.account(account_id) for account_id in self._ids]
        return self._rows


def restli_date(day: date) -> str:
    return f"(year:{day.year},month:{day.month},day:{day.day})"


def analytics_query(account_id: str, pivot: str, since: date, until: date, metrics: tuple[str, ...]) -> str:
    """The adAnalytics query: structure characters raw, the URN inside ``List()`` percent-encoded."""
    urn = quote(f"{s.URN_ACCOUNT}{account_id}", safe="")
    fields = ",".join((*s.KEY_FIELDS, *metrics))
    return (f"q=analytics&pivot={pivot}&timeGranularity=DAILY"
            f"&dateRange=(start:{restli_date(since)},end:{restli_date(until)})"
            f"&accounts=List({urn})&fields={fields}")


def metric_chunks(metrics: tuple[str, ...], size: int) -> Iterator[tuple[str, ...]]:
    """Metrics in chunks of at most ``size``."""
    for i in range(0, len(metrics), size):
        yield metrics[i:i + size]


def _element_key(element: Any) -> tuple[str, str] | None:
    """(day range, pivot value) of an element, None when it lacks them (validation will say why)."""
    if not isinstance(element, dict):
        return None
    return repr(element.get("dateRange")), repr(element.get("pivotValues"))


def merge_element(merged: dict[tuple[str, str], dict[str, Any]], element: Any) -> None:
    """Fold one chunk's element into the row of its (day, pivot); unkeyed elements stay apart."""
    key = _element_key(element)
    if key is None or element.get("dateRange") is None or element.get("pivotValues") is None:
        merged[("_unkeyed", str(len(merged)))] = element if isinstance(element, dict) else {"value": element}
        return
    merged.setdefault(key, {}).update(element)


def normalize_account_ids(value: str | int | list[Any] | tuple[Any, ...] | None) -> list[str]:
    """Accept ``"1,2"``, ``12``, ``["urn:li:sponsoredAccount:1", 2]``; return numeric ids without duplicates."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [value] if isinstance(value, int) else list(value)
    ids: list[str] = []
    for item in items:
        account = str(item).strip().removeprefix(s.URN_ACCOUNT)
        if not account:
            continue
        if not account.isdigit():
            raise ConfigError(f"linkedin_ads: {s.ENV_PREFIX}ACCOUNT_IDS has a non-numeric account id {item!r}")
        if account not in ids:
            ids.append(account)
    return ids


def analytics_elements(
    client: LinkedInClient, account_id: str, pivot: str, since: date, until: date, max_elements: int
) -> Iterator[tuple[date, date, list[dict[str, Any]]]]:
    """Elements of a window; a window whose answer is full (no pagination to get the rest) is halved."""
    elements = client.analytics(account_id, pivot, since, until)
    if len(elements) < max_elements:
        yield since, until, elements
        return
    if since == until:
        raise SourceError(SOURCE, f"adAnalytics {pivot} for account {account_id} on {since} returned "
                          f"{len(elements)} elements, the most one answer holds: results may be cut off")
    middle = since + timedelta(days=(until - since).days // 2)
    log.info("linkedin_ads: %s..%s answered %d elements, splitting the window", since, until, len(elements))
    yield from analytics_elements(client, account_id, pivot, since, middle, max_elements)
    yield from analytics_elements(client, account_id, pivot, middle + timedelta(days=1), until, max_elements)


def _day(value: Any) -> date | None:
    try:
        return date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (TypeError, KeyError, ValueError):
        return None


def analytics_problem(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why an analytics element cannot be loaded (reason code, detail), or None when it is sound."""
    pivots = row.get("pivotValues")
    if not isinstance(pivots, list) or len(pivots) != 1 or not isinstance(pivots[0], str) or not pivots[0]:
        return "missing_key", f"pivotValues={pivots!r} is not one pivot URN"
    date_range = row.get("dateRange")
    if not isinstance(date_range, dict):
        return "missing_key", "no dateRange"
    start, end = _day(date_range.get("start")), _day(date_range.get("end"))
    if start is None or end is None:
        return "type_coercion", f"dateRange={date_range!r} is not a day range"
    if start != end:
        return "schema_violation", f"dateRange {start}..{end} is not one day"
    return number_problem(row, s.INTEGER_METRICS, s.DECIMAL_METRICS)


def sort_elements(
    account_id: str, pivot: str, elements: list[dict[str, Any]], seen: set[tuple[str, str]], now: datetime,
    tally: Tally, table: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split merged elements into rows to load (with account, pivot and report day) and quarantine rows.

    Repeats of a (pivot value, day) already seen in this run are dropped and counted.
    """
    good: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for element in elements:
        tally.received += 1
        problem = analytics_problem(element)
        if problem is not None:
            tally.quarantined += 1
            rejected.append(quarantine_record(SOURCE, table.removeprefix(f"{SOURCE}__"), problem, element, now))
            continue
        runs.note_new_fields(SOURCE, table, element, s.KNOWN_ANALYTICS_FIELDS)
        day = _day(element["dateRange"]["start"])
        key = (element["pivotValues"][0], str(day))
        if key in seen:
            tally.duplicates += 1
            continue
        seen.add(key)
        good.append({**element, "account_id": account_id, "pivot": pivot, "pivot_value": key[0],
                     "report_date": day, "_ingested_at": now})
    return good, rejected


def stamp(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Add the ingestion timestamp every raw row carries."""
    return [{**row, "_ingested_at": now} for row in rows]


def entity_pages(
    accounts: AccountCache, client: LinkedInClient, finder: str, query: str, table: str
) -> Iterator[list[dict[str, Any]]]:
    """Every page of an account finder (campaign groups, campaigns, creatives), stamped on arrival."""
    now = datetime.now(UTC)
    counted = runs.tally(SOURCE, table)
    accounts.rows()  # unknown accounts fail here with a ConfigError naming them
    for account_id in accounts.ids:
        rejected: list[dict[str, Any]] = []
        pages = client.get_pages(f"adAccounts/{account_id}/{finder}", query)
        for page in guard_list(SOURCE, table.split("__", 1)[1], f"account {account_id}", pages, counted, rejected):
            counted.received += len(page)
            if page:
                yield stamp(page, now)
        if rejected:
            yield to_quarantine(rejected)

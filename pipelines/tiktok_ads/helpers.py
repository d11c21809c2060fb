"""TikTok Business API helpers: the 200-with-code error envelope, page-number paging, report
windows and row validation. The dlt decorators live in ``__init__.py``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import requests

from pipelines import runs
from pipelines.errors import ConfigError, MalformedResponseError, SourceError
from pipelines.http import ApiClient, RetryPolicy, Verdict, retry_after_seconds
from pipelines.quarantine import Tally, quarantine_record, to_quarantine
from pipelines.reads import guard_list
from pipelines.tiktok_ads import settings as s
from pipelines.validation import number_problem

log = logging.getLogger("adlake.tiktok_ads")
SOURCE = "tiktok_ads"
_UNKNOWN_ADVERTISER = f"(code {s.CODE_NO_PERMISSION})"


def classify(response: requests.Response) -> Verdict | None:
    """Read TikTok's envelope: HTTP 200 with ``code != 0`` is an error too.

    40100 (rate limit) and 5xx are retried; token codes fail fast naming the setting; the rest is final.
    A body that is not JSON is left to the HTTP layer, which retries it as malformed.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    envelope = body if isinstance(body, dict) else {}
    code = envelope.get("code")
    if response.ok and (body is None or code in (s.CODE_OK, None)):
        return None
    message = str(envelope.get("message") or f"HTTP {response.status_code}")
    label = f"{message} (code {code})" if code is not None else message
    if code == s.CODE_RATE_LIMITED or response.status_code == 429:
        return Verdict(f"throttled: {label}", retry=True, wait=retry_after_seconds(response))
    if response.status_code >= 500:
        return Verdict(label, retry=True, wait=retry_after_seconds(response))
    if code in s.AUTH_CODES or response.status_code == 401:
        return Verdict(f"access token rejected ({s.ENV_PREFIX}ACCESS_TOKEN): {label}")
    return Verdict(label)


@dataclass
class TikTokClient:
    """Business API client for one access token (sent in the ``Access-Token`` header, never in URLs)."""

    base_url: str
    access_token: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    page_size: int = s.PAGE_SIZE

    def __post_init__(self) -> None:
        self.http = ApiClient(
            SOURCE,
            self.base_url,
            base_url_setting=f"{s.ENV_PREFIX}BASE_URL",
            headers={"Access-Token": self.access_token},
            classify=classify,
            policy=self.policy,
        )

    def get_data(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The ``data`` object of one call."""
        body = self.http.get_json(f"{s.API_ROOT}/{path}", params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise MalformedResponseError.shape(SOURCE, f"GET {path}", "no 'data' object", body)
        return data

    def get_pages(self, path: str, params: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Every page's ``list``, asking page 1, 2, ... up to ``page_info.total_page``."""
        page = 1
        while True:
            data = self.get_data(path, {**params, "page": page, "page_size": self.page_size})
            rows = data.get("list")
            if not isinstance(rows, list):
                raise MalformedResponseError.shape(SOURCE, f"GET {path}", f"no 'list' in page {page}", data)
            yield rows
            total_page = (data.get("page_info") or {}).get("total_page")
            if not isinstance(total_page, int) or page >= total_page:
                return
            page += 1

    def advertiser(self, advertiser_id: str) -> dict[str, Any]:
        """The advertiser, or a ConfigError naming the configured id when the token cannot read it."""
        try:
            data = self.get_data(s.ADVERTISER_PATH, {"advertiser_ids": json.dumps([advertiser_id])})
        except SourceError as exc:
            if _UNKNOWN_ADVERTISER not in str(exc):
                raise
            raise ConfigError(
                f"tiktok_ads: advertiser {advertiser_id} from {s.ENV_PREFIX}ADVERTISER_IDS is not readable: "
                f"{str(exc).split('failed: ', 1)[-1]}"
            ) from exc
        rows = data.get("list")
        if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
            raise SourceError(SOURCE, f"malformed response from GET {s.ADVERTISER_PATH}: expected one advertiser")
        return rows[0]


class AdvertiserCache:
    """Reads each configured advertiser once per run; every resource needs its id or time zone."""

    def __init__(self, client: TikTokClient, ids: list[str]) -> None:
        self._client = client
        self._ids = ids
        self._rows: list[dict[str, Any]] | None = None

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = [self._client.advertiser(advertiser_id) for advertiser_id in self._ids]
        return self._rows


def stamp(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Add the ingestion timestamp every raw row carries."""
    return [{**row, "_ingested_at": now} for row in rows]


def normalize_advertiser_ids(value: str | int | list[Any] | tuple[Any, ...] | None) -> list[str]:
    """Accept ``"1,2"``, ``12`` or ``["1", 2]``; return numeric id strings without duplicates."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [value] if isinstance(value, int) else list(value)
    ids: list[str] = []
    for item in items:
        advertiser = str(item).strip()
        if not advertiser:
            continue
        if not advertiser.isdigit():
            raise ConfigError(f"tiktok_ads: {s.ENV_PREFIX}ADVERTISER_IDS has a non-numeric advertiser id {item!r}")
        if advertiser not in ids:
            ids.append(advertiser)
    return ids


def report_params(advertiser_id: str, since: date, until: date) -> dict[str, Any]:
    """Query of one daily ad-level report call (lists go JSON-encoded, as TikTok wants them)."""
    return {
        "advertiser_id": advertiser_id,
        "service_type": "AUCTION",
        "report_type": "BASIC",
        "data_level": s.REPORT_DATA_LEVEL,
        "dimensions": json.dumps(list(s.REPORT_DIMENSIONS)),
        "metrics": json.dumps(list(s.REPORT_METRICS)),
        "start_date": since.isoformat(),
        "end_date": until.isoformat(),
    }


def flatten_report_row(advertiser_id: str, row: Any) -> dict[str, Any]:
    """``{"dimensions": {...}, "metrics": {...}}`` as one flat record, values as sent.

    Anything that is not that shape is kept whole under ``_unparsed`` so validation can quarantine it.
    """
    if not isinstance(row, dict) or not isinstance(row.get("dimensions"), dict) \
            or not isinstance(row.get("metrics"), dict):
        return {"advertiser_id": advertiser_id, "_unparsed": row}
    return {"advertiser_id": advertiser_id, **row["metrics"], **row["dimensions"]}


def parse_report_day(value: Any) -> date | None:
    """The report day of ``stat_time_day`` (``"2024-05-03 00:00:00"``), None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def report_problem(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why a flattened report row cannot be loaded (reason code, detail), or None when it is sound."""
    if "_unparsed" in row:
        return "schema_violation", "report row is not {dimensions: {...}, metrics: {...}}"
    for key in s.REPORT_KEY_FIELDS:
        if not row.get(key):
            return "missing_key", f"no {key}"
    if parse_report_day(row["stat_time_day"]) is None:
        return "type_coercion", f"stat_time_day={row['stat_time_day']!r} is not a day"
    return number_problem(row, s.REPORT_INTEGER_FIELDS, s.REPORT_DECIMAL_FIELDS, missing=(None, s.NOT_AVAILABLE))


def sort_report_rows(
    advertiser_id: str, page: list[Any], seen: set[tuple[str, str, str]], now: datetime, tally: Tally
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split a page into rows to load (flat, stamped, with ``report_date``) and quarantine rows.

    Repeats of an (advertiser, ad, day) already seen in this run are dropped and counted.
    """
    good: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for raw in page:
        tally.received += 1
        row = flatten_report_row(advertiser_id, raw)
        problem = report_problem(row)
        if problem is not None:
            tally.quarantined += 1
            rejected.append(quarantine_record(SOURCE, "ad_performance_daily", problem,
                                              raw if isinstance(raw, dict) else {"value": raw}, now))
            continue
        runs.note_new_fields(SOURCE, "tiktok_ads__ad_performance_daily", row, s.KNOWN_REPORT_FIELDS)
        key = (advertiser_id, str(row["ad_id"]), str(row["stat_time_day"]))
        if key in seen:
            tally.duplicates += 1
            continue
        seen.add(key)
        good.append({**row, "report_date": parse_report_day(row["stat_time_day"]), "_ingested_at": now})
    return good, rejected


def entity_pages(
    advertisers: AdvertiserCache, client: TikTokClient, path: str, table: str
) -> Iterator[list[dict[str, Any]]]:
    """Every page of an entity list (campaigns, ad groups, ads) of every advertiser, stamped on arrival."""
    now = datetime.now(UTC)
    counted = runs.tally(SOURCE, table)
    for advertiser in advertisers.rows():
        params = {"advertiser_id": str(advertiser["advertiser_id"])}
        rejected: list[dict[str, Any]] = []
        unit = f"advertiser {advertiser['advertiser_id']}"
        for page in guard_list(SOURCE, table.split("__", 1)[1], unit, client.get_pages(path, params), counted,
                               rejected):
            counted.received += len(page)
            if page:
                yield stamp(page, now)
        if rejected:
            yield to_quarantine(rejected)

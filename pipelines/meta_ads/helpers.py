"""Meta Marketing API helpers: error envelopes, usage-header throttling, cursor paging,
report windows and row validation. The dlt decorators live in ``__init__.py``."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import requests

from pipelines import runs
from pipelines.errors import ConfigError, MalformedResponseError, SourceError
from pipelines.http import ApiClient, RetryPolicy, Verdict, retry_after_seconds
from pipelines.meta_ads import settings as s
from pipelines.quarantine import Tally, quarantine_record
from pipelines.reads import guard_list
from pipelines.validation import number_problem

log = logging.getLogger("adlake.meta_ads")
SOURCE = "meta_ads"


def classify(response: requests.Response) -> Verdict | None:
    """Read Meta's error envelope: throttle and transient codes are retried, the rest is final."""
    if response.ok:
        return None
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code")
    message = str(error.get("message") or f"HTTP {response.status_code}")
    label = f"{message} (code {code}" + (f", subcode {error['error_subcode']})" if error.get("error_subcode") else ")")
    if code in s.THROTTLE_CODES:
        return Verdict(f"throttled: {label}", retry=True, wait=_regain_seconds(response))
    if code in s.TRANSIENT_CODES or error.get("is_transient") or response.status_code >= 500:
        return Verdict(label if code else f"HTTP {response.status_code}", retry=True,
                       wait=retry_after_seconds(response))
    if code in s.AUTH_CODES or response.status_code == 401:
        return Verdict(f"access token rejected ({s.ENV_PREFIX}ACCESS_TOKEN): {label}")
    return Verdict(label if code else f"HTTP {response.status_code}")


def _parse_usage(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _number(value: Any) -> float:
    """A usage figure as a float; anything unreadable counts as 0 (headers are advisory)."""
    if isinstance(value, bool):
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


def usage_wait_seconds(headers: Mapping[str, str], threshold_pct: float) -> float:
    """Seconds to pause given Meta's usage headers, 0 when every budget is below the threshold.

    ``x-business-use-case-usage`` gives ``estimated_time_to_regain_access`` in minutes;
    ``x-ad-account-usage`` gives ``reset_time_duration`` in seconds.
    """
    highest, wait = 0.0, 0.0
    buc = _parse_usage(headers.get("x-business-use-case-usage"))
    for entries in buc.values() if isinstance(buc, dict) else ():
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict):
                highest = max(highest, *(_number(entry.get(k)) for k in ("call_count", "total_cputime", "total_time")))
                wait = max(wait, 60.0 * _number(entry.get("estimated_time_to_regain_access")))
    account = _parse_usage(headers.get("x-ad-account-usage"))
    if isinstance(account, dict):
        highest = max(highest, _number(account.get("acc_id_util_pct")))
        if highest >= threshold_pct:
            wait = max(wait, _number(account.get("reset_time_duration")))
    app = _parse_usage(headers.get("x-app-usage"))
    if isinstance(app, dict):
        highest = max(highest, *(_number(app.get(k)) for k in ("call_count", "total_cputime", "total_time")))
    if highest < threshold_pct and wait == 0.0:
        return 0.0
    return wait if wait > 0 else 60.0


def _regain_seconds(response: requests.Response) -> float | None:
    """The platform's own wait: regain/reset times from the usage headers, else ``Retry-After``."""
    if not any(h in response.headers for h in ("x-business-use-case-usage", "x-ad-account-usage", "x-app-usage")):
        return retry_after_seconds(response)
    return usage_wait_seconds(response.headers, threshold_pct=0.0)


@dataclass
class MetaClient:
    """Graph API client for one access token, pausing proactively on the usage headers."""

    base_url: str
    api_version: str
    access_token: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    usage_threshold_pct: float = s.USAGE_THRESHOLD_PCT
    max_throttle_wait_seconds: float = s.MAX_THROTTLE_WAIT_SECONDS
    page_limit: int = s.PAGE_LIMIT
    throttle_pauses: int = 0

    def __post_init__(self) -> None:
        self.http = ApiClient(
            SOURCE,
            self.base_url,
            base_url_setting=f"{s.ENV_PREFIX}BASE_URL",
            headers={"Authorization": f"Bearer {self.access_token}"},
            classify=classify,
            policy=self.policy,
            on_response=self._respect_usage,
        )

    def _respect_usage(self, response: requests.Response) -> None:
        if not response.ok:
            return  # failed calls are paced by the retry loop
        wait = min(usage_wait_seconds(response.headers, self.usage_threshold_pct), self.max_throttle_wait_seconds)
        if wait > 0:
            self.throttle_pauses += 1
            log.warning("meta_ads: usage above %.0f%%, pausing %.1f s before the next call",
                        self.usage_threshold_pct, wait)
            time.sleep(wait)

    def _versioned(self, path: str) -> str:
        return path if "://" in path else f"{self.api_version}/{path.lstrip('/')}"

    def get_object(self, path: str, fields: tuple[str, ...]) -> dict[str, Any]:
        """One Graph object."""
        data = self.http.get_json(self._versioned(path), {"fields": ",".join(fields)})
        if not isinstance(data, dict):
            raise SourceError(SOURCE, f"malformed response from GET {path}: expected an object")
        return data

    def get_pages(self, path: str, params: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Follow ``paging.next`` links until the last page; yields each page's ``data`` list."""
        url: str | None = self._versioned(path)
        query: Mapping[str, Any] | None = {**params, "limit": self.page_limit}
        while url:
            body = self.http.get_json(url, query)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise MalformedResponseError.shape(SOURCE, f"GET {path}", "no 'data' list", body)
            yield body["data"]
            paging = body.get("paging") or {}
            url = paging.get("next")
            query = None  # the next link carries every parameter, cursor included

    def account(self, account_id: str) -> dict[str, Any]:
        """The ad account, or a clear error naming the configured id when Meta does not know it."""
        try:
            return self.get_object(f"act_{account_id}", s.ACCOUNT_FIELDS)
        except SourceError as exc:
            if exc.transient or exc.status is None:
                raise
            raise ConfigError(
                f"meta_ads: ad account act_{account_id} from {s.ENV_PREFIX}ACCOUNT_IDS is not readable: "
                f"{str(exc).split('failed: ', 1)[-1]}"
            ) from exc

class AccountCache:
    """Reads each configured account once per run; every resource needs its time zone or id."""

    def __init__(self, client: MetaClient, ids: list[str]) -> None:
        self._client = client
        self._ids = ids
        self._rows: list[dict[str, Any]] | None = None

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = [self._client.account(account_id) for account_id in self._ids]
        return self._rows


def stamp(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Add the ingestion timestamp every raw row carries."""
    return [{**row, "_ingested_at": now} for row in rows]


def normalize_account_ids(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Accept ``"1,2"``, ``["act_1", "2"]``; return bare numeric ids without duplicates."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    ids = []
    for item in items:
        account = str(item).strip().removeprefix("act_")
        if not account:
            continue
        if not account.isdigit():
            raise ConfigError(f"meta_ads: {s.ENV_PREFIX}ACCOUNT_IDS has a non-numeric account id {item!r}")
        if account not in ids:
            ids.append(account)
    return ids


def insight_problem(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why an insights row cannot be loaded (reason code, detail), or None when it is sound."""
    for key in s.INSIGHT_KEY_FIELDS:
        if not row.get(key):
            return "missing_key", f"no {key}"
    try:
        date.fromisoformat(str(row["date_start"]))
    except ValueError:
        return "type_coercion", f"date_start={row['date_start']!r} is not a date"
    problem = number_problem(row, s.INSIGHT_INTEGER_FIELDS, s.INSIGHT_DECIMAL_FIELDS)
    if problem is not None:
        return problem
    for key in ("actions", "action_values"):
        value = row.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(a, dict) for a in value)):
            return "schema_violation", f"{key} is not a list of objects"
    return None


def sort_insights(
    page: list[dict[str, Any]], seen: set[tuple[str, str]], now: datetime, tally: Tally
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split a page into rows to load (stamped) and quarantine rows; drop (ad, day) repeats of this run."""
    good: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for row in page:
        tally.received += 1
        problem = insight_problem(row)
        if problem is not None:
            tally.quarantined += 1
            rejected.append(quarantine_record(SOURCE, "insights", problem, row, now))
            continue
        key = (str(row["ad_id"]), str(row["date_start"]))
        if key in seen:
            tally.duplicates += 1
            continue
        seen.add(key)
        good.append({**row, "_ingested_at": now})
    return good, rejected


def entity_pages(
    accounts: AccountCache, client: MetaClient, edge: str, fields: tuple[str, ...], table: str
) -> Iterator[Any]:
    """Every page of an account edge (campaigns, adsets, ads) of every account, stamped on arrival:
    ``{"table": ..., "good": rows, "rejected": quarantine rows}`` (an unreadable page ends that
    account's list as one quarantine row)."""
    now = datetime.now(UTC)
    counted = runs.tally(SOURCE, table)
    for account in accounts.rows():
        rejected: list[dict[str, Any]] = []
        pages = client.get_pages(f"act_{account['account_id']}/{edge}", {"fields": ",".join(fields)})
        for page in guard_list(SOURCE, table.split("__", 1)[1], f"account {account['account_id']}", pages,
                               counted, rejected):
            counted.received += len(page)
            yield {"table": table, "good": stamp(page, now), "rejected": []}
        if rejected:
            yield {"table": table, "good": [], "rejected": rejected}

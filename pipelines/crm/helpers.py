"""HubSpot CRM helpers: the error envelope, rate-limit waits, list and search paging, record validation.

The dlt decorators live in ``__init__.py``. Contacts carry personal data (email, phone): records are
kept as sent in ``raw`` but nothing here ever logs a record or a property value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from pipelines.crm import settings as s
from pipelines.errors import MalformedResponseError
from pipelines.http import ApiClient, RetryPolicy, Verdict, retry_after_seconds
from pipelines.quarantine import Tally, quarantine_record

log = logging.getLogger("adlake.crm")
SOURCE = s.SOURCE
Record = dict[str, Any]


def _interval_seconds(response: requests.Response) -> float | None:
    """HubSpot's rolling rate-limit window (``X-HubSpot-RateLimit-Interval-Milliseconds``) in seconds."""
    value = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    try:
        return max(0.0, float(value) / 1000.0) if value is not None else retry_after_seconds(response)
    except ValueError:
        return retry_after_seconds(response)


def classify(response: requests.Response) -> Verdict | None:
    """Read HubSpot's ``{"status": "error", "category": ...}`` envelope.

    429 waits for the rate-limit window and retries, 5xx retries, 401 fails fast naming the token setting.
    """
    if response.ok:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    category = str(body.get("category") or "")
    message = str(body.get("message") or f"HTTP {response.status_code}")
    label = f"{message} ({category})" if category else message
    if response.status_code == 429 or category == "RATE_LIMITS":
        return Verdict(f"throttled: {label}", retry=True, wait=_interval_seconds(response))
    if response.status_code >= 500:
        return Verdict(label, retry=True, wait=retry_after_seconds(response))
    if response.status_code == 401 or category in ("INVALID_AUTHENTICATION", "EXPIRED_AUTHENTICATION"):
        return Verdict(f"access token rejected ({s.ENV_PREFIX}ACCESS_TOKEN): {label}")
    return Verdict(label)


@dataclass
class CrmClient:
    """CRM v3 objects client for one private-app or OAuth token (sent as ``Authorization: Bearer``)."""

    base_url: str
    access_token: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    page_limit: int = s.PAGE_LIMIT

    def __post_init__(self) -> None:
        self.http = ApiClient(SOURCE, self.base_url, base_url_setting=f"{s.ENV_PREFIX}BASE_URL",
                              headers={"Authorization": f"Bearer {self.access_token}"},
                              classify=classify, policy=self.policy)

    def list_pages(self, kind: str, properties: tuple[str, ...]) -> Iterator[list[Record]]:
        """Every record of an object type, following ``paging.next.after``."""
        params: dict[str, Any] = {"limit": min(self.page_limit, s.LIST_MAX_LIMIT), "properties": ",".join(properties)}
        if kind == "deals":
            params["associations"] = "contacts"
        path = f"crm/v3/objects/{kind}"
        after: str | None = None
        while True:
            body = self.http.get_json(path, {**params, **({"after": after} if after else {})})
            yield _results(body, f"GET {path}")
            after = _next_after(body)
            if after is None:
                return

    def search_pages(self, kind: str, properties: tuple[str, ...], modified_property: str,
                     since_ms: int) -> Iterator[list[Record]]:
        """Records modified at or after ``since_ms`` (epoch milliseconds), through the search endpoint."""
        path = f"crm/v3/objects/{kind}/search"
        query: dict[str, Any] = {
            "filterGroups": [{"filters": [{"propertyName": modified_property, "operator": "GTE",
                                           "value": str(since_ms)}]}],
            "sorts": [{"propertyName": modified_property, "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": min(self.page_limit, s.SEARCH_MAX_LIMIT),
        }
        while True:
            body = self.http.post_json(path, query)
            records = _results(body, f"POST {path}")
            if kind == "deals":
                # Search answers carry no associations: read each page's deal -> contact links in one batch.
                attach_contacts(records, self.deal_contacts([str(r.get("id")) for r in records if r.get("id")]))
            yield records
            after = _next_after(body)
            if after is None:
                return
            query["after"] = after


    def deal_contacts(self, deal_ids: list[str]) -> dict[str, str]:
        """Deal id -> its first associated contact id (v4 batch read; deals without one are absent)."""
        found: dict[str, str] = {}
        for start in range(0, len(deal_ids), s.ASSOCIATIONS_MAX_INPUTS):
            inputs = [{"id": deal} for deal in deal_ids[start:start + s.ASSOCIATIONS_MAX_INPUTS]]
            body = self.http.post_json(s.DEAL_CONTACTS_PATH, {"inputs": inputs})
            for result in _results(body, f"POST {s.DEAL_CONTACTS_PATH}"):
                targets = result.get("to") or []
                deal = (result.get("from") or {}).get("id")
                if deal is not None and targets and isinstance(targets[0], dict) and "toObjectId" in targets[0]:
                    found[str(deal)] = str(targets[0]["toObjectId"])
        return found


def attach_contacts(records: list[Record], contacts: Mapping[str, str]) -> None:
    """Give searched deals the ``associations`` shape the list endpoint returns."""
    for record in records:
        if isinstance(record, dict) and str(record.get("id")) in contacts:
            record["associations"] = {"contacts": {"results": [{"id": contacts[str(record["id"])],
                                                                "type": "deal_to_contact"}]}}


def _results(body: Any, what: str) -> list[Record]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise MalformedResponseError.shape(SOURCE, what, "no 'results' list", body)
    return body["results"]


def _next_after(body: Mapping[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def parse_timestamp(value: Any) -> datetime | None:
    """A HubSpot timestamp (ISO 8601 with ``Z``, or epoch milliseconds) as an aware datetime, else None."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds, the form HubSpot search filters take for dates."""
    return int(moment.timestamp() * 1000)


def search_since(cursor: str | None, start: date | None) -> datetime | None:
    """Where a run starts: the cursor minus the overlap, else the configured start, else None (list all)."""
    if cursor:
        last = parse_timestamp(cursor)
        if last is not None:
            return last - timedelta(seconds=s.OVERLAP_SECONDS)
    if start is not None:
        return datetime(start.year, start.month, start.day, tzinfo=UTC)
    return None


def record_problem(record: Any, kind: str) -> tuple[str, str] | None:
    """Why a CRM record cannot be loaded (reason code, detail), or None when it is sound.

    Details name fields, never values: contact values are personal data.
    """
    if not isinstance(record, dict):
        return "schema_violation", "record is not an object"
    if not str(record.get("id") or "").isdigit():
        return "missing_key", "no numeric id"
    properties = record.get("properties")
    if not isinstance(properties, dict):
        return "schema_violation", "properties is not an object"
    modified = s.OBJECTS[kind][3]
    if parse_timestamp(properties.get(modified)) is None:
        return "type_coercion", f"{modified} is missing or not a timestamp"
    for name in ("createdate", "closedate"):
        if properties.get(name) not in (None, "") and parse_timestamp(properties[name]) is None:
            return "type_coercion", f"{name} is not a timestamp"
    for name in s.DECIMAL_PROPERTIES if kind == "deals" else ():
        value = properties.get(name)
        if value in (None, ""):
            continue
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return "type_coercion", f"{name} is not a decimal"
        if not number.is_finite():
            return "type_coercion", f"{name} is not a finite amount"
    return None


def contact_id(record: Mapping[str, Any]) -> str | None:
    """The first associated contact of a deal (``associations=contacts`` on the list endpoint)."""
    results = (((record.get("associations") or {}).get("contacts") or {}).get("results")) or []
    first = results[0] if results and isinstance(results[0], dict) else {}
    return str(first["id"]) if first.get("id") is not None else None


def flatten(record: Mapping[str, Any], kind: str, now: datetime) -> Record:
    """One raw row: the id, every property as sent, the object's own timestamps and the partition date."""
    _, _, _, modified, partition = s.OBJECTS[kind]
    properties = record["properties"]
    row: Record = {"id": str(record["id"]), **properties,
                   "created_at": record.get("createdAt"), "updated_at": record.get("updatedAt"),
                   "archived": record.get("archived")}
    if kind == "deals":
        row["contact_id"] = contact_id(record)
        # A deal belongs to the day it closed; an open deal to the day it last changed.
        moment = parse_timestamp(properties.get("closedate")) or parse_timestamp(properties.get(modified))
    else:
        moment = parse_timestamp(properties.get(modified))
    row[partition] = moment.date() if moment else None
    row["_ingested_at"] = now
    return row


def sort_records(records: list[Any], kind: str, seen: set[str], now: datetime,
                 tally: Tally) -> tuple[list[Record], list[Record], str | None]:
    """Split a page into rows to load and quarantine rows; drop ids already seen this run.

    Returns the rows, the rejects and the latest last-modified value among the loaded rows.
    """
    resource, modified = s.OBJECTS[kind][1], s.OBJECTS[kind][3]
    good: list[Record] = []
    rejected: list[Record] = []
    latest: datetime | None = None
    for record in records:
        tally.received += 1
        problem = record_problem(record, kind)
        if problem is not None:
            tally.quarantined += 1
            rejected.append(quarantine_record(SOURCE, resource, problem,
                                              record if isinstance(record, dict) else {"value": record}, now))
            continue
        if str(record["id"]) in seen:
            tally.duplicates += 1
            continue
        seen.add(str(record["id"]))
        good.append(flatten(record, kind, now))
        moment = parse_timestamp(record["properties"][modified])
        latest = moment if latest is None or (moment and moment > latest) else latest
    return good, rejected, latest.isoformat() if latest else None


def later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO timestamps (either may be missing)."""
    if not a or not b:
        return a or b
    first, second = parse_timestamp(a), parse_timestamp(b)
    return a if first and second and first >= second else b

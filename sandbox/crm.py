"""Emulation of a CRM export API (HubSpot CRM v3 objects) over the simulated B2B leads.

``GET /crm/v3/objects/{contacts|deals}?limit=&after=&properties=&associations=contacts`` and
``POST /crm/v3/objects/{contacts|deals}/search`` (filter on the last-modified date), with
``Authorization: Bearer``. Contacts appear when their lead converts; deals only when they close,
days or weeks later, so a deal's credit reaches adlake long after the touches that earned it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import numpy as np

from sandbox.identities import lookup
from sandbox.journeys import CONVERSION_TYPES, conversion_ids
from sandbox.server import Clock, Request, Response
from sandbox.world import World

DEFAULT_TOKEN = "sandbox-crm-token"
MAX_LIMIT = 100
SEARCH_MAX_LIMIT = 200
ASSOCIATIONS_MAX_INPUTS = 1000
OBJECTS = ("contacts", "deals")


def _error(status: int, message: str, category: str, *, headers: dict[str, str] | None = None,
           extra: dict[str, str] | None = None) -> Response:
    correlation = hashlib.sha256(f"{status}|{message}".encode()).hexdigest()
    body = {"status": "error", "message": message, "correlationId": f"{correlation[:8]}-{correlation[8:12]}",
            "category": category, **(extra or {})}
    return Response.json(status, body, headers)


class CrmApp:
    """Contacts and deals of the CRM, as of the sandbox clock."""

    prefix = "/crm"
    platform = "crm"

    def __init__(self, world: World, clock: Clock, *, token: str = DEFAULT_TOKEN) -> None:
        self.world = world
        self.clock = clock
        self.token = token

    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if parts == ["crm", "v4", "associations", "deals", "contacts", "batch", "read"] and request.method == "POST":
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
            try:
                return self._associations(request)
            except ValueError as exc:
                return _error(400, f"Invalid input: {exc}", "VALIDATION_ERROR")
        if len(parts) < 4 or parts[:3] != ["crm", "v3", "objects"] or parts[3] not in OBJECTS:
            return self.not_found(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        kind = parts[3]
        try:
            if len(parts) == 4 and request.method == "GET":
                return self._list(kind, request)
            if len(parts) == 5 and parts[4] == "search" and request.method == "POST":
                return self._search(kind, request)
        except ValueError as exc:
            return _error(400, f"Invalid input: {exc}", "VALIDATION_ERROR")
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return _error(404, f"Resource not found: {request.path}", "OBJECT_NOT_FOUND")

    def fault_response(self, kind: str, request: Request) -> Response:
        if kind == "throttle":
            headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Max": "100",
                       "X-HubSpot-RateLimit-Remaining": "0"}
            return _error(429, "You have reached your ten_secondly_rolling limit.", "RATE_LIMITS", headers=headers,
                          extra={"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"})
        if kind == "auth_expired":
            return _error(401, "The OAuth token used to make this call expired.", "EXPIRED_AUTHENTICATION")
        return _error(500, "internal error", "INTERNAL_ERROR")

    # -- records ---------------------------------------------------------------------------------
    def _moment(self, day: int, second: int) -> datetime:
        start = self.world.config.start_date
        return datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(days=int(day), seconds=int(second))

    @cached_property
    def _leads(self) -> dict[str, np.ndarray]:
        c = self.world.journeys.conversions
        leads = np.flatnonzero(c["kind"] == CONVERSION_TYPES.index("lead"))
        first = {}
        for i in leads.tolist():  # a contact is created by the person's first lead
            first.setdefault(int(c["person"][i]), i)
        return {"person": np.array(list(first), dtype=np.int64), "row": np.array(list(first.values()), dtype=np.int64)}

    def _records(self, kind: str) -> list[dict[str, Any]]:
        """Every record visible as of the clock, ordered by id."""
        as_of = self.clock.as_of
        limit = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(days=1)
        c = self.world.journeys.conversions
        if kind == "contacts":
            people = self._leads["person"].tolist()
            found = lookup(self.world.config.seed, self.world.journeys.population, people)
            out = []
            for person, row in zip(people, self._leads["row"].tolist(), strict=True):
                created = self._moment(c["day"][row], c["second"][row])
                if created < limit:
                    out.append(_contact(person, found[person], created))
            return sorted(out, key=lambda r: int(r["id"]))
        deals = self.world.journeys.deals
        ids = conversion_ids(c)
        out = []
        for i, row in enumerate(deals["conversion"].tolist()):
            closed = self._moment(deals["close_day"][i], deals["close_second"][i])
            if closed < limit:
                created = self._moment(c["day"][row], c["second"][row])
                out.append(_deal(ids[row], int(c["person"][row]), created, closed, int(deals["value_cents"][i])))
        return sorted(out, key=lambda r: int(r["id"]))

    # -- endpoints -------------------------------------------------------------------------------
    def _list(self, kind: str, request: Request) -> Response:
        limit = _limit(request.param("limit"), MAX_LIMIT)
        after = int(request.param("after") or 0)
        properties = (request.param("properties") or "").split(",") if request.param("properties") else None
        associations = request.param("associations") == "contacts" and kind == "deals"
        records = [r for r in self._records(kind) if int(r["id"]) > after]
        page = records[:limit]
        body: dict[str, Any] = {"results": [_shape(r, properties, associations) for r in page]}
        if len(records) > limit:
            cursor = page[-1]["id"]
            query = {k: v for k, v in request.query.items() if k != "after"}
            query["after"] = cursor
            link = f"{request.base_url}{request.path}?" + "&".join(f"{k}={v}" for k, v in sorted(query.items()))
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return Response.json(200, body)

    def _associations(self, request: Request) -> Response:
        """v4 batch read of deal -> contact associations: one result per deal that has any, ids
        without an association listed under ``errors`` (HubSpot answers 207 then)."""
        try:
            query = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise ValueError("the body is not JSON") from exc
        inputs = [str(item.get("id")) for item in query.get("inputs") or [] if isinstance(item, dict)]
        if not 1 <= len(inputs) <= ASSOCIATIONS_MAX_INPUTS:
            raise ValueError(f"between 1 and {ASSOCIATIONS_MAX_INPUTS} inputs are required")
        contacts = {r["id"]: r["_contact"] for r in self._records("deals")}
        results = [{"from": {"id": deal}, "to": [{"toObjectId": int(contacts[deal]), "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}]} for deal in inputs if deal in contacts]
        errors = [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": f"No deal {deal}",
                   "context": {"fromObjectId": [deal]}} for deal in inputs if deal not in contacts]
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body["errors"] = errors
            body["numErrors"] = len(errors)
        return Response.json(207 if errors else 200, body)

    def _search(self, kind: str, request: Request) -> Response:
        try:
            query = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise ValueError("the body is not JSON") from exc
        limit = _limit(str(query.get("limit", 10)), SEARCH_MAX_LIMIT)
        # Like HubSpot: results in the requested sort order (else by id), `after` an offset into them.
        offset = int(query.get("after") or 0)
        records = [r for r in self._records(kind) if _matches(r, query.get("filterGroups") or [])]
        records.sort(key=lambda r: int(r["id"]))
        for sort in reversed(query.get("sorts") or []):
            name = sort.get("propertyName")
            records.sort(key=lambda r, name=name: str(r["properties"].get(name) or ""),
                         reverse=sort.get("direction") == "DESCENDING")
        page = records[offset:offset + limit]
        body: dict[str, Any] = {"total": len(records),
                                "results": [_shape(r, query.get("properties"), False) for r in page]}
        if offset + limit < len(records):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return Response.json(200, body)


def _limit(value: str | None, maximum: int) -> int:
    limit = int(value or 10)
    if not 1 <= limit <= maximum:
        raise ValueError(f"limit must be between 1 and {maximum}")
    return limit


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _contact(person: int, who: dict[str, Any], created: datetime) -> dict[str, Any]:
    first, last = str(who["email"]).split("@")[0].split(".")[:2]
    properties = {
        "email": who["email"], "phone": who["phone_e164"], "firstname": first.capitalize(),
        "lastname": "".join(ch for ch in last if not ch.isdigit()).capitalize(), "company": who["company_id"],
        "lifecyclestage": "lead", "createdate": _iso(created), "lastmodifieddate": _iso(created),
        "hs_object_id": str(100_000 + person),
    }
    return {"id": str(100_000 + person), "properties": properties, "createdAt": _iso(created),
            "updatedAt": _iso(created), "archived": False}


def _deal(conversion_id: str, person: int, created: datetime, closed: datetime, cents: int) -> dict[str, Any]:
    number = int(hashlib.sha256(conversion_id.encode()).hexdigest()[:9], 16)
    properties = {
        "dealname": f"Nordlys B2B {conversion_id}", "amount": f"{cents // 100}.{cents % 100:02d}",
        "deal_currency_code": "PLN", "dealstage": "closedwon", "pipeline": "default",
        "createdate": _iso(created), "closedate": _iso(closed), "hs_lastmodifieddate": _iso(closed),
        "hs_object_id": str(number), "lead_event_id": f"order-{conversion_id}",
    }
    return {"id": str(number), "properties": properties, "createdAt": _iso(created), "updatedAt": _iso(closed),
            "archived": False, "_contact": str(100_000 + person)}


def _shape(record: dict[str, Any], properties: list[str] | None, associations: bool) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if not k.startswith("_")}
    if properties:
        # Like HubSpot: the object id and the requested properties (null when a property has no value).
        out["properties"] = {p: record["properties"].get(p) for p in ["hs_object_id", *properties]}
    if associations and "_contact" in record:
        out["associations"] = {"contacts": {"results": [{"id": record["_contact"], "type": "deal_to_contact"}]}}
    return out


def _matches(record: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
    """HubSpot search: filter groups are ORed, filters inside a group ANDed (GTE, LTE, GT, LT, EQ)."""
    if not groups:
        return True
    for group in groups:
        ok = True
        for f in group.get("filters", []):
            value = record["properties"].get(f.get("propertyName"))
            ok = ok and value is not None and _compare(str(value), f.get("operator", "EQ"), str(f.get("value")))
        if ok:
            return True
    return False


def _compare(value: str, operator: str, wanted: str) -> bool:
    left: Any = value
    right: Any = wanted
    if wanted.isdigit() and "T" in value:  # dates compare as epoch milliseconds, as HubSpot accepts
        left = int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC).timestamp() * 1000)
        right = int(wanted)
    ops = {"EQ": left == right, "NEQ": left != right, "GT": left > right, "GTE": left >= right,
           "LT": left < right, "LTE": left <= right}
    if operator not in ops:
        raise ValueError(f"unsupported operator {operator}")
    return ops[operator]


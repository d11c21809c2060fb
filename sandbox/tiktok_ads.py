"""Emulation of the TikTok Business API (v1.3) over the simulated world.

Faithful where a connector depends on it: errors are HTTP 200 with a non-zero ``code`` in the
envelope (``40100`` is the rate limit), list parameters (``dimensions``, ``metrics``, ``fields``,
``advertiser_ids``, ``filtering``) arrive JSON-encoded in the query string, metrics are strings,
``stat_time_day`` is ``"YYYY-MM-DD 00:00:00"`` in the advertiser's time zone (the world's local day),
reports and entity lists page with ``page``/``page_size`` until ``page_info.total_page``, and a
day's conversions keep growing while TikTok's attribution windows are open (the world's
``reported(ad, day, as_of)`` with the sandbox clock as ``as_of``); delivery never changes.

Sandbox choices where the real API is vague or undocumented: ``clicks`` are destination (link)
clicks, ``conversion`` is post-click plus post-view conversions of the optimisation event,
``stat_time_hour`` and non-BASIC reports are refused with 40002, an unknown path answers HTTP 404
with the envelope and code 40400. Writes: ``POST adgroup/budget/update/`` and ``adgroup/status/update/``
(JSON bodies) land in :class:`sandbox.controls.Controls` and show in ``adgroup/get/``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.controls import Controls
from sandbox.server import Clock, Request, Response
from sandbox.world import Ad, AdAccount, AdGroup, Campaign, World

DEFAULT_TOKEN = "sandbox-tiktok-token"
API_ROOT = "/open_api/v1.3"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
MAX_DAILY_SPAN_DAYS = 30  # inclusive days per call when grouping by stat_time_day
MAX_SPAN_DAYS = 365  # without a time dimension
DEFAULT_METRICS = ("spend", "impressions")

# Envelope codes (HTTP 200 unless stated).
CODE_OK = 0
CODE_NO_PERMISSION = 40001  # advertiser unknown or not granted to the token
CODE_BAD_PARAMETER = 40002
CODE_RATE_LIMITED = 40100
CODE_TOKEN_MISSING = 40104
CODE_TOKEN_INVALID = 40105  # incorrect or revoked; TikTok's long-lived tokens end by revocation
CODE_NOT_FOUND = 40400  # sandbox choice, served with HTTP 404
CODE_SERVER_ERROR = 50000  # served with HTTP 500

# data_level -> the one ID dimension it may be grouped by.
LEVEL_ID_DIMENSION = {
    "AUCTION_ADVERTISER": "advertiser_id",
    "AUCTION_CAMPAIGN": "campaign_id",
    "AUCTION_ADGROUP": "adgroup_id",
    "AUCTION_AD": "ad_id",
}
TIME_DIMENSION = "stat_time_day"
_OBJECTIVES = {"OUTCOME_SALES": "WEB_CONVERSIONS", "OUTCOME_LEADS": "LEAD_GENERATION", "OUTCOME_TRAFFIC": "TRAFFIC"}
_IGNORED_STATUS_FILTERS = ("STATUS_ALL", "STATUS_NOT_DELETE")  # nothing is ever deleted in the world


class _ApiError(Exception):
    """A failure TikTok reports inside a 200 envelope."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Totals:
    """What the platform reports for one report row, summed over ads and days."""

    spend_cents: int = 0
    impressions: int = 0
    clicks: int = 0
    conversion: int = 0
    value_cents: int = 0
    ads: list[Ad] = field(default_factory=list)

    def add(self, ad: Ad, spend_cents: int, impressions: int, clicks: int, conversion: int, value: int) -> None:
        self.spend_cents += spend_cents
        self.impressions += impressions
        self.clicks += clicks
        self.conversion += conversion
        self.value_cents += value
        self.ads.append(ad)


def money(cents: int) -> str:
    """TikTok's money strings: ``"41.20"`` in the advertiser's currency."""
    return f"{cents // 100}.{cents % 100:02d}"


def _ratio(numerator: int, denominator: int, scale: int = 1) -> str:
    """A rate rounded half-up to two decimals; ``"0.00"`` when the denominator is zero."""
    if denominator == 0:
        return "0.00"
    value = Decimal(numerator * scale) / Decimal(denominator)
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# Report metrics computed from the row totals (all rendered as strings, as TikTok does).
_METRICS: dict[str, Callable[[_Totals], str]] = {
    "spend": lambda t: money(t.spend_cents),
    "impressions": lambda t: str(t.impressions),
    "clicks": lambda t: str(t.clicks),
    "ctr": lambda t: _ratio(t.clicks, t.impressions, 100),
    "cpc": lambda t: _ratio(t.spend_cents, t.clicks * 100),
    "cpm": lambda t: _ratio(t.spend_cents * 10, t.impressions),
    "conversion": lambda t: str(t.conversion),
    "cost_per_conversion": lambda t: _ratio(t.spend_cents, t.conversion * 100),
    "conversion_rate": lambda t: _ratio(t.conversion, t.clicks, 100),
    "total_conversion_value": lambda t: money(t.value_cents),
}
# Attribute metrics: the names of the row's entity, valid from the level that has them downwards.
_ATTRIBUTES: dict[str, tuple[tuple[str, ...], Callable[[Ad], str]]] = {
    "campaign_name": (("AUCTION_CAMPAIGN", "AUCTION_ADGROUP", "AUCTION_AD"), lambda ad: ad.ad_group.campaign.name),
    "campaign_id": (("AUCTION_ADGROUP", "AUCTION_AD"), lambda ad: ad.ad_group.campaign.campaign_id),
    "adgroup_name": (("AUCTION_ADGROUP", "AUCTION_AD"), lambda ad: ad.ad_group.name),
    "adgroup_id": (("AUCTION_AD",), lambda ad: ad.ad_group.ad_group_id),
    "ad_name": (("AUCTION_AD",), lambda ad: ad.name),
}
_ID_OF: dict[str, Callable[[Ad], str]] = {
    "advertiser_id": lambda ad: ad.ad_group.campaign.account.account_id,
    "campaign_id": lambda ad: ad.ad_group.campaign.campaign_id,
    "adgroup_id": lambda ad: ad.ad_group.ad_group_id,
    "ad_id": lambda ad: ad.ad_id,
}


class TikTokApp:
    """The Business API's reporting endpoint and the advertiser, campaign, ad group and ad reads."""

    prefix = "/tiktok"
    platform = "tiktok_ads"

    def __init__(self, world: World, clock: Clock, *, token: str = DEFAULT_TOKEN) -> None:
        self.world = world
        self.clock = clock
        self.token = token
        self._routes: dict[str, Callable[[Request], dict[str, Any]]] = {
            f"{API_ROOT}/report/integrated/get/": self._report,
            f"{API_ROOT}/advertiser/info/": self._advertiser_info,
            f"{API_ROOT}/campaign/get/": self._campaigns,
            f"{API_ROOT}/adgroup/get/": self._ad_groups,
            f"{API_ROOT}/ad/get/": self._ads,
        }
        self._writes: dict[str, Callable[[Request], dict[str, Any]]] = {
            f"{API_ROOT}/adgroup/budget/update/": self._update_budgets,
            f"{API_ROOT}/adgroup/status/update/": self._update_statuses,
        }
        self.controls = Controls(self.platform)  # budget and status writes (the world itself never changes)

    # -- HTTP ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer one request; failures travel as HTTP 200 with a non-zero code."""
        path = request.path.rstrip("/") + "/"
        route = self._routes.get(path) or self._writes.get(path)
        if route is None:
            return self.not_found(request)
        expected = "POST" if path in self._writes else "GET"
        try:
            if request.method != expected:
                raise _ApiError(CODE_BAD_PARAMETER,
                                f"Request method {request.method} is not supported, use {expected}.")
            self._authorize(request)
            data = route(request)
        except _ApiError as exc:
            return self._envelope(request, exc.code, exc.message)
        return self._envelope(request, CODE_OK, "OK", data)

    def not_found(self, request: Request) -> Response:
        """TikTok's envelope on a 404: the path is not an API endpoint."""
        return self._envelope(request, CODE_NOT_FOUND, f"Not Found: {request.path} is not an API endpoint.",
                              status=404)

    def fault_response(self, kind: str, request: Request) -> Response:
        """Rate limit and token errors in a 200 envelope; a server error as HTTP 500 with code 50000."""
        if kind == "throttle":
            return self._envelope(request, CODE_RATE_LIMITED, "App reaches the QPS limit. Please retry later.")
        if kind == "auth_expired":
            return self._envelope(request, CODE_TOKEN_INVALID, "Access token is incorrect or has been revoked.")
        return self._envelope(request, CODE_SERVER_ERROR, "Internal service error. Please retry later.", status=500)

    def _envelope(self, request: Request, code: int, message: str, data: dict[str, Any] | None = None,
                  status: int = 200) -> Response:
        payload = {"code": code, "message": message, "request_id": self._request_id(request), "data": data or {}}
        return Response.json(status, payload)

    def _request_id(self, request: Request) -> str:
        """TikTok's ``<yyyymmddHHMMSS><hex>`` ids, derived from the request so replies are byte-stable."""
        seed = "|".join((request.method, request.path, *(f"{k}={v}" for k, v in sorted(request.query.items()))))
        digest = hashlib.sha256(seed.encode()).hexdigest()[:20].upper()
        return f"{self.clock.as_of:%Y%m%d}000000{digest}"

    def _authorize(self, request: Request) -> None:
        supplied = request.headers.get("access-token", "").strip()
        if not supplied:
            raise _ApiError(CODE_TOKEN_MISSING, "Access token is null. Put it in the Access-Token header.")
        if supplied != self.token:
            raise _ApiError(CODE_TOKEN_INVALID, "Access token is incorrect or has been revoked.")

    def _advertiser(self, request: Request) -> AdAccount:
        advertiser_id = request.param("advertiser_id")
        if not advertiser_id:
            raise _ApiError(CODE_BAD_PARAMETER, "advertiser_id: Missing data for required field.")
        account = self.world.account(self.platform, advertiser_id)
        if account is None:
            raise _ApiError(CODE_NO_PERMISSION, f"No permission to operate advertiser {advertiser_id}.")
        return account

    # -- report ---------------------------------------------------------------------------------
    def _report(self, request: Request) -> dict[str, Any]:
        account = self._advertiser(request)
        _expect(request, "service_type", "AUCTION", default="AUCTION")
        _expect(request, "report_type", "BASIC")
        level = request.param("data_level") or ""
        if level not in LEVEL_ID_DIMENSION:
            raise _ApiError(CODE_BAD_PARAMETER, f"data_level: Must be one of {', '.join(LEVEL_ID_DIMENSION)}.")
        dimensions = _dimensions(request, level)
        metrics = _json_list(request, "metrics") or list(DEFAULT_METRICS)
        _check_metrics(metrics, level, LEVEL_ID_DIMENSION[level] in dimensions)
        start, end = _date_range(request, daily=TIME_DIMENSION in dimensions)
        page, page_size = _paging(request)
        totals = self._totals(account, dimensions, start, min(end, self.clock.as_of))
        rows = [_report_row(dimensions, key, totals[key], metrics) for key in sorted(totals)]
        return _page(rows, page, page_size)

    def _totals(self, account: AdAccount, dimensions: list[str], start: date,
                until: date) -> dict[tuple[str, ...], _Totals]:
        """Sum what the platform reports per combination of the requested dimensions."""
        totals: dict[tuple[str, ...], _Totals] = {}
        for ad in self.world.all_ads(account):
            for day in _days(start, until):
                reported = self.world.reported(ad, day, self.clock.as_of)
                if reported is None:
                    continue
                d = reported.delivery
                key = tuple(f"{day.isoformat()} 00:00:00" if name == TIME_DIMENSION else _ID_OF[name](ad)
                            for name in dimensions)
                totals.setdefault(key, _Totals()).add(
                    ad, d.spend_cents, d.impressions, d.link_clicks,
                    reported.click_conversions + reported.view_conversions, reported.conversion_value_cents)
        return totals

    # -- entities -------------------------------------------------------------------------------
    def _advertiser_info(self, request: Request) -> dict[str, Any]:
        ids = _json_list(request, "advertiser_ids")
        if not ids:
            raise _ApiError(CODE_BAD_PARAMETER, "advertiser_ids: Missing data for required field.")
        fields = _json_list(request, "fields")
        accounts = []
        for advertiser_id in ids:
            account = self.world.account(self.platform, str(advertiser_id))
            if account is None:
                raise _ApiError(CODE_NO_PERMISSION, f"No permission to operate advertiser {advertiser_id}.")
            accounts.append(account)
        return {"list": [_pick(self._advertiser_row(a), fields) for a in accounts]}

    def _advertiser_row(self, account: AdAccount) -> dict[str, Any]:
        created = self.world.config.start_date - timedelta(days=90)
        return {"advertiser_id": account.account_id, "name": account.name, "currency": account.currency,
                "timezone": account.timezone, "display_timezone": account.timezone, "status": "STATUS_ENABLE",
                "role": "ROLE_ADVERTISER", "company": account.name.rsplit(" ", 1)[0],
                "create_time": int(_moment(created, account.account_id).timestamp())}

    def _campaigns(self, request: Request) -> dict[str, Any]:
        account = self._advertiser(request)
        filters = _filtering(request, ("campaign_ids",))
        rows = [self._campaign_row(c) for c in self.world.campaigns(account)
                if _kept(filters, campaign_ids=c.campaign_id)]
        return _page([_pick(r, _json_list(request, "fields")) for r in rows], *_paging(request))

    def _campaign_row(self, campaign: Campaign) -> dict[str, Any]:
        return {"advertiser_id": campaign.account.account_id, "campaign_id": campaign.campaign_id,
                "campaign_name": campaign.name, "objective_type": _OBJECTIVES.get(campaign.objective, "TRAFFIC"),
                "budget_mode": "BUDGET_MODE_INFINITE", "budget": 0.0, "operation_status": "ENABLE",
                "secondary_status": "CAMPAIGN_STATUS_ENABLE",
                **_audit(campaign.campaign_id, campaign.created_day, campaign.created_day)}

    def _ad_groups(self, request: Request) -> dict[str, Any]:
        account = self._advertiser(request)
        filters = _filtering(request, ("campaign_ids", "adgroup_ids"))
        rows = [self._ad_group_row(g) for c in self.world.campaigns(account) for g in self.world.ad_groups(c)
                if _kept(filters, campaign_ids=c.campaign_id, adgroup_ids=g.ad_group_id)]
        return _page([_pick(r, _json_list(request, "fields")) for r in rows], *_paging(request))

    # -- writes ---------------------------------------------------------------------------------
    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise _ApiError(CODE_BAD_PARAMETER, "The request body is not valid JSON.") from exc
        if not isinstance(body, dict):
            raise _ApiError(CODE_BAD_PARAMETER, "The request body must be a JSON object.")
        return body

    def _groups_of(self, body: dict[str, Any]) -> dict[str, AdGroup]:
        advertiser_id = str(body.get("advertiser_id") or "")
        account = self.world.account(self.platform, advertiser_id)
        if account is None:
            raise _ApiError(CODE_NO_PERMISSION, f"No permission to operate advertiser {advertiser_id}.")
        return {g.ad_group_id: g for c in self.world.campaigns(account) for g in self.world.ad_groups(c)}

    def _update_budgets(self, request: Request) -> dict[str, Any]:
        """``adgroup/budget/update/``: ``{"advertiser_id", "budget": [{"adgroup_id", "budget"}]}`` (main units)."""
        body = self._body(request)
        groups = self._groups_of(body)
        updates = body.get("budget")
        if not isinstance(updates, list) or not updates:
            raise _ApiError(CODE_BAD_PARAMETER, "budget: Missing data for required field.")
        checked = []
        for item in updates:
            group_id = str((item or {}).get("adgroup_id") or "") if isinstance(item, dict) else ""
            amount = item.get("budget") if isinstance(item, dict) else None
            if group_id not in groups:
                raise _ApiError(CODE_BAD_PARAMETER, f"adgroup_id: {group_id or 'missing'} does not exist.")
            if not isinstance(amount, int | float) or amount < 1:
                raise _ApiError(CODE_BAD_PARAMETER, f"budget: must be a number >= 1, not {amount!r}.")
            checked.append((groups[group_id], round(float(amount) * 100)))
        for group, cents in checked:
            self.controls.set_budget("adgroup", group.ad_group_id, self._budget_cents(group), cents)
        return {}

    def _update_statuses(self, request: Request) -> dict[str, Any]:
        """``adgroup/status/update/``: ``{"advertiser_id", "adgroup_ids", "operation_status"}``."""
        body = self._body(request)
        groups = self._groups_of(body)
        status = body.get("operation_status")
        if status not in ("ENABLE", "DISABLE", "DELETE"):
            raise _ApiError(CODE_BAD_PARAMETER, "operation_status: Must be one of ENABLE, DISABLE, DELETE.")
        ids = body.get("adgroup_ids")
        if not isinstance(ids, list) or not ids or any(str(i) not in groups for i in ids):
            raise _ApiError(CODE_BAD_PARAMETER, "adgroup_ids: unknown or missing ad group ids.")
        for group_id in map(str, ids):
            self.controls.set_status("adgroup", group_id, self.controls.status(group_id, "ENABLE"), status)
        return {"adgroup_ids": [str(i) for i in ids], "status": status}

    def _budget_cents(self, group: AdGroup) -> int:
        return self.controls.budget(group.ad_group_id, group.daily_budget_cents)

    def _ad_group_row(self, group: AdGroup) -> dict[str, Any]:
        campaign = group.campaign
        status = self.controls.status(group.ad_group_id, "ENABLE")
        return {"advertiser_id": campaign.account.account_id, "campaign_id": campaign.campaign_id,
                "campaign_name": campaign.name, "adgroup_id": group.ad_group_id, "adgroup_name": group.name,
                "budget_mode": "BUDGET_MODE_DAY", "budget": self._budget_cents(group) / 100,
                "schedule_start_time": f"{group.start_day.isoformat()} 00:00:00",
                "optimization_goal": "CONVERT", "billing_event": "OCPM", "operation_status": status,
                "secondary_status": "ADGROUP_STATUS_DELIVERY_OK" if status == "ENABLE" else "ADGROUP_STATUS_DISABLE",
                **_audit(group.ad_group_id, campaign.created_day, group.start_day)}

    def _ads(self, request: Request) -> dict[str, Any]:
        account = self._advertiser(request)
        filters = _filtering(request, ("campaign_ids", "adgroup_ids", "ad_ids"))
        rows = [self._ad_row(ad) for ad in self.world.all_ads(account)
                if _kept(filters, campaign_ids=ad.ad_group.campaign.campaign_id,
                         adgroup_ids=ad.ad_group.ad_group_id, ad_ids=ad.ad_id)]
        return _page([_pick(r, _json_list(request, "fields")) for r in rows], *_paging(request))

    def _ad_row(self, ad: Ad) -> dict[str, Any]:
        group, campaign = ad.ad_group, ad.ad_group.campaign
        stopped = ad.end_day is not None and ad.end_day < self.clock.as_of
        modified = min(ad.end_day, self.clock.as_of) if stopped and ad.end_day else ad.start_day
        return {"advertiser_id": campaign.account.account_id, "campaign_id": campaign.campaign_id,
                "campaign_name": campaign.name, "adgroup_id": group.ad_group_id, "adgroup_name": group.name,
                "ad_id": ad.ad_id, "ad_name": ad.name, "operation_status": "DISABLE" if stopped else "ENABLE",
                "secondary_status": "AD_STATUS_DISABLE" if stopped else "AD_STATUS_DELIVERY_OK",
                **_audit(ad.ad_id, campaign.created_day, modified)}


# -- parameters ------------------------------------------------------------------------------------
def _expect(request: Request, name: str, expected: str, default: str | None = None) -> None:
    value = request.param(name, default)
    if value != expected:
        raise _ApiError(CODE_BAD_PARAMETER, f"{name}: the sandbox supports {expected} only (got {value!r}).")


def _json_value(request: Request, name: str) -> Any:
    """A JSON-encoded query parameter (TikTok sends arrays and objects this way), or None when absent."""
    raw = request.param(name)
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _ApiError(CODE_BAD_PARAMETER, f"{name}: Not a valid JSON value: {raw}") from exc


def _json_list(request: Request, name: str) -> list[str]:
    value = _json_value(request, name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise _ApiError(CODE_BAD_PARAMETER, f"{name}: Not a valid list of strings.")
    return [str(v) for v in value]


def _dimensions(request: Request, level: str) -> list[str]:
    """At most one ID dimension (the level's own) and one time dimension, in the order asked."""
    dimensions = _json_list(request, "dimensions")
    if not dimensions:
        raise _ApiError(CODE_BAD_PARAMETER, "dimensions: Missing data for required field.")
    if len(set(dimensions)) != len(dimensions):
        raise _ApiError(CODE_BAD_PARAMETER, "dimensions: Duplicate values are not allowed.")
    allowed = {LEVEL_ID_DIMENSION[level], TIME_DIMENSION}
    unknown = [d for d in dimensions if d not in allowed]
    if unknown:
        raise _ApiError(CODE_BAD_PARAMETER, f"dimensions: {', '.join(unknown)} not supported for data_level "
                        f"{level}; use {LEVEL_ID_DIMENSION[level]} and/or {TIME_DIMENSION}.")
    return dimensions


def _check_metrics(metrics: list[str], level: str, has_id: bool) -> None:
    for metric in metrics:
        if metric in _METRICS:
            continue
        if metric not in _ATTRIBUTES:
            raise _ApiError(CODE_BAD_PARAMETER, f"metrics: Invalid metric {metric}.")
        levels = _ATTRIBUTES[metric][0]
        # Without the level's ID dimension a row mixes entities, so it has no single name.
        if level not in levels or not has_id:
            raise _ApiError(CODE_BAD_PARAMETER, f"metrics: {metric} needs data_level in {', '.join(levels)} "
                            f"and the {LEVEL_ID_DIMENSION[level]} dimension.")


def _date_range(request: Request, *, daily: bool) -> tuple[date, date]:
    try:
        start = date.fromisoformat(request.param("start_date") or "")
        end = date.fromisoformat(request.param("end_date") or "")
    except ValueError as exc:
        raise _ApiError(CODE_BAD_PARAMETER, "start_date/end_date: Not a valid date, expected YYYY-MM-DD.") from exc
    if end < start:
        raise _ApiError(CODE_BAD_PARAMETER, "end_date: Must be later than or equal to start_date.")
    limit = MAX_DAILY_SPAN_DAYS if daily else MAX_SPAN_DAYS
    if (end - start).days + 1 > limit:
        raise _ApiError(CODE_BAD_PARAMETER, f"The time span between start_date and end_date cannot exceed "
                        f"{limit} days.")
    return start, end


def _paging(request: Request) -> tuple[int, int]:
    try:
        page = int(request.param("page") or 1)
        page_size = int(request.param("page_size") or DEFAULT_PAGE_SIZE)
    except ValueError as exc:
        raise _ApiError(CODE_BAD_PARAMETER, "page/page_size: Not a valid integer.") from exc
    if page < 1:
        raise _ApiError(CODE_BAD_PARAMETER, "page: Must be greater than or equal to 1.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise _ApiError(CODE_BAD_PARAMETER, f"page_size: Must be between 1 and {MAX_PAGE_SIZE}.")
    return page, page_size


def _filtering(request: Request, allowed: tuple[str, ...]) -> dict[str, set[str]]:
    """ID filters from the JSON ``filtering`` object; status filters that keep everything are accepted."""
    value = _json_value(request, "filtering")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _ApiError(CODE_BAD_PARAMETER, "filtering: Not a valid JSON object.")
    filters: dict[str, set[str]] = {}
    for key, wanted in value.items():
        if key == "primary_status" and wanted in _IGNORED_STATUS_FILTERS:
            continue
        if key not in allowed or not isinstance(wanted, list):
            raise _ApiError(CODE_BAD_PARAMETER, f"filtering.{key}: not supported by the sandbox here; "
                            f"supported: {', '.join(allowed)} (lists) and primary_status=STATUS_ALL.")
        filters[key] = {str(v) for v in wanted}
    return filters


def _kept(filters: dict[str, set[str]], **ids: str) -> bool:
    return all(ids[key] in wanted for key, wanted in filters.items())


def _pick(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    if not fields:
        return row
    unknown = [f for f in fields if f not in row]
    if unknown:
        raise _ApiError(CODE_BAD_PARAMETER, f"fields: Invalid field(s) {', '.join(unknown)}.")
    return {f: row[f] for f in fields}


# -- output ----------------------------------------------------------------------------------------
def _report_row(dimensions: list[str], key: tuple[str, ...], totals: _Totals, metrics: list[str]) -> dict[str, Any]:
    representative = totals.ads[0]  # attribute metrics are only allowed when every ad shares them
    values = {m: _METRICS[m](totals) if m in _METRICS else _ATTRIBUTES[m][1](representative) for m in metrics}
    return {"dimensions": dict(zip(dimensions, key, strict=True)), "metrics": values}


def _page(rows: list[dict[str, Any]], page: int, page_size: int) -> dict[str, Any]:
    """One page and TikTok's ``page_info``; a page past the end is empty, not an error."""
    total = len(rows)
    info = {"page": page, "page_size": page_size, "total_number": total, "total_page": math.ceil(total / page_size)}
    return {"page_info": info, "list": rows[(page - 1) * page_size: page * page_size]}


def _moment(day: date, seed: str) -> datetime:
    """A deterministic time of day (UTC) for an entity event on ``day``."""
    minutes = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % (24 * 60)
    return datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)


def _audit(entity_id: str, created: date, modified: date) -> dict[str, str]:
    """``create_time``/``modify_time`` as TikTok writes them (UTC); never modified before created."""
    created_at = _moment(created, entity_id)
    modified_at = max(created_at, _moment(modified, entity_id + "|modified"))
    return {"create_time": created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "modify_time": modified_at.strftime("%Y-%m-%d %H:%M:%S")}


def _days(since: date, until: date) -> Iterable[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)

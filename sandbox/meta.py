"""Emulation of the Meta Marketing API (Graph API) over the simulated world.

Faithful where the connector depends on it: numbers as strings, empty metrics absent,
``actions``/``action_values`` arrays with attribution windows, cursor paging with ``next``
links, Graph error envelopes with codes and subcodes, usage headers, and restatement:
conversions for a day keep maturing for 28 days after it (relative to the sandbox clock).
Writes: ``POST /<version>/<ad set or campaign id>`` with ``daily_budget`` (minor units) or ``status``
land in :class:`sandbox.controls.Controls` and show in the ad set / campaign reads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from sandbox.controls import Controls
from sandbox.server import Clock, Request, Response
from sandbox.world import Ad, AdAccount, AdGroup, Campaign, Reported, World

DEFAULT_TOKEN = "sandbox-meta-token"
MAX_PAGE = 500
DEFAULT_PAGE = 25

PURCHASE = "offsite_conversion.fb_pixel_purchase"
LEAD = "offsite_conversion.fb_pixel_lead"
LINK_CLICK = "link_click"
WINDOWS = ("1d_click", "7d_click", "28d_click", "1d_view")

_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/act_(?P<account>[^/]+)(?:/(?P<edge>[a-z_]+))?/?$")
_RUN_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<run>\d{6,})(?:/(?P<edge>insights))?/?$")
_OBJECT_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<object>\d{6,})/?$")
_LEVELS = ("account", "campaign", "adset", "ad")
_WRITABLE_STATUSES = ("ACTIVE", "PAUSED", "DELETED", "ARCHIVED")


@dataclass
class MetaLimits:
    """Per-account call budget behind the usage headers (Meta scores calls, not rows)."""

    calls_per_window: int = 600
    window_seconds: float = 300.0
    throttle_reset_seconds: int = 1


def money(cents: int) -> str:
    """Meta's money strings: ``"96.18"``."""
    return f"{cents // 100}.{cents % 100:02d}"


def _error(status: int, message: str, code: int, *, subcode: int | None = None, kind: str = "OAuthException",
           transient: bool = False, headers: dict[str, str] | None = None, trace_seed: str = "") -> Response:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    error["fbtrace_id"] = base64.b64encode(hashlib.sha256(trace_seed.encode()).digest()[:9]).decode()
    return Response.json(status, {"error": error}, headers)


class MetaApp:
    """The Graph API's ad-account endpoints: the account, its campaigns, ad sets, ads and insights."""

    prefix = "/meta"
    platform = "meta"

    def __init__(self, world: World, clock: Clock, *, token: str = DEFAULT_TOKEN,
                 limits: MetaLimits | None = None, async_polls: int = 2) -> None:
        self.world = world
        self.clock = clock
        self.token = token
        self.limits = limits or MetaLimits()
        self._calls: dict[str, list[float]] = defaultdict(list)
        self.blocked_calls = 0  # requests refused for exceeding the call budget
        self.async_polls = async_polls  # status polls before a report run completes
        self._runs: dict[str, dict[str, Any]] = {}
        # Paging re-requests the same report page after page: compute it once per clock.
        self._report_cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.controls = Controls(self.platform)  # budget and status writes (the world itself never changes)
        self._objects: dict[str, Campaign | AdGroup] | None = None

    # -- HTTP ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.body:
            # Graph API calls may carry their parameters form-encoded in the body.
            request.query.update({k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()})
        if request.method not in ("GET", "POST"):
            return _error(400, "Unsupported request method", 100, trace_seed=request.path)
        obj = _OBJECT_PATH.match(request.path)
        if obj is not None and obj["object"] in self._entities():
            return self._object(self._entities()[obj["object"]], request)
        run = _RUN_PATH.match(request.path)
        match = _PATH.match(request.path)
        if match is None and run is None:
            return self.not_found(request)
        if not self._authorized(request):
            return _error(400, "Invalid OAuth access token - Cannot parse access token", 190,
                          trace_seed=request.path)
        if run is not None:
            return self._report_run(run["run"], run["edge"], request)
        if request.method == "POST" and match["edge"] != "insights":
            return _error(400, "Unsupported post request.", 100, trace_seed=request.path)
        account = self.world.account("meta", match["account"])
        if account is None:
            return _error(
                400,
                f"Unsupported get request. Object with ID 'act_{match['account']}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                100, subcode=33, kind="GraphMethodException", trace_seed=request.path,
            )
        usage, blocked = self._count_call(account)
        if blocked:
            self.blocked_calls += 1
            return _error(400, "There have been too many calls from this ad-account. Wait a bit and try again.",
                          80004, subcode=2446079, transient=True, headers=usage, trace_seed=request.path)
        edge = match["edge"]
        handlers = {None: self._account, "campaigns": self._campaigns, "adsets": self._ad_sets,
                    "ads": self._ads, "insights": self._insights}
        if edge not in handlers:
            return self.not_found(request)
        try:
            if request.method == "POST":
                return self._start_run(account, request, usage)
            return handlers[edge](account, request, usage)
        except _BadParamError as exc:
            return _error(400, f"(#100) {exc}", 100, kind="OAuthException", trace_seed=request.path)

    # -- campaign and ad set objects: read and update (budget, status) ---------------------------------
    def _entities(self) -> dict[str, Campaign | AdGroup]:
        if self._objects is None:
            objects: dict[str, Campaign | AdGroup] = {}
            for account in self.world.accounts.get(self.platform, []):
                for campaign in self.world.campaigns(account):
                    objects[campaign.campaign_id] = campaign
                    objects.update({g.ad_group_id: g for g in self.world.ad_groups(campaign)})
            self._objects = objects
        return self._objects

    def _object_row(self, entity: Campaign | AdGroup) -> dict[str, Any]:
        if isinstance(entity, AdGroup):
            budget = self.controls.budget(entity.ad_group_id,
                                          self.world.daily_budget_cents(entity, self.clock.as_of))
            status = self.controls.status(entity.ad_group_id, "ACTIVE")
            return {"id": entity.ad_group_id, "account_id": entity.campaign.account.account_id,
                    "campaign_id": entity.campaign.campaign_id, "name": entity.name, "status": status,
                    "effective_status": status, "daily_budget": str(budget)}
        status = self.controls.status(entity.campaign_id, "ACTIVE")
        row = {"id": entity.campaign_id, "account_id": entity.account.account_id, "name": entity.name,
               "status": status, "effective_status": status}
        if entity.campaign_id in self.controls.budgets:  # campaign budgets exist once someone sets one
            row["daily_budget"] = str(self.controls.budgets[entity.campaign_id])
        return row

    def _object(self, entity: Campaign | AdGroup, request: Request) -> Response:
        """``GET /<id>`` reads a campaign or ad set; ``POST /<id>`` with ``daily_budget`` or ``status`` updates it."""
        if not self._authorized(request):
            return _error(400, "Invalid OAuth access token - Cannot parse access token", 190, trace_seed=request.path)
        if request.method == "GET":
            return Response.json(200, _pick(self._object_row(entity), request, default=("id",), always=("id",)))
        kind = "adset" if isinstance(entity, AdGroup) else "campaign"
        entity_id = entity.ad_group_id if isinstance(entity, AdGroup) else entity.campaign_id
        budget, status = request.param("daily_budget"), request.param("status")
        if budget is None and status is None:
            return _error(400, "(#100) The parameter daily_budget or status is required", 100, trace_seed=request.path)
        if budget is not None and (not budget.isdigit() or int(budget) < 100):
            return _error(400, f"(#100) Invalid parameter: daily_budget must be a whole number of minor units "
                          f">= 100, not {budget!r}", 100, subcode=1885272, trace_seed=request.path)
        if status is not None and status not in _WRITABLE_STATUSES:
            return _error(400, f"(#100) Param status must be one of {{{', '.join(_WRITABLE_STATUSES)}}}", 100,
                          trace_seed=request.path)
        before = self._object_row(entity)
        if budget is not None:
            self.controls.set_budget(kind, entity_id, int(before.get("daily_budget") or 0), int(budget))
        if status is not None:
            self.controls.set_status(kind, entity_id, before["status"], status)
        return Response.json(200, {"success": True})

    # -- async report runs ---------------------------------------------------------------------------
    def _start_run(self, account: AdAccount, request: Request, usage: dict[str, str]) -> Response:
        """``POST act_<id>/insights``: an async report run over the same parameters."""
        _time_range(request.param("time_range"))  # validate now, as Meta does
        params = {k: v for k, v in sorted(request.query.items()) if k != "access_token"}
        run_id = str(int(hashlib.sha256(json.dumps([account.account_id, params]).encode()).hexdigest()[:14], 16))
        with self._lock:
            self._runs[run_id] = {"account": account.account_id, "params": params, "polls": 0}
        return Response.json(200, {"report_run_id": run_id}, usage)

    def _report_run(self, run_id: str, edge: str | None, request: Request) -> Response:
        """``GET <run id>`` (status, completes after ``async_polls`` polls) and ``GET <run id>/insights``."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and edge is None:
                run["polls"] += 1
        if run is None:
            return _error(400, f"Unsupported get request. Object with ID '{run_id}' does not exist", 100,
                          subcode=33, kind="GraphMethodException", trace_seed=request.path)
        done = run["polls"] > self.async_polls
        if edge is None:
            percent = 100 if done else min(99, 100 * run["polls"] // (self.async_polls + 1))
            status = "Job Completed" if done else ("Job Not Started" if run["polls"] == 1 else "Job Running")
            return Response.json(200, {"id": run_id, "account_id": run["account"], "async_status": status,
                                       "async_percent_completion": percent})
        if not done:
            return _error(400, "(#100) The report is not ready yet", 100, trace_seed=request.path)
        account = self.world.account("meta", run["account"])
        stored = Request("GET", request.path, {**run["params"], **{k: v for k, v in request.query.items()
                                                                  if k in ("after", "limit")}},
                         request.headers, b"", request.base_url)
        return self._insights(account, stored, {})

    def not_found(self, request: Request) -> Response:
        return _error(404, f"Unknown path components: {request.path}", 2500, trace_seed=request.path)

    def fault_response(self, kind: str, request: Request) -> Response:
        if kind == "throttle":
            headers = self._usage_headers(100.0, self.limits.throttle_reset_seconds, regain_minutes=0)
            return _error(400, "(#17) User request limit reached", 17, subcode=2446079, transient=True,
                          headers=headers, trace_seed=request.path)
        if kind == "auth_expired":
            return _error(400, "Error validating access token: Session has expired.", 190, subcode=463,
                          trace_seed=request.path)
        return _error(500, "An unexpected error has occurred. Please retry your request later.", 2,
                      transient=True, trace_seed=request.path)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        supplied = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        return (supplied or request.param("access_token")) == self.token

    # -- usage ----------------------------------------------------------------------------------
    def _count_call(self, account: AdAccount) -> tuple[dict[str, str], bool]:
        now = time.monotonic()
        with self._lock:
            calls = [t for t in self._calls[account.account_id] if now - t < self.limits.window_seconds]
            blocked = len(calls) >= self.limits.calls_per_window
            if not blocked:
                calls.append(now)
            self._calls[account.account_id] = calls
            remaining = self.limits.window_seconds - (now - calls[0]) if calls else self.limits.window_seconds
        pct = min(100.0, 100.0 * len(calls) / self.limits.calls_per_window)
        return self._usage_headers(pct, math.ceil(remaining), regain_minutes=math.ceil(remaining / 60)
                                   if blocked else 0, business=account.business_id), blocked

    def _usage_headers(self, pct: float, reset_seconds: int, *, regain_minutes: int,
                       business: str = "0") -> dict[str, str]:
        pct = round(pct, 2)
        buc = {business: [{"type": "ads_insights", "call_count": pct, "total_cputime": round(pct / 2, 2),
                           "total_time": round(pct / 2, 2), "estimated_time_to_regain_access": regain_minutes,
                           "ads_api_access_tier": "standard_access"}]}
        return {
            "x-business-use-case-usage": json.dumps(buc, separators=(",", ":")),
            "x-ad-account-usage": json.dumps({"acc_id_util_pct": pct, "reset_time_duration": reset_seconds},
                                             separators=(",", ":")),
            "x-app-usage": json.dumps({"call_count": round(pct / 4, 2), "total_cputime": 0, "total_time": 0},
                                      separators=(",", ":")),
        }

    # -- objects --------------------------------------------------------------------------------
    def _account(self, account: AdAccount, request: Request, usage: dict[str, str]) -> Response:
        full = {"id": f"act_{account.account_id}", "account_id": account.account_id, "name": account.name,
                "currency": account.currency, "timezone_name": account.timezone, "account_status": 1,
                "business_name": "Nordlys Home"}
        return Response.json(200, _pick(full, request, default=("id",), always=("id",)), usage)

    def _timestamp(self, account: AdAccount, day: date, seed: str) -> str:
        minutes = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % (24 * 60)
        moment = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(account.timezone)) + timedelta(minutes=minutes)
        return moment.strftime("%Y-%m-%dT%H:%M:%S%z")

    def _campaigns(self, account: AdAccount, request: Request, usage: dict[str, str]) -> Response:
        rows = [{
            "id": c.campaign_id, "account_id": account.account_id, "name": c.name, "objective": c.objective,
            "status": self.controls.status(c.campaign_id, "ACTIVE"),
            "effective_status": self.controls.status(c.campaign_id, "ACTIVE"),
            "created_time": self._timestamp(account, c.created_day, c.campaign_id),
            "updated_time": self._timestamp(account, c.created_day, c.campaign_id + "u"),
        } for c in self.world.campaigns(account)]
        return self._page(rows, request, usage)

    def _ad_sets(self, account: AdAccount, request: Request, usage: dict[str, str]) -> Response:
        rows = [{
            "id": g.ad_group_id, "account_id": account.account_id, "campaign_id": c.campaign_id, "name": g.name,
            "status": self.controls.status(g.ad_group_id, "ACTIVE"),
            "effective_status": self.controls.status(g.ad_group_id, "ACTIVE"),
            "daily_budget": str(self.controls.budget(g.ad_group_id,
                                                     self.world.daily_budget_cents(g, self.clock.as_of))),
            # A bid cap that moves with the budget revisions (minor units, like the budget).
            "bid_amount": str(max(100, self.world.daily_budget_cents(g, self.clock.as_of) // 40)),
            "optimization_goal": "OFFSITE_CONVERSIONS", "billing_event": "IMPRESSIONS",
            "created_time": self._timestamp(account, g.start_day, g.ad_group_id),
            "updated_time": self._timestamp(account, self.world.budget_changed_on(g, self.clock.as_of),
                                            g.ad_group_id + "u"),
        } for c in self.world.campaigns(account) for g in self.world.ad_groups(c)]
        return self._page(rows, request, usage)

    def _ads(self, account: AdAccount, request: Request, usage: dict[str, str]) -> Response:
        as_of = self.clock.as_of
        rows = [{
            "id": ad.ad_id, "account_id": account.account_id, "campaign_id": ad.ad_group.campaign.campaign_id,
            "adset_id": ad.ad_group.ad_group_id, "name": ad.name,
            "status": "PAUSED" if ad.end_day is not None and ad.end_day < as_of else "ACTIVE",
            "effective_status": "PAUSED" if ad.end_day is not None and ad.end_day < as_of else "ACTIVE",
            "created_time": self._timestamp(account, ad.start_day, ad.ad_id),
            "updated_time": self._timestamp(account, min(ad.end_day or ad.start_day, as_of), ad.ad_id + "u"),
        } for ad in self.world.all_ads(account)]
        return self._page(rows, request, usage)

    # -- insights -------------------------------------------------------------------------------
    def _insights(self, account: AdAccount, request: Request, usage: dict[str, str]) -> Response:
        level = request.param("level", "account")
        if level not in _LEVELS:
            raise _BadParamError(f"Param level must be one of {{{', '.join(_LEVELS)}}}")
        if request.param("time_increment", "1") != "1":
            raise _BadParamError("the sandbox supports time_increment=1 only")
        since, until = _time_range(request.param("time_range"))
        until = min(until, self.clock.as_of)  # the future has not happened yet
        key = (account.account_id, level, since, until, self.clock.as_of)
        with self._lock:
            rows = self._report_cache.get(key)
        if rows is None:
            reports = (
                r for ad in self.world.all_ads(account) for day in _days(since, until)
                if (r := self.world.reported(ad, day, self.clock.as_of)) is not None
            )
            rows = [self._format(account, k, totals) for k, totals in _aggregate(reports, level)]
            with self._lock:
                if len(self._report_cache) >= 32:
                    self._report_cache.clear()
                self._report_cache[key] = rows
        return self._page(rows, request, usage, default_fields=("date_start", "date_stop", "impressions", "spend"))

    def _format(self, account: AdAccount, key: tuple[Any, ...], t: dict[str, int]) -> dict[str, Any]:
        day, ad = key[0], key[1]
        row: dict[str, Any] = {"account_id": account.account_id, "account_name": account.name,
                               "account_currency": account.currency}
        if ad is not None:
            level_entities = _entity_names(ad, len(key) - 2)
            row.update(level_entities)
        row.update({
            "date_start": day.isoformat(), "date_stop": day.isoformat(),
            "impressions": str(t["impressions"]), "clicks": str(t["clicks"]),
            "inline_link_clicks": str(t["link_clicks"]), "spend": money(t["spend_cents"]),
            "reach": str(t["reach"]), "frequency": f"{t['impressions'] / t['reach']:.6f}",
        })
        actions, values = _actions(t)
        if actions:
            row["actions"] = actions
        if values:
            row["action_values"] = values
        return row

    def _page(self, rows: list[dict[str, Any]], request: Request, usage: dict[str, str],
              default_fields: tuple[str, ...] = ("id",)) -> Response:
        try:
            limit = min(MAX_PAGE, max(1, int(request.param("limit") or DEFAULT_PAGE)))
            offset = _decode_cursor(request.param("after")) if request.param("after") else 0
        except ValueError as exc:
            raise _BadParamError(f"invalid paging parameter: {exc}") from exc
        page = [_pick(r, request, default=default_fields) for r in rows[offset:offset + limit]]
        body: dict[str, Any] = {"data": page}
        if rows:
            paging: dict[str, Any] = {"cursors": {"before": _encode_cursor(offset),
                                                  "after": _encode_cursor(offset + len(page) - 1 + 1)}}
            if offset + limit < len(rows):
                query = {k: v for k, v in request.query.items() if k not in ("after", "before", "access_token")}
                query.update({"limit": str(limit), "after": _encode_cursor(offset + limit)})
                paging["next"] = f"{request.base_url}{request.path}?{urlencode(query)}"
            body["paging"] = paging
        return Response.json(200, body, usage)


class _BadParamError(ValueError):
    pass


def _pick(row: dict[str, Any], request: Request, *, default: tuple[str, ...],
          always: tuple[str, ...] = ()) -> dict[str, Any]:
    fields = request.param("fields")
    wanted = [f.strip() for f in fields.split(",")] if fields else list(default)
    return {k: row[k] for k in (*always, *wanted) if k in row}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    if not text.startswith("offset:"):
        raise ValueError("unknown cursor")
    return int(text.removeprefix("offset:"))


def _time_range(value: str | None) -> tuple[date, date]:
    if not value:
        raise _BadParamError("time_range is required by the sandbox (Meta defaults to the last 30 days)")
    try:
        parsed = json.loads(value)
        since, until = date.fromisoformat(parsed["since"]), date.fromisoformat(parsed["until"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _BadParamError(f"Param time_range is not a valid {{since, until}} object: {value}") from exc
    if until < since:
        raise _BadParamError("time_range until is before since")
    return since, until


def _days(since: date, until: date) -> Iterable[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def _level_key(ad: Ad, level: str) -> tuple[Any, ...]:
    depth = _LEVELS.index(level)
    ids = (ad.ad_group.campaign.campaign_id, ad.ad_group.ad_group_id, ad.ad_id)[:depth]
    return ids


def _aggregate(reports: Iterable[Reported], level: str) -> list[tuple[tuple[Any, ...], dict[str, int]]]:
    """Sum what the platform reports to the requested level, per day."""
    totals: dict[tuple[Any, ...], dict[str, int]] = {}
    representative: dict[tuple[Any, ...], Ad] = {}
    for r in reports:
        d = r.delivery
        key = (d.day, *_level_key(d.ad, level))
        t = totals.setdefault(key, defaultdict(int))
        representative[key] = d.ad
        t["spend_cents"] += d.spend_cents
        t["impressions"] += d.impressions
        t["reach"] += d.reach
        t["clicks"] += d.clicks
        t["link_clicks"] += d.link_clicks
        t["purchase_28d_click"] += r.click_28d
        t["purchase_7d_click"] += r.click_7d
        t["purchase_1d_click"] += r.click_1d
        t["purchase_1d_view"] += r.view_conversions
        t["purchase_value_cents"] += r.conversion_value_cents
        t["lead"] += r.leads
    ordered = sorted(totals, key=lambda k: tuple(str(x) for x in k))
    return [((key[0], representative[key] if len(key) > 1 else None, *key[1:]), totals[key]) for key in ordered]


def _entity_names(ad: Ad, depth: int) -> dict[str, str]:
    names: dict[str, str] = {}
    if depth >= 1:
        names.update(campaign_id=ad.ad_group.campaign.campaign_id, campaign_name=ad.ad_group.campaign.name)
    if depth >= 2:
        names.update(adset_id=ad.ad_group.ad_group_id, adset_name=ad.ad_group.name)
    if depth >= 3:
        names.update(ad_id=ad.ad_id, ad_name=ad.name)
    return names


def _actions(t: dict[str, int]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The ``actions`` and ``action_values`` arrays; ``value`` follows the default 7d_click_1d_view setting."""
    actions: list[dict[str, str]] = []
    values: list[dict[str, str]] = []
    if t["link_clicks"]:
        actions.append({"action_type": LINK_CLICK, "value": str(t["link_clicks"]),
                        "1d_click": str(t["link_clicks"]), "7d_click": str(t["link_clicks"]),
                        "28d_click": str(t["link_clicks"])})
    purchases = {w: t[f"purchase_{w}"] for w in WINDOWS}
    default = purchases["7d_click"] + purchases["1d_view"]
    if default or purchases["28d_click"]:
        entry = {"action_type": PURCHASE, "value": str(default)}
        entry.update({w: str(n) for w, n in purchases.items() if n})
        actions.append(entry)
        total = purchases["28d_click"] + purchases["1d_view"]
        per = t["purchase_value_cents"] / total if total else 0
        value_entry = {"action_type": PURCHASE, "value": money(round(per * default))}
        value_entry.update({w: money(round(per * n)) for w, n in purchases.items() if n})
        values.append(value_entry)
    if t["lead"]:
        lead = str(t["lead"])
        actions.append({"action_type": LEAD, "value": lead, "7d_click": lead, "28d_click": lead})
    return actions, values

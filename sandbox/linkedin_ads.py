"""Emulation of the LinkedIn Marketing API (versioned ``/rest`` endpoints) over the simulated world.

Faithful where a connector depends on it: ``adAnalytics`` has **no pagination** (every element in one
response, ``paging.count`` fixed at 10), at most 20 ``fields`` per call, Rest.li 2.0 values
(``dateRange=(start:(year:..,month:..,day:..),end:(..))``, ``List(urn:li:...)``), money as strings
(``costInLocalCurrency``, ``costInUsd``, ``conversionValueInLocalCurrency``) and counts as numbers,
days in UTC, the ``Linkedin-Version`` header checked (400 when absent, 426 when not active), entity
finders paged with ``pageSize``/``pageToken`` → ``metadata.nextPageToken``, and LinkedIn's error
envelopes (``status``, ``serviceErrorCode``, ``code``, ``message``).

Mapping onto the world: campaign group = world campaign, LinkedIn campaign = world ad group,
creative = world ad. USD costs use the fixed rates in :data:`USD_RATES`. A day's conversions keep
growing while LinkedIn's attribution windows are open (the world's ``reported(ad, day, as_of)`` with
the sandbox clock as ``as_of``); delivery and cost never change.

Sandbox choices where the real API is vague: unknown accounts and facet URNs answer 403
ACCESS_DENIED (LinkedIn does not say whether something exists or is only not yours); metrics the
world does not model (social actions, video, ...) are accepted and reported as 0 so that the
20-field limit can be met with real names; ``clicks`` are all chargeable clicks and
``landingPageClicks`` the link clicks; ``externalWebsiteConversions`` = post-click + post-view.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.server import Clock, Request, Response
from sandbox.world import Ad, AdAccount, AdGroup, Campaign, World

DEFAULT_TOKEN = "sandbox-linkedin-token"
MAX_FIELDS = 20
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
ACTIVE_VERSION_MONTHS = 12  # LinkedIn serves each monthly version for about a year
# Fixed, deterministic conversion rates to USD (one unit of the currency in USD).
USD_RATES: dict[str, Decimal] = {"EUR": Decimal("1.08"), "PLN": Decimal("0.25"), "USD": Decimal("1")}

URN_ACCOUNT = "urn:li:sponsoredAccount:"
URN_CAMPAIGN_GROUP = "urn:li:sponsoredCampaignGroup:"
URN_CAMPAIGN = "urn:li:sponsoredCampaign:"
URN_CREATIVE = "urn:li:sponsoredCreative:"

_ENTITY_PATH = re.compile(
    r"^/rest/adAccounts/(?P<account>\d+)(?:/(?P<finder>adCampaignGroups|adCampaigns|creatives))?/?$")
_VERSION = re.compile(r"^(?P<year>\d{4})(?P<month>\d{2})(?:\.\d{2})?$")
_OBJECTIVES = {"OUTCOME_SALES": "WEBSITE_CONVERSION", "OUTCOME_LEADS": "LEAD_GENERATION",
               "OUTCOME_TRAFFIC": "WEBSITE_VISIT"}
_STATUSES = ("ACTIVE", "PAUSED", "ARCHIVED", "COMPLETED", "CANCELED", "DRAFT", "PENDING_DELETION", "REMOVED")


@dataclass
class _Totals:
    """What LinkedIn reports for one element, summed over creatives and days (cents in local currency)."""

    currency: str
    cost_cents: int = 0
    impressions: int = 0
    clicks: int = 0
    landing_page_clicks: int = 0
    post_click: int = 0
    post_view: int = 0
    value_cents: int = 0
    leads: int = 0


def money(cents: int) -> str:
    """Local-currency money string: ``"311.75"``."""
    return f"{cents // 100}.{cents % 100:02d}"


def usd(cents: int, currency: str) -> str:
    """Exact USD amount of local cents at the fixed rate (no rounding: rates have two decimals)."""
    return format(Decimal(cents) * USD_RATES[currency] / 100, "f")


# Modelled adAnalytics metrics, computed from the element's totals.
_METRICS: dict[str, Callable[[_Totals], Any]] = {
    "impressions": lambda t: t.impressions,
    "clicks": lambda t: t.clicks,
    "landingPageClicks": lambda t: t.landing_page_clicks,
    "totalEngagements": lambda t: t.clicks,  # no social actions in the world: engagements are the clicks
    "costInLocalCurrency": lambda t: money(t.cost_cents),
    "costInUsd": lambda t: usd(t.cost_cents, t.currency),
    "externalWebsiteConversions": lambda t: t.post_click + t.post_view,
    "externalWebsitePostClickConversions": lambda t: t.post_click,
    "externalWebsitePostViewConversions": lambda t: t.post_view,
    "conversionValueInLocalCurrency": lambda t: money(t.value_cents),
    "oneClickLeads": lambda t: t.leads,
}
# Real metrics the world has no activity for: accepted, always 0.
_UNMODELLED = ("likes", "comments", "shares", "follows", "reactions", "otherEngagements", "videoViews",
               "videoStarts", "videoCompletions", "videoFirstQuartileCompletions", "videoMidpointCompletions",
               "videoThirdQuartileCompletions", "oneClickLeadFormOpens", "opens", "sends", "jobApplications")
_DEFAULT_FIELDS = ("dateRange", "pivotValues", "impressions", "clicks")
_FACETS = {"accounts": URN_ACCOUNT, "campaignGroups": URN_CAMPAIGN_GROUP, "campaigns": URN_CAMPAIGN,
           "creatives": URN_CREATIVE}
_PIVOTS: dict[str, Callable[[Ad], str]] = {
    "ACCOUNT": lambda ad: f"{URN_ACCOUNT}{ad.ad_group.campaign.account.account_id}",
    "CAMPAIGN_GROUP": lambda ad: f"{URN_CAMPAIGN_GROUP}{ad.ad_group.campaign.campaign_id}",
    "CAMPAIGN": lambda ad: f"{URN_CAMPAIGN}{ad.ad_group.ad_group_id}",
    "CREATIVE": lambda ad: f"{URN_CREATIVE}{ad.ad_id}",
}
_FACET_PIVOT = {"accounts": "ACCOUNT", "campaignGroups": "CAMPAIGN_GROUP", "campaigns": "CAMPAIGN",
                "creatives": "CREATIVE"}


class _ApiError(Exception):
    """A failure answered with LinkedIn's error envelope."""

    def __init__(self, status: int, code: str, message: str, service_code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.service_code = status, code, message, service_code

    def response(self) -> Response:
        body: dict[str, Any] = {"status": self.status}
        if self.service_code is not None:
            body["serviceErrorCode"] = self.service_code
        body.update(code=self.code, message=self.message)
        return Response.json(self.status, body, {"X-RestLi-Protocol-Version": "2.0.0"})


def _bad_request(message: str) -> _ApiError:
    return _ApiError(400, "ILLEGAL_ARGUMENT", message, 100)


class LinkedInApp:
    """``adAnalytics`` and the ad account, campaign group, campaign and creative reads."""

    prefix = "/linkedin"
    platform = "linkedin_ads"

    def __init__(self, world: World, clock: Clock, *, token: str = DEFAULT_TOKEN) -> None:
        self.world = world
        self.clock = clock
        self.token = token

    # -- HTTP ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer one request, checking token, version header and protocol version first."""
        entity = _ENTITY_PATH.match(request.path)
        if request.path.rstrip("/") != "/rest/adAnalytics" and entity is None:
            return self.not_found(request)
        try:
            if request.method != "GET":
                raise _ApiError(405, "METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed here")
            self._authorize(request)
            version = self._version(request)
            if request.headers.get("x-restli-protocol-version") != "2.0.0":
                raise _bad_request("The sandbox speaks Rest.li 2.0 only: send X-Restli-Protocol-Version: 2.0.0")
            if entity is None:
                return Response.json(200, self._analytics(request), _HEADERS)
            account = self._account(entity["account"], version)
            return Response.json(200, self._entities(account, entity["finder"], request), _HEADERS)
        except _ApiError as exc:
            return exc.response()

    def not_found(self, request: Request) -> Response:
        """LinkedIn's answer for a path that maps to no resource."""
        return _ApiError(404, "RESOURCE_NOT_FOUND", "No virtual resource found", 0).response()

    def fault_response(self, kind: str, request: Request) -> Response:
        """The daily application/member throttle, an expired token, or a 500."""
        if kind == "throttle":
            error = _ApiError(429, "TOO_MANY_REQUESTS", "Resource level throttle APPLICATION_AND_MEMBER DAY limit "
                              "for calls to this resource is reached.")
        elif kind == "auth_expired":
            error = _ApiError(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65602)
        else:
            error = _ApiError(500, "INTERNAL_SERVER_ERROR", "Internal Server Error")
        return error.response()

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header.removeprefix("Bearer ").strip() != self.token:
            raise _ApiError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)

    def _version(self, request: Request) -> str:
        """The requested ``YYYYMM`` version; active means released within a year before the clock's month."""
        raw = request.headers.get("linkedin-version", "").strip()
        if not raw:
            raise _ApiError(400, "VERSION_MISSING", "A version must be present. Please specify a version by "
                            "adding the LinkedIn-Version header.")
        match = _VERSION.match(raw)
        if match is None:
            raise _ApiError(426, "NONEXISTENT_VERSION", f"Requested version {raw} is not active")
        year, month = int(match["year"]), int(match["month"])
        age = (self.clock.as_of.year - year) * 12 + self.clock.as_of.month - month
        if not 1 <= month <= 12 or not 0 <= age <= ACTIVE_VERSION_MONTHS:
            raise _ApiError(426, "NONEXISTENT_VERSION", f"Requested version {year:04d}{month:02d}01 is not active")
        return f"{year:04d}{month:02d}01"

    def _account(self, account_id: str, version: str) -> AdAccount:
        account = self.world.account(self.platform, account_id)
        if account is None:
            raise _ApiError(403, "ACCESS_DENIED", f"Not enough permissions to access: adAccounts.GET.{version}", 100)
        return account

    # -- adAnalytics ----------------------------------------------------------------------------
    def _analytics(self, request: Request) -> dict[str, Any]:
        if request.param("q") != "analytics":
            raise _bad_request("The sandbox supports the q=analytics finder only")
        pivot = request.param("pivot") or ""
        if pivot not in _PIVOTS:
            raise _bad_request(f"Invalid value for param pivot: {pivot!r}; the sandbox supports {', '.join(_PIVOTS)}")
        granularity = request.param("timeGranularity") or ""
        if granularity not in ("DAILY", "MONTHLY", "ALL"):
            raise _bad_request(f"Invalid value for param timeGranularity: {granularity!r}")
        fields = _fields(request.param("fields"))
        start, end = _date_range(request.param("dateRange"), self.clock.as_of)
        ads = self._faceted_ads(request)
        totals = self._totals(ads, pivot, granularity, start, end)
        elements = [_element(fields, bucket, urn, totals[bucket, urn]) for bucket, urn in sorted(totals)]
        # No pagination: everything in one response, with LinkedIn's constant paging block.
        return {"paging": {"start": 0, "count": 10, "links": []}, "elements": elements}

    def _faceted_ads(self, request: Request) -> list[Ad]:
        """Creatives selected by every facet given (accounts, campaignGroups, campaigns, creatives)."""
        every = [ad for account in self.world.accounts.get(self.platform, []) for ad in self.world.all_ads(account)]
        ads = every
        given = False
        for facet, urn_prefix in _FACETS.items():
            raw = request.param(facet)
            if raw is None:
                continue
            given = True
            urns = _urn_list(facet, raw, urn_prefix)
            key = _PIVOTS[_FACET_PIVOT[facet]]
            known = {key(ad) for ad in every}
            if denied := sorted(urns - known):
                raise _ApiError(403, "ACCESS_DENIED", f"Not enough permissions to access: {', '.join(denied)}", 100)
            ads = [ad for ad in ads if key(ad) in urns]
        if not given:
            raise _bad_request("One of the facets accounts, campaignGroups, campaigns or creatives is required")
        return ads

    def _totals(self, ads: list[Ad], pivot: str, granularity: str, start: date,
                end: date) -> dict[tuple[tuple[date, date], str], _Totals]:
        as_of = self.clock.as_of
        totals: dict[tuple[tuple[date, date], str], _Totals] = {}
        for ad in ads:
            currency = ad.ad_group.campaign.account.currency
            for day in _days(start, min(end, as_of)):
                reported = self.world.reported(ad, day, as_of)
                if reported is None:
                    continue
                d = reported.delivery
                t = totals.setdefault((_bucket(day, granularity, start, end), _PIVOTS[pivot](ad)), _Totals(currency))
                t.cost_cents += d.spend_cents
                t.impressions += d.impressions
                t.clicks += d.clicks
                t.landing_page_clicks += d.link_clicks
                t.post_click += reported.click_conversions
                t.post_view += reported.view_conversions
                t.value_cents += reported.conversion_value_cents
                t.leads += reported.leads
        return totals

    # -- entities -------------------------------------------------------------------------------
    def _entities(self, account: AdAccount, finder: str | None, request: Request) -> dict[str, Any]:
        if finder is None:
            return self._account_row(account)
        expected_q = "criteria" if finder == "creatives" else "search"
        if request.param("q") != expected_q:
            raise _bad_request(f"{finder} needs the q={expected_q} finder")
        rows = {"adCampaignGroups": self._campaign_group_rows, "adCampaigns": self._campaign_rows,
                "creatives": self._creative_rows}[finder](account, request)
        return _page(rows, request)

    def _account_row(self, account: AdAccount) -> dict[str, Any]:
        created = self.world.config.start_date - timedelta(days=120)
        return {"id": int(account.account_id), "name": account.name, "currency": account.currency,
                "status": "ACTIVE", "type": "BUSINESS", "test": False, "servingStatuses": ["RUNNABLE"],
                "reference": f"urn:li:organization:{account.business_id[:9]}",
                "changeAuditStamps": _stamps(account.account_id, created, created)}

    def _campaign_group_rows(self, account: AdAccount, request: Request) -> list[dict[str, Any]]:
        search = _search(request.param("search"), ("status",))
        return [{
            "id": int(c.campaign_id), "account": f"{URN_ACCOUNT}{account.account_id}", "name": c.name,
            "status": "ACTIVE", "test": False, "servingStatuses": ["RUNNABLE"], "backfilled": False,
            "runSchedule": {"start": _millis(c.created_day, c.campaign_id + "|start")},
            "changeAuditStamps": _stamps(c.campaign_id, c.created_day, c.created_day),
        } for c in self.world.campaigns(account) if _matches(search, status="ACTIVE")]

    def _campaign_rows(self, account: AdAccount, request: Request) -> list[dict[str, Any]]:
        search = _search(request.param("search"), ("status", "campaignGroup"))
        return [self._campaign_row(account, g) for c in self.world.campaigns(account)
                for g in self.world.ad_groups(c)
                if _matches(search, status="ACTIVE", campaignGroup=f"{URN_CAMPAIGN_GROUP}{c.campaign_id}")]

    def _campaign_row(self, account: AdAccount, group: AdGroup) -> dict[str, Any]:
        campaign: Campaign = group.campaign
        return {
            "id": int(group.ad_group_id), "account": f"{URN_ACCOUNT}{account.account_id}",
            "campaignGroup": f"{URN_CAMPAIGN_GROUP}{campaign.campaign_id}", "name": group.name,
            "status": "ACTIVE", "type": "SPONSORED_UPDATES", "costType": "CPM", "test": False,
            "objectiveType": _OBJECTIVES.get(campaign.objective, "WEBSITE_VISIT"),
            "dailyBudget": {"amount": money(group.daily_budget_cents), "currencyCode": account.currency},
            "runSchedule": {"start": _millis(group.start_day, group.ad_group_id + "|start")},
            "changeAuditStamps": _stamps(group.ad_group_id, campaign.created_day, group.start_day),
        }

    def _creative_rows(self, account: AdAccount, request: Request) -> list[dict[str, Any]]:
        campaigns = statuses = None
        if request.param("campaigns"):
            campaigns = _urn_list("campaigns", request.param("campaigns"), URN_CAMPAIGN)
        if request.param("intendedStatuses"):
            statuses = set(_restli_list("intendedStatuses", request.param("intendedStatuses")))
        rows = []
        for ad in self.world.all_ads(account):
            row = self._creative_row(account, ad)
            if (campaigns is None or row["campaign"] in campaigns) and (
                    statuses is None or row["intendedStatus"] in statuses):
                rows.append(row)
        return rows

    def _creative_row(self, account: AdAccount, ad: Ad) -> dict[str, Any]:
        """The versioned Creatives API: URN ids and top-level ``createdAt``/``lastModifiedAt``."""
        stopped = ad.end_day is not None and ad.end_day < self.clock.as_of
        modified = ad.end_day if stopped and ad.end_day else ad.start_day
        created_at = _millis(ad.ad_group.campaign.created_day, ad.ad_id)
        return {
            "id": f"{URN_CREATIVE}{ad.ad_id}", "account": f"{URN_ACCOUNT}{account.account_id}",
            "campaign": f"{URN_CAMPAIGN}{ad.ad_group.ad_group_id}", "name": ad.name,
            "intendedStatus": "PAUSED" if stopped else "ACTIVE", "isServing": not stopped, "isTest": False,
            "createdAt": created_at, "lastModifiedAt": max(created_at, _millis(modified, ad.ad_id + "|modified")),
        }


_HEADERS = {"X-RestLi-Protocol-Version": "2.0.0"}


# -- Rest.li 2.0 values ------------------------------------------------------------------------------
def parse_restli(text: str) -> Any:
    """Parse a (percent-decoded) Rest.li 2.0 value: ``List(a,b)``, ``(k:v,k:(..))`` or a primitive string."""
    value, pos = _parse_value(text, 0)
    if pos != len(text):
        raise ValueError(f"unexpected {text[pos:]!r} at {pos}")
    return value


def _parse_value(text: str, pos: int) -> tuple[Any, int]:
    if text.startswith("List(", pos):
        return _parse_items(text, pos + len("List("), _parse_value, [])
    if text.startswith("(", pos):
        pairs: list[tuple[str, Any]] = []
        value, end = _parse_items(text, pos + 1, _parse_pair, pairs)
        return dict(value), end
    end = pos
    while end < len(text) and text[end] not in ",()":
        end += 1
    return text[pos:end], end


def _parse_pair(text: str, pos: int) -> tuple[tuple[str, Any], int]:
    colon = text.find(":", pos)
    if colon < 0 or any(c in text[pos:colon] for c in ",()"):
        raise ValueError(f"expected key: at {pos}")
    value, end = _parse_value(text, colon + 1)
    return (text[pos:colon], value), end


def _parse_items(text: str, pos: int, item: Callable[[str, int], tuple[Any, int]], out: list[Any]) -> tuple[Any, int]:
    """Comma-separated items up to the closing parenthesis."""
    if text.startswith(")", pos):
        return out, pos + 1
    while True:
        value, pos = item(text, pos)
        out.append(value)
        if text.startswith(",", pos):
            pos += 1
        elif text.startswith(")", pos):
            return out, pos + 1
        else:
            raise ValueError(f"expected , or ) at {pos}")


def _restli_list(name: str, raw: str | None) -> list[str]:
    try:
        value = parse_restli(raw or "")
    except ValueError as exc:
        raise _bad_request(f"Invalid Rest.li value for param {name}: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad_request(f"Param {name} must be a List(...) of values")
    return value


def _urn_list(name: str, raw: str | None, urn_prefix: str) -> set[str]:
    urns = _restli_list(name, raw)
    if wrong := [u for u in urns if not u.startswith(urn_prefix)]:
        raise _bad_request(f"Param {name} expects {urn_prefix}<id> URNs, got {', '.join(wrong)}")
    return set(urns)


def _fields(raw: str | None) -> list[str]:
    fields = list(dict.fromkeys(f.strip() for f in raw.split(",") if f.strip())) if raw else list(_DEFAULT_FIELDS)
    if len(fields) > MAX_FIELDS:
        raise _bad_request(f"Too many fields requested: {len(fields)}; at most {MAX_FIELDS} fields per request")
    known = {"dateRange", "pivotValues", *_METRICS, *_UNMODELLED}
    if unknown := [f for f in fields if f not in known]:
        raise _bad_request(f"Invalid field(s) requested: {', '.join(unknown)}")
    return fields


def _date_range(raw: str | None, as_of: date) -> tuple[date, date]:
    """``(start:(year:Y,month:M,day:D),end:(...))``; a missing end means up to today."""
    try:
        value = parse_restli(raw or "")
        start = _date(value["start"])
        end = _date(value["end"]) if "end" in value else as_of
    except (ValueError, KeyError, TypeError) as exc:
        raise _bad_request(f"Invalid dateRange {raw!r}: expected (start:(year:..,month:..,day:..),end:(...))") \
            from exc
    if end < start:
        raise _bad_request("dateRange end is before its start")
    return start, end


def _date(value: dict[str, str]) -> date:
    return date(int(value["year"]), int(value["month"]), int(value["day"]))


def _search(raw: str | None, allowed: tuple[str, ...]) -> dict[str, set[str]]:
    """``search=(status:(values:List(ACTIVE)),campaignGroup:(values:List(urn...)))`` as criteria sets."""
    if not raw:
        return {}
    try:
        value = parse_restli(raw)
        criteria = {key: _values(spec["values"]) for key, spec in value.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _bad_request(f"Invalid search {raw!r}: expected (key:(values:List(...)),...)") from exc
    if unknown := sorted(set(criteria) - set(allowed)):
        raise _bad_request(f"Unsupported search criteria {', '.join(unknown)}; "
                           f"the sandbox supports {', '.join(allowed)}")
    if bad := sorted(criteria.get("status", set()) - set(_STATUSES)):
        raise _bad_request(f"Invalid status value(s): {', '.join(bad)}")
    return criteria


def _values(value: Any) -> set[str]:
    if not isinstance(value, list):
        raise TypeError("values must be a List(...)")
    return set(value)


def _matches(criteria: dict[str, set[str]], **values: str) -> bool:
    return all(values[key] in wanted for key, wanted in criteria.items())


# -- output ----------------------------------------------------------------------------------------
def _bucket(day: date, granularity: str, start: date, end: date) -> tuple[date, date]:
    """The reporting period a day falls in: the day, its month (clipped to the range), or the range."""
    if granularity == "DAILY":
        return day, day
    if granularity == "ALL":
        return start, end
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return max(first, start), min(last, end)


def _element(fields: list[str], bucket: tuple[date, date], urn: str, totals: _Totals) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        if name == "dateRange":
            out[name] = {"start": _ymd(bucket[0]), "end": _ymd(bucket[1])}
        elif name == "pivotValues":
            out[name] = [urn]
        else:
            out[name] = _METRICS[name](totals) if name in _METRICS else 0
    return out


def _ymd(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _page(rows: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    """Cursor paging: ``pageSize`` rows from an opaque ``pageToken``; the last page has no nextPageToken."""
    try:
        size = int(request.param("pageSize") or DEFAULT_PAGE_SIZE)
        offset = _decode_token(request.param("pageToken")) if request.param("pageToken") else 0
    except ValueError as exc:
        raise _bad_request(f"Invalid pageSize or pageToken: {exc}") from exc
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise _bad_request(f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
    metadata = {"nextPageToken": _encode_token(offset + size)} if offset + size < len(rows) else {}
    return {"paging": {"start": 0, "count": size, "links": []}, "elements": rows[offset:offset + size],
            "metadata": metadata}


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode(errors="replace")
    if not text.startswith("offset:"):
        raise ValueError("unknown pageToken")
    return int(text.removeprefix("offset:"))


def _millis(day: date, seed: str) -> int:
    """Epoch milliseconds of a deterministic moment (UTC) on ``day``."""
    minutes = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % (24 * 60)
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=minutes)
    return int(moment.timestamp()) * 1000


def _stamps(entity_id: str, created: date, modified: date) -> dict[str, dict[str, int]]:
    """``changeAuditStamps`` in epoch milliseconds; never modified before created."""
    created_at = _millis(created, entity_id)
    modified_at = max(created_at, _millis(modified, entity_id + "|modified"))
    return {"created": {"time": created_at}, "lastModified": {"time": modified_at}}


def _days(since: date, until: date) -> Iterable[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)

"""The Google Ads emulation, read with a plain HTTP client: GAQL over search and searchStream, paging,
typing, errors, faults, determinism and restatement. Expected values come from the world, not from the
emulation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from sandbox.faults import FaultRule
from sandbox.google_ads import DEFAULT_DEVELOPER_TOKEN, DEFAULT_TOKEN, GoogleAdsApp
from sandbox.server import SandboxServer
from sandbox.world import Ad, Reported, World, WorldConfig

HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "developer-token": DEFAULT_DEVELOPER_TOKEN}
VERSION = "v17"
AD_DAYS = ("SELECT campaign.id, ad_group.id, ad_group_ad.ad.id, segments.date, metrics.impressions, "
           "metrics.cost_micros, metrics.conversions FROM ad_group_ad WHERE segments.date BETWEEN '{}' AND '{}'")
CAMPAIGN_DAYS = ("SELECT customer.id, customer.currency_code, campaign.id, campaign.name, segments.date, "
                 "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, "
                 "metrics.conversions_value, metrics.all_conversions FROM campaign "
                 "WHERE segments.date BETWEEN '{}' AND '{}'")


def serve(world: World, **options: Any) -> SandboxServer:
    server = SandboxServer(world)
    server.apps = [GoogleAdsApp(world, server.clock, **options)]
    return server


@pytest.fixture(scope="module")
def running(world: World) -> Iterator[SandboxServer]:
    # One server per module: stopping one waits out serve_forever's 0.5 s poll.
    with serve(world) as server:
        yield server


@pytest.fixture
def server(running: SandboxServer) -> Iterator[SandboxServer]:
    """The module's server, with its clock and fault plan put back after each test."""
    as_of = running.clock.as_of
    yield running
    running.clock.as_of = as_of
    running.faults.rules.clear()


def customer_id(server: SandboxServer, index: int = 0) -> str:
    return server.world.accounts["google_ads"][index].account_id


def call(server: SandboxServer, cid: str, method: str, body: dict[str, Any],
         headers: dict[str, str] | None = None) -> requests.Response:
    url = f"{server.url_for('google_ads')}/{VERSION}/customers/{cid}/googleAds:{method}"
    return requests.post(url, json=body, headers=HEADERS if headers is None else headers, timeout=30)


def stream(server: SandboxServer, cid: str, query: str) -> list[dict[str, Any]]:
    response = call(server, cid, "searchStream", {"query": query})
    assert response.status_code == 200, response.text
    return [row for batch in response.json() for row in batch.get("results", [])]


def search_pages(server: SandboxServer, cid: str, query: str, **extra: Any) -> list[dict[str, Any]]:
    """Every page of a :search, following nextPageToken."""
    bodies, token = [], None
    while True:
        body = {"query": query, **extra, **({"pageToken": token} if token else {})}
        response = call(server, cid, "search", body)
        assert response.status_code == 200, response.text
        bodies.append(response.json())
        token = bodies[-1].get("nextPageToken")
        if token is None:
            return bodies


def failure(response: requests.Response) -> tuple[int, str, dict[str, str]]:
    """(HTTP status, google.rpc status, errorCode) of an error envelope, checking its shape on the way."""
    error = response.json()["error"]
    assert error["code"] == response.status_code and error["message"]
    detail = error["details"][0]
    assert detail["@type"] == f"type.googleapis.com/google.ads.googleads.{VERSION}.errors.GoogleAdsFailure"
    assert detail["requestId"] and detail["errors"][0]["message"]
    return response.status_code, error["status"], detail["errors"][0]["errorCode"]


def window(server: SandboxServer, days: int) -> tuple[str, str]:
    end = server.clock.as_of
    return (end - timedelta(days=days - 1)).isoformat(), end.isoformat()


# -- paging and batches ----------------------------------------------------------------------------
def test_search_pages_reach_the_end_without_overlap(server: SandboxServer) -> None:
    cid = customer_id(server)
    query = AD_DAYS.format(*window(server, 20))
    bodies = search_pages(server, cid, query, pageSize=37, returnTotalResultsCount=True)
    rows = [row for body in bodies for row in body["results"]]
    keys = [(row["adGroupAd"]["ad"]["id"], row["segments"]["date"]) for row in rows]
    assert len(bodies) > 3
    assert all(len(body["results"]) == 37 for body in bodies[:-1])
    assert 0 < len(bodies[-1]["results"]) <= 37
    assert len(keys) == len(set(keys))
    assert {body["totalResultsCount"] for body in bodies} == {str(len(rows))}
    single = search_pages(server, cid, query)
    assert len(single) == 1 and "nextPageToken" not in single[0]
    assert single[0]["results"] == rows
    # Every delivered ad-day of the window, and nothing else.
    ads = server.world.all_ads(server.world.account("google_ads", cid))
    days = [server.clock.as_of - timedelta(days=i) for i in range(20)]
    expected = {(ad.ad_id, d.isoformat()) for ad in ads for d in days
                if server.world.reported(ad, d, server.clock.as_of) is not None}
    assert set(keys) == expected


def test_a_page_token_of_another_query_is_rejected(server: SandboxServer) -> None:
    cid = customer_id(server)
    first = call(server, cid, "search", {"query": AD_DAYS.format(*window(server, 10)), "pageSize": 5}).json()
    other = call(server, cid, "search", {"query": AD_DAYS.format(*window(server, 11)),
                                         "pageToken": first["nextPageToken"]})
    assert failure(other) == (400, "INVALID_ARGUMENT", {"requestError": "INVALID_PAGE_TOKEN"})


def test_search_stream_is_an_array_of_batches(world: World) -> None:
    with serve(world, batch_rows=50) as server:
        cid = customer_id(server)
        query = AD_DAYS.format(*window(server, 14))
        batches = call(server, cid, "searchStream", {"query": query}).json()
        searched = call(server, cid, "search", {"query": query}).json()
        empty = call(server, cid, "searchStream", {"query": AD_DAYS.format("2020-01-01", "2020-01-31")}).json()
    assert isinstance(batches, list) and len(batches) > 2
    mask = "campaign.id,adGroup.id,adGroupAd.ad.id,segments.date,metrics.impressions,metrics.costMicros," \
           "metrics.conversions"
    for batch in batches:
        assert set(batch) == {"results", "fieldMask", "requestId"}
        assert batch["fieldMask"] == mask
        assert 0 < len(batch["results"]) <= 50
    assert len({batch["requestId"] for batch in batches}) == 1
    assert [row for batch in batches for row in batch["results"]] == searched["results"]
    # No rows: one batch without results (proto3 JSON leaves empty lists out).
    assert empty == [{"fieldMask": mask, "requestId": empty[0]["requestId"]}]


# -- values ----------------------------------------------------------------------------------------
def test_campaign_day_matches_the_world(server: SandboxServer) -> None:
    world, as_of = server.world, server.clock.as_of
    account = world.accounts["google_ads"][1]
    campaign = world.campaigns(account)[0]
    ads = [ad for group in world.ad_groups(campaign) for ad in world.ads(group)]
    day = as_of - timedelta(days=3)
    reports = [r for ad in ads if (r := world.reported(ad, day, as_of)) is not None]
    assert reports, "the campaign did not deliver that day"
    rows = stream(server, account.account_id,
                  CAMPAIGN_DAYS.format(day, day).replace("WHERE", f"WHERE campaign.id = {campaign.campaign_id} AND"))
    assert len(rows) == 1
    metrics = rows[0]["metrics"]
    assert metrics["costMicros"] == str(sum(r.delivery.spend_cents for r in reports) * 10_000)
    assert metrics["impressions"] == str(sum(r.delivery.impressions for r in reports))
    assert metrics["clicks"] == str(sum(r.delivery.clicks for r in reports))
    assert rows[0]["customer"] == {"resourceName": f"customers/{account.account_id}", "id": account.account_id,
                                   "currencyCode": account.currency}
    assert rows[0]["campaign"] == {"resourceName": f"customers/{account.account_id}/campaigns/{campaign.campaign_id}",
                                   "id": campaign.campaign_id, "name": campaign.name}


def test_metrics_without_the_date_segment_sum_the_range(server: SandboxServer) -> None:
    world, as_of = server.world, server.clock.as_of
    account = world.accounts["google_ads"][0]
    days = [as_of - timedelta(days=i) for i in range(7)]
    query = ("SELECT ad_group.id, metrics.cost_micros, metrics.impressions FROM ad_group "
             f"WHERE segments.date BETWEEN '{days[-1]}' AND '{days[0]}'")
    rows = {row["adGroup"]["id"]: row["metrics"] for row in stream(server, account.account_id, query)}
    expected = {}
    for group in (g for c in world.campaigns(account) for g in world.ad_groups(c)):
        reports = [r for ad in world.ads(group) for d in days if (r := world.reported(ad, d, as_of)) is not None]
        if reports:
            expected[group.ad_group_id] = {"costMicros": str(sum(r.delivery.spend_cents for r in reports) * 10_000),
                                           "impressions": str(sum(r.delivery.impressions for r in reports))}
    assert rows == expected


def test_int64_are_strings_and_doubles_are_numbers(server: SandboxServer) -> None:
    cid = customer_id(server)
    rows = stream(server, cid, CAMPAIGN_DAYS.format(*window(server, 30)))
    assert rows
    for row in rows:
        for value in (row["customer"]["id"], row["campaign"]["id"], row["metrics"]["impressions"],
                      row["metrics"]["clicks"], row["metrics"]["costMicros"]):
            assert isinstance(value, str) and value.isdigit()
        for name in ("conversions", "conversionsValue", "allConversions"):
            assert type(row["metrics"][name]) in (int, float)
        assert row["metrics"]["allConversions"] >= row["metrics"]["conversions"]
        assert date.fromisoformat(row["segments"]["date"])
    assert any(row["metrics"]["conversions"] % 1 for row in rows), "data-driven conversions are never fractional"


def test_gaql_filters_order_and_limit(server: SandboxServer) -> None:
    cid = customer_id(server)
    as_of = server.clock.as_of
    during = stream(server, cid, "SELECT segments.date, metrics.clicks FROM customer WHERE segments.date DURING "
                                 "LAST_7_DAYS")
    assert [row["segments"]["date"] for row in during] == [(as_of - timedelta(days=d)).isoformat()
                                                           for d in range(7, 0, -1)]
    top = stream(server, cid, "SELECT ad_group_ad.ad.id, metrics.cost_micros FROM ad_group_ad WHERE segments.date "
                              "DURING LAST_30_DAYS AND metrics.impressions > 0 ORDER BY metrics.cost_micros DESC "
                              "LIMIT 3")
    costs = [int(row["metrics"]["costMicros"]) for row in top]
    assert len(costs) == 3 and costs == sorted(costs, reverse=True)
    names = stream(server, cid, "SELECT campaign.name FROM campaign WHERE campaign.name LIKE '%Brand%' "
                                "AND campaign.status IN ('ENABLED', PAUSED)")
    world_names = [c.name for c in server.world.campaigns(server.world.account("google_ads", cid))]
    assert [row["campaign"]["name"] for row in names] == [n for n in world_names if "Brand" in n]


def test_list_accessible_customers(server: SandboxServer) -> None:
    response = requests.get(f"{server.url_for('google_ads')}/{VERSION}/customers:listAccessibleCustomers",
                            headers=HEADERS, timeout=10)
    assert response.json() == {"resourceNames": [f"customers/{a.account_id}"
                                                 for a in server.world.accounts["google_ads"]]}


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("headers", "expected"), [
    ({"developer-token": DEFAULT_DEVELOPER_TOKEN},
     (401, "UNAUTHENTICATED", {"authenticationError": "AUTHENTICATION_ERROR"})),
    ({"Authorization": "Bearer nope", "developer-token": DEFAULT_DEVELOPER_TOKEN},
     (401, "UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_INVALID"})),
    ({"Authorization": f"Bearer {DEFAULT_TOKEN}", "developer-token": "nope"},
     (401, "UNAUTHENTICATED", {"authenticationError": "DEVELOPER_TOKEN_INVALID"})),
    ({"Authorization": f"Bearer {DEFAULT_TOKEN}"},
     (400, "INVALID_ARGUMENT", {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"})),
])
def test_auth_errors(server: SandboxServer, headers: dict[str, str], expected: tuple[Any, ...]) -> None:
    response = call(server, customer_id(server), "searchStream", {"query": "SELECT customer.id FROM customer"},
                    headers)
    assert failure(response) == expected


def test_customer_access(server: SandboxServer) -> None:
    query = {"query": "SELECT customer.id FROM customer"}
    unknown = call(server, "1234567890", "search", query)
    assert failure(unknown) == (403, "PERMISSION_DENIED", {"authorizationError": "USER_PERMISSION_DENIED"})
    cid = customer_id(server)
    dashed = call(server, f"{cid[:3]}-{cid[3:6]}-{cid[6:]}", "search", query)
    assert failure(dashed) == (400, "INVALID_ARGUMENT", {"authenticationError": "CLIENT_CUSTOMER_ID_INVALID"})
    other_login = call(server, cid, "search", query, {**HEADERS, "login-customer-id": customer_id(server, 1)})
    assert failure(other_login)[2] == {"authorizationError": "USER_PERMISSION_DENIED"}
    own_login = call(server, cid, "search", query, {**HEADERS, "login-customer-id": cid})
    assert own_login.json()["results"] == [{"customer": {"resourceName": f"customers/{cid}", "id": cid}}]


@pytest.mark.parametrize(("query", "code"), [
    ("SELECT campaign.budget_hours FROM campaign", "UNRECOGNIZED_FIELD"),
    ("SELECT campaign.id FROM campaign_budget_view", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
    ("campaign.id FROM campaign", "EXPECTED_SELECT"),
    ("SELECT campaign.id", "EXPECTED_FROM"),
    ("SELECT ad_group.id FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
    ("SELECT segments.date, metrics.clicks FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
    ("SELECT segments.date FROM campaign WHERE segments.date >= '2026-10-01'", "EXPECTED_FILTERS_ON_DATE_RANGE"),
    ("SELECT segments.date FROM campaign WHERE segments.date BETWEEN '2026-10-05' AND '2026-10-01'",
     "DATE_RANGE_TOO_NARROW"),
    ("SELECT segments.date FROM campaign WHERE segments.date = '2026/10/01'", "INVALID_DATE_FORMAT"),
    ("SELECT segments.date FROM campaign WHERE segments.date DURING LAST_9_DAYS", "INVALID_VALUE_WITH_DURING_OPERATOR"),
    ("SELECT campaign.id FROM campaign WHERE campaign.id = 1 OR campaign.id = 2", "UNEXPECTED_INPUT"),
    ("SELECT campaign.id FROM campaign WHERE campaign.name = 'open", "STRING_NOT_TERMINATED"),
    ("SELECT campaign.id FROM campaign WHERE campaign.status = 'LIVE'", "BAD_ENUM_CONSTANT"),
    ("SELECT campaign.id FROM campaign WHERE campaign.id IN ()", "PROHIBITED_EMPTY_LIST_IN_CONDITION"),
    ("SELECT campaign.id FROM campaign ORDER campaign.id", "EXPECTED_BY"),
    ("SELECT campaign.id FROM campaign LIMIT 0", "LIMIT_VALUE_TOO_LOW"),
    ("SELECT campaign.id FROM campaign WHERE", "UNEXPECTED_END_OF_QUERY"),
])
def test_invalid_gaql(server: SandboxServer, query: str, code: str) -> None:
    response = call(server, customer_id(server), "search", {"query": query})
    assert failure(response) == (400, "INVALID_ARGUMENT", {"queryError": code})


def test_unknown_paths_and_body_fields(server: SandboxServer) -> None:
    base = server.url_for("google_ads")
    cid = customer_id(server)
    for response in (requests.post(f"{base}/{VERSION}/customers/{cid}/googleAds:mutate", json={}, headers=HEADERS,
                                   timeout=10),
                     requests.get(f"{base}/{VERSION}/customers/{cid}/googleAds:searchStream", headers=HEADERS,
                                  timeout=10)):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == 404 and response.json()["error"]["status"] == "NOT_FOUND"
    unknown = call(server, cid, "searchStream", {"query": "SELECT customer.id FROM customer", "pageSize": 5})
    assert unknown.status_code == 400
    assert "Unknown name \"pageSize\"" in unknown.json()["error"]["details"][0]["fieldViolations"][0]["description"]


# -- faults ----------------------------------------------------------------------------------------
def test_throttle_fault_then_success(server: SandboxServer) -> None:
    server.faults.rules.append(FaultRule("google_ads", "throttle", r"searchStream", times=1))
    body = {"query": "SELECT customer.id FROM customer"}
    throttled = call(server, customer_id(server), "searchStream", body)
    assert failure(throttled) == (429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_EXHAUSTED"})
    # Google gives no retry delay a client could honour: backing off is the client's business.
    assert "retryAfterSeconds" not in throttled.text and "retryDelay" not in throttled.text
    assert call(server, customer_id(server), "searchStream", body).status_code == 200


@pytest.mark.parametrize(("kind", "expected"), [
    ("server_error", (500, "INTERNAL", {"internalError": "INTERNAL_ERROR"})),
    ("auth_expired", (401, "UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_EXPIRED"})),
])
def test_other_faults(server: SandboxServer, kind: str, expected: tuple[Any, ...]) -> None:
    server.faults.rules.append(FaultRule("google_ads", kind, r"googleAds:search$", times=1))
    assert failure(call(server, customer_id(server), "search", {"query": "SELECT customer.id FROM customer"})) \
        == expected


# -- determinism and restatement --------------------------------------------------------------------
def test_same_world_same_bytes_different_seed_different_world() -> None:
    def body(seed: int) -> list[bytes]:
        world = World(WorldConfig(seed=seed))
        with serve(world) as server:
            cid = customer_id(server)
            query = AD_DAYS.format("2026-09-01", "2026-10-30").replace("metrics.conversions", "metrics.conversions, "
                                                                       "metrics.all_conversions, campaign.name")
            content = [call(server, cid, method, {"query": query}).content for method in ("searchStream", "search")]
            # Bodies carry no links today; strip the address anyway so a future one cannot break the comparison.
            return [c.replace(server.base_url.encode(), b"http://sandbox") for c in content]

    first = body(11)
    assert first == body(11)
    assert first != body(12)


def test_a_later_clock_restates_recent_conversions_but_not_spend(server: SandboxServer) -> None:
    world, cid = server.world, customer_id(server)
    late = server.clock.as_of
    early = late - timedelta(days=10)
    start = early - timedelta(days=40)
    query = AD_DAYS.format(start, early)

    def rows() -> dict[tuple[str, str], dict[str, Any]]:
        return {(r["adGroupAd"]["ad"]["id"], r["segments"]["date"]): r["metrics"] for r in stream(server, cid, query)}

    server.clock.as_of = early
    before = rows()
    server.clock.as_of = late
    after = rows()
    assert before.keys() == after.keys()
    # Which ad-days the world itself says gained click conversions between the two dates.
    days = [start + timedelta(days=i) for i in range((early - start).days + 1)]
    grew = {(ad.ad_id, d.isoformat()) for ad in world.all_ads(world.account("google_ads", cid)) for d in days
            if (r := world.reported(ad, d, early)) is not None
            and r.click_conversions != _reported(world, ad, d, late).click_conversions}
    changed = {k for k in before if before[k]["conversions"] != after[k]["conversions"]}
    assert grew, "the world restated nothing: the test would prove nothing"
    assert changed == grew
    assert all(after[k]["conversions"] > before[k]["conversions"] for k in changed)
    assert all(before[k]["costMicros"] == after[k]["costMicros"] for k in before)
    assert all(before[k]["impressions"] == after[k]["impressions"] for k in before)


def _reported(world: World, ad: Ad, day: date, as_of: date) -> Reported:
    reported = world.reported(ad, day, as_of)
    assert reported is not None
    return reported

"""The TikTok emulation, read with a plain HTTP client: report paging, errors as HTTP 200 with codes,
entities, determinism and restatement. Expected values come from the world, not from the emulation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from sandbox.faults import FaultRule
from sandbox.linkedin_ads import LinkedInApp
from sandbox.server import SandboxServer
from sandbox.tiktok_ads import DEFAULT_TOKEN, TikTokApp
from sandbox.world import World, WorldConfig

AUTH = {"Access-Token": DEFAULT_TOKEN}
REPORT = "/open_api/v1.3/report/integrated/get/"


def serve(world: World) -> SandboxServer:
    server = SandboxServer(world)
    server.apps = [TikTokApp(world, server.clock), LinkedInApp(world, server.clock)]
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
    running.faults.fired.clear()


def advertiser(server: SandboxServer) -> str:
    return server.world.accounts["tiktok_ads"][0].account_id


def get(server: SandboxServer, path: str, params: dict[str, Any], headers: dict[str, str] | None = None
        ) -> requests.Response:
    return requests.get(f"{server.url_for('tiktok_ads')}{path}", params=params,
                        headers=AUTH if headers is None else headers, timeout=30)


def report_params(server: SandboxServer, start: date, end: date, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "advertiser_id": advertiser(server), "service_type": "AUCTION", "report_type": "BASIC",
        "data_level": "AUCTION_AD", "dimensions": json.dumps(["ad_id", "stat_time_day"]),
        "metrics": json.dumps(["spend", "impressions", "clicks", "conversion", "total_conversion_value"]),
        "start_date": start.isoformat(), "end_date": end.isoformat(), "page_size": 1000,
    }
    params.update(overrides)
    return params


def report_rows(server: SandboxServer, start: date, end: date, **overrides: Any) -> list[dict[str, Any]]:
    """Every row of a report, following page numbers up to page_info.total_page."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        body = get(server, REPORT, report_params(server, start, end, page=page, **overrides)).json()
        assert body["code"] == 0, body
        rows.extend(body["data"]["list"])
        if page >= body["data"]["page_info"]["total_page"]:
            return rows
        page += 1


def expected_ad_days(world: World, start: date, end: date, as_of: date) -> dict[tuple[str, str], Any]:
    """What the world says TikTok reports per (ad, day) on ``as_of``."""
    account = world.accounts["tiktok_ads"][0]
    out = {}
    for ad in world.all_ads(account):
        day = start
        while day <= end:
            reported = world.reported(ad, day, as_of)
            if reported is not None:
                out[ad.ad_id, f"{day.isoformat()} 00:00:00"] = reported
            day += timedelta(days=1)
    return out


def key(row: dict[str, Any]) -> tuple[str, str]:
    return row["dimensions"]["ad_id"], row["dimensions"]["stat_time_day"]


def test_report_pages_reach_the_last_page_without_overlap(server: SandboxServer) -> None:
    end = server.clock.as_of
    start = end - timedelta(days=20)
    bodies = []
    page = 1
    while True:
        answer = get(server, REPORT, report_params(server, start, end, page=page, page_size=37))
        assert answer.status_code == 200
        bodies.append(answer.json())
        info = bodies[-1]["data"]["page_info"]
        assert (info["page"], info["page_size"]) == (page, 37)
        if page == info["total_page"]:
            break
        page += 1
    keys = [key(row) for body in bodies for row in body["data"]["list"]]
    assert len(bodies) > 3
    assert all(len(body["data"]["list"]) == 37 for body in bodies[:-1])
    assert 1 <= len(bodies[-1]["data"]["list"]) <= 37
    assert bodies[-1]["data"]["page_info"]["total_number"] == len(keys)
    assert len(keys) == len(set(keys))
    single = get(server, REPORT, report_params(server, start, end)).json()["data"]
    assert single["page_info"]["total_page"] == 1
    assert sorted(keys) == sorted(key(row) for row in single["list"])
    past_the_end = get(server, REPORT, report_params(server, start, end, page=page + 1, page_size=37)).json()
    assert past_the_end["code"] == 0 and past_the_end["data"]["list"] == []


def test_ad_rows_match_the_world(server: SandboxServer) -> None:
    end = server.clock.as_of
    start = end - timedelta(days=13)
    expected = expected_ad_days(server.world, start, end, end)
    rows = {key(row): row["metrics"] for row in report_rows(server, start, end)}
    assert rows.keys() == expected.keys()
    for k, metrics in rows.items():
        reported = expected[k]
        assert all(isinstance(value, str) for value in metrics.values())
        assert Decimal(metrics["spend"]) == Decimal(reported.delivery.spend_cents) / 100
        assert int(metrics["impressions"]) == reported.delivery.impressions
        assert int(metrics["clicks"]) == reported.delivery.link_clicks
        assert int(metrics["conversion"]) == reported.click_conversions + reported.view_conversions
        assert Decimal(metrics["total_conversion_value"]) == Decimal(reported.conversion_value_cents) / 100


def test_campaign_rows_sum_the_world_per_campaign_and_day(server: SandboxServer) -> None:
    end = server.clock.as_of
    start = end - timedelta(days=6)
    account = server.world.accounts["tiktok_ads"][0]
    campaign_of = {ad.ad_id: ad.ad_group.campaign.campaign_id for ad in server.world.all_ads(account)}
    expected: dict[tuple[str, str], int] = {}
    for (ad_id, day), reported in expected_ad_days(server.world, start, end, end).items():
        expected[campaign_of[ad_id], day] = expected.get((campaign_of[ad_id], day), 0) + reported.delivery.spend_cents
    rows = report_rows(server, start, end, data_level="AUCTION_CAMPAIGN",
                       dimensions=json.dumps(["campaign_id", "stat_time_day"]),
                       metrics=json.dumps(["spend", "campaign_name"]))
    got = {(r["dimensions"]["campaign_id"], r["dimensions"]["stat_time_day"]): r["metrics"] for r in rows}
    assert {k: round(Decimal(m["spend"]) * 100) for k, m in got.items()} == expected
    names = {c.campaign_id: c.name for c in server.world.campaigns(account)}
    assert all(m["campaign_name"] == names[k[0]] for k, m in got.items())


@pytest.mark.parametrize(("case", "headers", "overrides", "code"), [
    ("missing token", {}, {}, 40104),
    ("wrong token", {"Access-Token": "nope"}, {}, 40105),
    ("dimensions not JSON", None, {"dimensions": "ad_id,stat_time_day"}, 40002),
    ("unknown metric", None, {"metrics": json.dumps(["spend", "reach_of_the_moon"])}, 40002),
    ("range of 31 days", None, {"start_date": "2026-09-01", "end_date": "2026-10-01"}, 40002),
    ("end before start", None, {"start_date": "2026-09-10", "end_date": "2026-09-01"}, 40002),
    ("ID dimension of another level", None, {"dimensions": json.dumps(["campaign_id", "stat_time_day"])}, 40002),
    ("page_size over 1000", None, {"page_size": 1001}, 40002),
    ("unknown advertiser", None, {"advertiser_id": "123"}, 40001),
])
def test_errors_are_http_200_with_a_code(server: SandboxServer, case: str, headers: dict[str, str] | None,
                                         overrides: dict[str, Any], code: int) -> None:
    params = report_params(server, date(2026, 9, 1), date(2026, 9, 30), **overrides)
    answer = get(server, REPORT, params, headers)
    assert answer.status_code == 200, case
    body = answer.json()
    assert body["code"] == code, (case, body)
    assert body["message"] and body["request_id"] and body["data"] == {}


def test_thirty_days_is_the_longest_daily_range(server: SandboxServer) -> None:
    body = get(server, REPORT, report_params(server, date(2026, 9, 1), date(2026, 9, 30))).json()
    assert body["code"] == 0
    assert {row["dimensions"]["stat_time_day"][:10] for row in body["data"]["list"]} <= {
        (date(2026, 9, 1) + timedelta(days=i)).isoformat() for i in range(30)}


def test_throttle_fault_is_code_40100_and_the_next_call_succeeds(server: SandboxServer) -> None:
    server.faults.rules.append(FaultRule("tiktok_ads", "throttle", r"report", times=1))
    end = server.clock.as_of
    throttled = get(server, REPORT, report_params(server, end, end))
    again = get(server, REPORT, report_params(server, end, end))
    assert throttled.status_code == 200
    assert throttled.json()["code"] == 40100
    assert again.json()["code"] == 0
    assert server.faults.fired == [("tiktok_ads", "throttle", REPORT)]


def test_server_error_and_unknown_path(server: SandboxServer) -> None:
    server.faults.rules.append(FaultRule("tiktok_ads", "server_error", r"report", times=1))
    end = server.clock.as_of
    failed = get(server, REPORT, report_params(server, end, end))
    assert failed.status_code == 500
    assert failed.json()["code"] == 50000
    missing = get(server, "/open_api/v1.3/nothing/here/", {})
    assert missing.status_code == 404
    assert set(missing.json()) == {"code", "message", "request_id", "data"}
    assert missing.json()["code"] != 0


def test_entities_page_to_the_end_and_match_the_world(server: SandboxServer) -> None:
    account = server.world.accounts["tiktok_ads"][0]
    info = get(server, "/open_api/v1.3/advertiser/info/", {"advertiser_ids": json.dumps([account.account_id])})
    expected = {"advertiser_id": account.account_id, "name": account.name, "currency": account.currency,
                "timezone": account.timezone}
    assert info.json()["data"]["list"][0].items() >= expected.items()
    ads, page = [], 1
    while True:
        body = get(server, "/open_api/v1.3/ad/get/", {"advertiser_id": account.account_id, "page": page,
                                                      "page_size": 5}).json()
        assert body["code"] == 0
        ads.extend(body["data"]["list"])
        if page >= body["data"]["page_info"]["total_page"]:
            break
        page += 1
    world_ads = server.world.all_ads(account)
    assert page == -(-len(world_ads) // 5)
    assert [a["ad_id"] for a in ads] == [ad.ad_id for ad in world_ads]
    campaign = server.world.campaigns(account)[1]
    groups = get(server, "/open_api/v1.3/adgroup/get/", {
        "advertiser_id": account.account_id, "filtering": json.dumps({"campaign_ids": [campaign.campaign_id]}),
        "fields": json.dumps(["adgroup_id", "campaign_id", "budget"])}).json()["data"]["list"]
    assert groups == [{"adgroup_id": g.ad_group_id, "campaign_id": campaign.campaign_id,
                       "budget": g.daily_budget_cents / 100} for g in server.world.ad_groups(campaign)]
    campaigns = get(server, "/open_api/v1.3/campaign/get/", {"advertiser_id": account.account_id}).json()
    assert [c["campaign_id"] for c in campaigns["data"]["list"]] == [
        c.campaign_id for c in server.world.campaigns(account)]
    assert all(c["create_time"] <= c["modify_time"] for c in campaigns["data"]["list"])


def test_same_world_same_bytes_different_seed_different_world() -> None:
    def bodies(seed: int) -> list[bytes]:
        world = World(WorldConfig(seed=seed))
        with serve(world) as server:
            out = [get(server, REPORT, report_params(server, date(2026, 10, 1), date(2026, 10, 30))).content,
                   get(server, "/open_api/v1.3/ad/get/", {"advertiser_id": advertiser(server)}).content]
            # Nothing should carry the address, but two servers differ in it: compare without it.
            return [content.replace(server.base_url.encode(), b"http://sandbox") for content in out]

    first = bodies(11)
    assert first == bodies(11)
    assert first[0] != bodies(12)[0]


def test_a_later_clock_restates_recent_conversions_but_not_spend(server: SandboxServer) -> None:
    late = server.clock.as_of
    early = late - timedelta(days=10)
    start = early - timedelta(days=20)
    server.clock.as_of = early
    before = {key(r): r["metrics"] for r in report_rows(server, start, early)}
    server.clock.as_of = late
    after = {key(r): r["metrics"] for r in report_rows(server, start, early)}
    assert before.keys() == after.keys()
    # Which (ad, day) conversions the world itself says grew between the two dates.
    world_before = expected_ad_days(server.world, start, early, early)
    world_after = expected_ad_days(server.world, start, early, late)
    grew = {k for k in world_before if world_before[k].click_conversions + world_before[k].view_conversions
            != world_after[k].click_conversions + world_after[k].view_conversions}
    changed = {k for k in before if before[k]["conversion"] != after[k]["conversion"]}
    assert grew, "the world restated nothing: the test would prove nothing"
    assert changed == grew
    assert all(before[k]["spend"] == after[k]["spend"] for k in before)

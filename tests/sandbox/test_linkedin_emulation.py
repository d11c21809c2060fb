"""The LinkedIn emulation, read with a plain HTTP client: adAnalytics without pagination, the field
limit, costs, entity paging, headers, error envelopes, determinism and restatement. Expected values
come from the world, not from the emulation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
import requests

from sandbox.faults import FaultRule
from sandbox.linkedin_ads import DEFAULT_TOKEN, LinkedInApp
from sandbox.server import SandboxServer
from sandbox.tiktok_ads import TikTokApp
from sandbox.world import Reported, World, WorldConfig

HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Linkedin-Version": "202609",
           "X-Restli-Protocol-Version": "2.0.0"}
EUR_TO_USD = Decimal("1.08")  # the sandbox's declared fixed rate
# Twenty real adAnalytics field names, dateRange and pivotValues included (they count too).
TWENTY_FIELDS = ["dateRange", "pivotValues", "impressions", "clicks", "landingPageClicks", "costInLocalCurrency",
                 "costInUsd", "externalWebsiteConversions", "externalWebsitePostClickConversions",
                 "externalWebsitePostViewConversions", "conversionValueInLocalCurrency", "oneClickLeads",
                 "totalEngagements", "likes", "comments", "shares", "follows", "reactions", "videoViews",
                 "videoStarts"]
ACCOUNT_URN = "urn:li:sponsoredAccount:"


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


def account_id(server: SandboxServer) -> str:
    return server.world.accounts["linkedin_ads"][0].account_id


def get(server: SandboxServer, path_and_query: str, headers: dict[str, str] | None = None) -> requests.Response:
    # The query is built by hand as Rest.li wants it: structure characters raw, URNs percent-encoded.
    return requests.get(f"{server.url_for('linkedin_ads')}{path_and_query}",
                        headers=HEADERS if headers is None else headers, timeout=30)


def analytics_query(start: date, end: date, *, pivot: str = "CREATIVE", facet: str = "accounts",
                    urns: list[str] | None = None, fields: list[str] | None = None) -> str:
    def ymd(day: date) -> str:
        return f"(year:{day.year},month:{day.month},day:{day.day})"

    values = ",".join(quote(urn, safe="") for urn in urns or [])
    query = (f"/rest/adAnalytics?q=analytics&pivot={pivot}&timeGranularity=DAILY"
             f"&dateRange=(start:{ymd(start)},end:{ymd(end)})&{facet}=List({values})")
    return query + (f"&fields={','.join(fields)}" if fields else "")


def analytics(server: SandboxServer, start: date, end: date, **kwargs: Any) -> list[dict[str, Any]]:
    kwargs.setdefault("urns", [ACCOUNT_URN + account_id(server)])
    kwargs.setdefault("fields", TWENTY_FIELDS)
    answer = get(server, analytics_query(start, end, **kwargs))
    assert answer.status_code == 200, answer.text
    return answer.json()["elements"]


def day_of(element: dict[str, Any]) -> str:
    start = element["dateRange"]["start"]
    assert element["dateRange"]["end"] == start
    return date(start["year"], start["month"], start["day"]).isoformat()


def by_creative(elements: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["pivotValues"][0].rsplit(":", 1)[1], day_of(e)): e for e in elements}


def expected_ad_days(world: World, start: date, end: date, as_of: date) -> dict[tuple[str, str], Reported]:
    """What the world says LinkedIn reports per (creative, UTC day) on ``as_of``."""
    out = {}
    for ad in world.all_ads(world.accounts["linkedin_ads"][0]):
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            if (reported := world.reported(ad, day, as_of)) is not None:
                out[ad.ad_id, day.isoformat()] = reported
    return out


def test_more_than_twenty_fields_is_refused(server: SandboxServer) -> None:
    end = server.clock.as_of
    urns = [ACCOUNT_URN + account_id(server)]
    assert get(server, analytics_query(end, end, urns=urns, fields=TWENTY_FIELDS)).status_code == 200
    refused = get(server, analytics_query(end, end, urns=urns, fields=[*TWENTY_FIELDS, "videoCompletions"]))
    assert refused.status_code == 400
    assert refused.json()["status"] == 400
    assert "20" in refused.json()["message"]


def test_everything_comes_in_one_response_without_pagination(server: SandboxServer) -> None:
    end = server.clock.as_of
    start = end - timedelta(days=29)
    expected = expected_ad_days(server.world, start, end, end)
    query = analytics_query(start, end, urns=[ACCOUNT_URN + account_id(server)], fields=["dateRange", "pivotValues"])
    body = get(server, query).json()
    assert body["paging"] == {"start": 0, "count": 10, "links": []}
    assert len(expected) > 100
    assert by_creative(body["elements"]).keys() == expected.keys()
    assert len(body["elements"]) == len(expected)
    # Paging parameters change nothing: the endpoint has no pages.
    assert get(server, query + "&start=10&count=10").json() == body


def test_costs_and_counts_match_the_world(server: SandboxServer) -> None:
    assert server.world.accounts["linkedin_ads"][0].currency == "EUR"
    end = server.clock.as_of
    start = end - timedelta(days=9)
    expected = expected_ad_days(server.world, start, end, end)
    elements = by_creative(analytics(server, start, end))
    assert elements.keys() == expected.keys()
    for k, element in elements.items():
        reported = expected[k]
        local = Decimal(reported.delivery.spend_cents) / 100
        assert isinstance(element["costInLocalCurrency"], str) and isinstance(element["costInUsd"], str)
        assert Decimal(element["costInLocalCurrency"]) == local
        assert Decimal(element["costInUsd"]) == local * EUR_TO_USD
        assert element["impressions"] == reported.delivery.impressions
        assert element["clicks"] == reported.delivery.clicks
        assert element["externalWebsiteConversions"] == reported.click_conversions + reported.view_conversions
        assert Decimal(element["conversionValueInLocalCurrency"]) == Decimal(reported.conversion_value_cents) / 100


def test_campaign_group_elements_sum_their_creatives(server: SandboxServer) -> None:
    end = server.clock.as_of
    start = end - timedelta(days=4)
    account = server.world.accounts["linkedin_ads"][0]
    group_of = {ad.ad_id: ad.ad_group.campaign.campaign_id for ad in server.world.all_ads(account)}
    expected: dict[tuple[str, str], int] = {}
    for (ad_id, day), reported in expected_ad_days(server.world, start, end, end).items():
        k = (f"urn:li:sponsoredCampaignGroup:{group_of[ad_id]}", day)
        expected[k] = expected.get(k, 0) + reported.delivery.spend_cents
    groups = analytics(server, start, end, pivot="CAMPAIGN_GROUP", fields=["dateRange", "pivotValues", "costInUsd",
                                                                             "costInLocalCurrency"])
    assert {(e["pivotValues"][0], day_of(e)): round(Decimal(e["costInLocalCurrency"]) * 100)
            for e in groups} == expected
    one = next(iter(expected))
    only = analytics(server, start, end, pivot="CAMPAIGN_GROUP", facet="campaignGroups", urns=[one[0]],
                     fields=["dateRange", "pivotValues", "costInLocalCurrency"])
    assert {e["pivotValues"][0] for e in only} == {one[0]}


def pages(server: SandboxServer, path: str, page_size: int) -> list[dict[str, Any]]:
    """Every page of an entity finder, following metadata.nextPageToken."""
    bodies, token = [], None
    while True:
        answer = get(server, f"{path}&pageSize={page_size}" + (f"&pageToken={token}" if token else ""))
        assert answer.status_code == 200, answer.text
        bodies.append(answer.json())
        token = bodies[-1]["metadata"].get("nextPageToken")
        if token is None:
            return bodies


def test_entities_page_with_page_tokens_to_the_end(server: SandboxServer) -> None:
    account = server.world.accounts["linkedin_ads"][0]
    bodies = pages(server, f"/rest/adAccounts/{account.account_id}/creatives?q=criteria", 5)
    creatives = [e for body in bodies for e in body["elements"]]
    world_ads = server.world.all_ads(account)
    assert len(bodies) == -(-len(world_ads) // 5)
    assert all(len(body["elements"]) == 5 for body in bodies[:-1])
    assert [c["id"] for c in creatives] == [f"urn:li:sponsoredCreative:{ad.ad_id}" for ad in world_ads]
    assert [c["campaign"] for c in creatives] == [f"urn:li:sponsoredCampaign:{ad.ad_group.ad_group_id}"
                                                  for ad in world_ads]
    group = server.world.campaigns(account)[0]
    search = f"(campaignGroup:(values:List({quote(f'urn:li:sponsoredCampaignGroup:{group.campaign_id}', safe='')})))"
    campaigns = [e for body in pages(server, f"/rest/adAccounts/{account.account_id}/adCampaigns?q=search"
                                              f"&search={search}", 1) for e in body["elements"]]
    assert [c["id"] for c in campaigns] == [int(g.ad_group_id) for g in server.world.ad_groups(group)]
    for entity in campaigns:
        stamps = entity["changeAuditStamps"]
        # Epoch milliseconds, not seconds: after 2001 only when read as milliseconds.
        assert 10**12 < stamps["created"]["time"] <= stamps["lastModified"]["time"]
    account_body = get(server, f"/rest/adAccounts/{account.account_id}").json()
    assert (account_body["id"], account_body["currency"]) == (int(account.account_id), "EUR")


def test_version_header_is_required_and_must_be_active(server: SandboxServer) -> None:
    end = server.clock.as_of
    query = analytics_query(end, end, urns=[ACCOUNT_URN + account_id(server)])
    missing = get(server, query, {k: v for k, v in HEADERS.items() if k != "Linkedin-Version"})
    assert missing.status_code == 400
    assert missing.json()["code"] == "VERSION_MISSING"
    retired = get(server, query, {**HEADERS, "Linkedin-Version": "202301"})
    assert retired.status_code == 426
    assert retired.json() == {"status": 426, "code": "NONEXISTENT_VERSION",
                              "message": "Requested version 20230101 is not active"}


def test_invalid_token_envelope(server: SandboxServer) -> None:
    answer = get(server, f"/rest/adAccounts/{account_id(server)}", {**HEADERS, "Authorization": "Bearer nope"})
    assert answer.status_code == 401
    body = answer.json()
    assert set(body) == {"status", "serviceErrorCode", "code", "message"}
    assert (body["status"], body["serviceErrorCode"], body["code"]) == (401, 65600, "INVALID_ACCESS_TOKEN")


def test_throttle_fault_is_a_daily_limit_429(server: SandboxServer) -> None:
    server.faults.rules.append(FaultRule("linkedin_ads", "throttle", r"adAnalytics", times=1))
    end = server.clock.as_of
    query = analytics_query(end, end, urns=[ACCOUNT_URN + account_id(server)])
    throttled = get(server, query)
    assert throttled.status_code == 429
    assert "APPLICATION_AND_MEMBER DAY limit" in throttled.json()["message"]
    assert get(server, query).status_code == 200


def test_unknown_path_account_and_urn(server: SandboxServer) -> None:
    missing = get(server, "/rest/nothing")
    assert missing.status_code == 404
    assert missing.json()["code"] == "RESOURCE_NOT_FOUND"
    unknown_account = get(server, "/rest/adAccounts/123")
    assert unknown_account.status_code == 403
    assert unknown_account.json()["code"] == "ACCESS_DENIED"
    end = server.clock.as_of
    foreign = get(server, analytics_query(end, end, facet="campaigns", urns=["urn:li:sponsoredCampaign:42"]))
    assert foreign.status_code == 403


def test_same_world_same_bytes_different_seed_different_world() -> None:
    def bodies(seed: int) -> list[bytes]:
        world = World(WorldConfig(seed=seed))
        with serve(world) as server:
            account = world.accounts["linkedin_ads"][0].account_id
            out = [get(server, analytics_query(date(2026, 9, 1), date(2026, 10, 30), urns=[ACCOUNT_URN + account],
                                               fields=TWENTY_FIELDS)).content,
                   get(server, f"/rest/adAccounts/{account}/creatives?q=criteria").content]
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
    before = by_creative(analytics(server, start, early))
    server.clock.as_of = late
    after = by_creative(analytics(server, start, early))
    assert before.keys() == after.keys()
    # Which (creative, day) conversions the world itself says grew between the two dates.
    world_before = expected_ad_days(server.world, start, early, early)
    world_after = expected_ad_days(server.world, start, early, late)
    grew = {k for k in world_before if world_before[k].click_conversions + world_before[k].view_conversions
            != world_after[k].click_conversions + world_after[k].view_conversions}
    changed = {k for k in before if before[k]["externalWebsiteConversions"] != after[k]["externalWebsiteConversions"]}
    assert grew, "the world restated nothing: the test would prove nothing"
    assert changed == grew
    assert all(before[k]["costInLocalCurrency"] == after[k]["costInLocalCurrency"] for k in before)

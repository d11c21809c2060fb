"""The sandbox's budget and status write endpoints, through adlake's write clients."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from pipelines.actions.clients import Entity, GoogleAdsWriteClient, MetaWriteClient, TikTokWriteClient
from pipelines.errors import SourceError
from sandbox import google_ads, meta, tiktok_ads
from sandbox.faults import FaultRule
from sandbox.server import SandboxServer


def _entity(server: SandboxServer, platform: str, source: str) -> Entity:
    world = server.world
    account = world.accounts[platform][0]
    campaign = world.campaigns(account)[0]
    group = world.ad_groups(campaign)[0]
    return Entity(source, account.account_id, campaign.campaign_id, group.ad_group_id)


def test_meta_budget_and_pause_show_in_the_ad_set_reads(sandbox: SandboxServer) -> None:
    client = MetaWriteClient(sandbox.url_for("meta"), meta.DEFAULT_TOKEN)
    entity = _entity(sandbox, "meta", "meta_ads")
    before = client.daily_budget(entity)
    undo = client.set_daily_budget(entity, Decimal("123.45"))
    assert undo == {"level": "adset", "id": entity.ad_group_id, "daily_budget": str(before)}
    undo = client.pause(entity)
    assert undo["status"] == "ACTIVE"
    listing = requests.get(f"{sandbox.url_for('meta')}/v21.0/act_{entity.account_id}/adsets",
                           params={"access_token": meta.DEFAULT_TOKEN, "fields": "id,status,daily_budget",
                                   "limit": 500}, timeout=10).json()["data"]
    row = next(r for r in listing if r["id"] == entity.ad_group_id)
    assert row == {"id": entity.ad_group_id, "status": "PAUSED", "daily_budget": "12345"}
    assert [(w.field, w.new) for w in sandbox.writes("meta")] == [("daily_budget", "12345"), ("status", "PAUSED")]


def test_meta_rejects_a_bad_status_and_a_bad_token(sandbox: SandboxServer) -> None:
    entity = _entity(sandbox, "meta", "meta_ads")
    url = f"{sandbox.url_for('meta')}/v21.0/{entity.ad_group_id}"
    bad = requests.post(url, data={"status": "SLEEPING", "access_token": meta.DEFAULT_TOKEN}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 100
    denied = requests.post(url, data={"status": "PAUSED", "access_token": "nope"}, timeout=10)
    assert denied.json()["error"]["code"] == 190
    assert sandbox.writes() == []


def test_google_campaign_budget_and_ad_group_pause(sandbox: SandboxServer) -> None:
    client = GoogleAdsWriteClient(sandbox.url_for("google_ads"), google_ads.DEFAULT_TOKEN,
                                  google_ads.DEFAULT_DEVELOPER_TOKEN)
    entity = _entity(sandbox, "google_ads", "google_ads")
    before = client.daily_budget(entity)
    assert before > 0
    undo = client.set_daily_budget(entity, Decimal("50"))
    assert undo["amount_micros"] == str(int(before * 1_000_000))
    assert client.daily_budget(entity) == Decimal("50")
    assert client.pause(entity)["status"] == "ENABLED"
    rows = client.search.search_stream(entity.account_id, "SELECT ad_group.id, ad_group.status FROM ad_group")
    statuses = {r["adGroup"]["id"]: r["adGroup"]["status"] for r in rows}
    assert statuses[entity.ad_group_id] == "PAUSED"
    assert sorted(set(statuses.values())) == ["ENABLED", "PAUSED"]
    assert [w.entity_kind for w in sandbox.writes("google_ads")] == ["campaign_budget", "ad_group"]


def test_tiktok_budget_and_disable(sandbox: SandboxServer) -> None:
    client = TikTokWriteClient(sandbox.url_for("tiktok_ads"), tiktok_ads.DEFAULT_TOKEN)
    entity = _entity(sandbox, "tiktok_ads", "tiktok_ads")
    client.set_daily_budget(entity, Decimal("77.5"))
    assert client.daily_budget(entity) == Decimal("77.5")
    assert client.pause(entity)["operation_status"] == "ENABLE"
    assert client._group(entity)["operation_status"] == "DISABLE"
    assert len(sandbox.writes("tiktok_ads")) == 2


def test_a_forced_platform_error_on_a_write_is_raised_and_changes_nothing(sandbox: SandboxServer) -> None:
    sandbox.faults.rules.append(FaultRule("meta", "auth_expired", path_pattern=r"^/v[\d.]+/\d+$", times=5))
    client = MetaWriteClient(sandbox.url_for("meta"), meta.DEFAULT_TOKEN)
    with pytest.raises(SourceError, match="Session has expired"):
        client.pause(_entity(sandbox, "meta", "meta_ads"))
    assert sandbox.writes() == []


def test_a_write_only_fault_lets_reads_through(sandbox: SandboxServer) -> None:
    sandbox.faults.rules.append(FaultRule("tiktok_ads", "server_error", path_pattern="/update/$", method="POST",
                                          times=5))
    client = TikTokWriteClient(sandbox.url_for("tiktok_ads"), tiktok_ads.DEFAULT_TOKEN)
    entity = _entity(sandbox, "tiktok_ads", "tiktok_ads")
    assert client.daily_budget(entity) > 0
    with pytest.raises(SourceError, match="Internal service error"):
        client.set_daily_budget(entity, Decimal("10"))
    assert sandbox.writes() == [] and [k for _, k, _ in sandbox.faults.fired] == ["server_error"] * 2

"""Unified performance on real data, in the session's pushed lake (tests/shared_lakes.py): every ad source ran
against the sandbox (the five ad APIs and the two networks' file drops), then the full ``dbt build``; the marts
are read back from the lake's DuckDB file.

Expected values come from the sandbox itself - what its world reports per ad and day (what every
emulated API serves: each sums ``Reported.delivery.spend_cents``), the affiliate file it drops, its
accounts' currencies and zones, and its fixed demo rates - never from the SQL under test.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.duck import connect_file
from pipelines.lake import Lake
from sandbox.file_drops import AFFILIATE, affiliate_report
from sandbox.world import FX_FROM_PLN, World
from tests.conftest import REPO
from tests.shared_lakes import PushedLake

pytestmark = pytest.mark.slow
# The sandbox's platform -> adlake's platform and channel.
PLATFORMS = {
    "meta": ("meta_ads", "paid_social"), "google_ads": ("google_ads", "paid_search"),
    "linkedin_ads": ("linkedin_ads", "paid_social"), "tiktok_ads": ("tiktok_ads", "paid_social"),
    "microsoft_ads": ("microsoft_ads", "paid_search"), "programmatic": ("programmatic", "display"),
    "affiliate": ("affiliate", "affiliate"),
}
# Platforms whose rows or accounts say which zone their days are in (the others need a var).
ZONED = {"meta", "google_ads", "linkedin_ads", "tiktok_ads"}
MICRO = Decimal("0.000001")
Key = tuple[str, str, date]


@dataclass
class Built:
    world: World
    days: list[date]
    as_of: date
    drops: Path
    facts: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]


def _read(lake: Lake, sql: str) -> list[dict[str, Any]]:
    con = connect_file(lake.settings.duckdb_path)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(pushed_lake: PushedLake) -> Built:
    """The session's pushed lake: every ad source of its last week (the five APIs and the two networks'
    file drops) loaded, then `dbt build`."""
    lake = pushed_lake.lake
    return Built(
        pushed_lake.world, pushed_lake.ad_days, pushed_lake.clock.as_of, pushed_lake.drops,
        facts=_read(lake, "select * from marts.fct_ad_performance_daily"),
        channels=_read(lake, "select * from marts.rpt_channel_performance_daily"),
        campaigns=_read(lake, "select * from marts.rpt_campaign_performance_daily"),
    )


def _affiliate_account_id() -> str:
    return yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]["affiliate_account_id"]


def _served_spend(built: Built) -> dict[Key, Decimal]:
    """(platform, account, day) -> spend in the account currency, as the sandbox served it."""
    world, out = built.world, defaultdict(Decimal)
    for world_platform, (platform, _) in PLATFORMS.items():
        if world_platform == AFFILIATE:
            continue
        for account in world.accounts[world_platform]:
            for ad in world.all_ads(account):
                for day in built.days:
                    reported = world.reported(ad, day, built.as_of)
                    if reported is not None:
                        out[(platform, account.account_id, day)] += Decimal(reported.delivery.spend_cents) / 100
    # The affiliate network's spend is the commission in the file it dropped.
    for day in built.days:
        for row in csv.DictReader(io.StringIO(affiliate_report(world, day, built.as_of).decode("utf-8"))):
            out[("affiliate", _affiliate_account_id(), date.fromisoformat(row["Transaction Date"]))] += \
                Decimal(row["Commission"])
    return dict(out)


def _to_pln(amount: Decimal, currency: str) -> Decimal:
    """The sandbox's own conversion: FX_FROM_PLN gives units of the currency per PLN."""
    return amount / Decimal(str(FX_FROM_PLN[currency]))


def test_mart_spend_per_platform_and_day_equals_what_the_sandbox_served(built: Built) -> None:
    in_mart: dict[Key, Decimal] = defaultdict(Decimal)
    for row in built.facts:
        in_mart[(row["platform"], row["account_id"], row["date_day"])] += row["spend"]
    served = _served_spend(built)
    assert {p for p, _, _ in served} == {p for p, _ in PLATFORMS.values()}  # every platform delivered
    assert {d for _, _, d in served} == set(built.days)
    assert dict(in_mart) == served  # exact, in the account currency


def test_every_row_carries_its_account_currency_and_zone(built: Built) -> None:
    accounts = {(PLATFORMS[p][0], a.account_id): (p, a) for p in PLATFORMS for a in built.world.accounts[p]}
    for row in built.facts:
        platform = row["platform"]
        if platform == "affiliate":
            assert row["currency"] == built.world.accounts[AFFILIATE][0].currency
            continue
        world_platform, account = accounts[(platform, row["account_id"])]
        assert row["currency"] == account.currency, row
        assert row["report_timezone"] == (account.timezone if world_platform in ZONED else None), row
        assert row["channel"] == PLATFORMS[world_platform][1]
        assert row["ad_id"] and row["campaign_id"] and row["ad_group_id"], row


def test_reporting_currency_amounts_use_the_sandbox_rates(built: Built) -> None:
    assert {r["reporting_currency"] for r in built.facts} == {"PLN"}
    assert {r["currency"] for r in built.facts} == {"PLN", "EUR", "USD"}
    for row in built.facts:
        currency = row["currency"]
        assert abs(row["spend_reporting"] - _to_pln(row["spend"], currency)) <= MICRO, row
        assert abs(row["conversions_value_reporting"] - _to_pln(row["conversions_value"], currency)) <= MICRO, row
        assert row["platform_reported_conversions"] == row["conversions"]


def test_channel_rollup_holds_the_served_spend_in_pln(built: Built) -> None:
    currency = {(PLATFORMS[p][0], a.account_id): a.currency for p in PLATFORMS for a in built.world.accounts[p]}
    currency[("affiliate", _affiliate_account_id())] = built.world.accounts[AFFILIATE][0].currency
    channel = dict(PLATFORMS.values())
    expected: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    rows: dict[tuple[str, date], int] = defaultdict(int)
    for (platform, account_id, day), spend in _served_spend(built).items():
        expected[(channel[platform], day)] += _to_pln(spend, currency[(platform, account_id)])
    for row in built.facts:
        rows[(row["channel"], row["date_day"])] += 1
    in_rollup = {(r["channel"], r["date_day"]): r["spend_reporting"] for r in built.channels}
    assert set(in_rollup) == set(expected)
    for key, value in expected.items():
        assert abs(in_rollup[key] - value) <= MICRO * rows[key], key  # each ad row rounds to six places


def test_campaign_rollup_keeps_every_platform_and_day_total(built: Built) -> None:
    by_fact: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    by_campaign: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for row in built.facts:
        by_fact[(row["platform"], row["date_day"])] += row["spend"]
    for row in built.campaigns:
        by_campaign[(row["platform"], row["date_day"])] += row["spend"]
    assert by_campaign == by_fact
    keys = [(r["platform"], r["account_id"], r["campaign_id"], r["date_day"]) for r in built.campaigns]
    assert len(keys) == len(set(keys))

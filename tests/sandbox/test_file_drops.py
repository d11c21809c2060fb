"""Daily network report files: one per day, the world's numbers, stable bytes, restatement and approval."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.file_drops import write_network_reports
from sandbox.world import REPORT_WINDOWS, World

MONEY = re.compile(r"^\d+\.\d{2}$")
DSP_HEADER = ("Date,Advertiser ID,Campaign ID,Campaign,Ad Group ID,Creative ID,Impressions,Clicks,"
              "Media Cost (Advertiser Currency),Advertiser Currency,Post-Click Conversions,Post-View Conversions,"
              "Total Conversions,Revenue")
# The affiliate's sales are final (approved) once its attribution windows have closed.
HORIZON = max(REPORT_WINDOWS["affiliate"])
AFFILIATE_HEADER = ("Transaction Date,Publisher ID,Publisher,Campaign ID,Clicks,Transactions,Sale Amount,"
                    "Commission,Currency,Status")


def read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8"))))


def cents(value: str) -> int:
    assert MONEY.match(value), value
    return int(Decimal(value) * 100)


def world_totals(world: World, platform: str, day: date, as_of: date) -> dict[str, dict[str, int]]:
    """Per ad group: spend, clicks, click+view conversions and their value, as the world reports them."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ad in world.all_ads(world.accounts[platform][0]):
        reported = world.reported(ad, day, as_of)
        if reported is None:
            continue
        t = totals[ad.ad_group.ad_group_id]
        t["spend"] += reported.delivery.spend_cents
        t["clicks"] += reported.delivery.clicks
        t["impressions"] += reported.delivery.impressions
        t["conversions"] += reported.click_conversions + reported.view_conversions
        t["value"] += reported.conversion_value_cents
    return totals


def test_one_file_per_local_day_up_to_as_of(world: World, tmp_path: Path) -> None:
    as_of = world.config.start_date + timedelta(days=9)
    paths = write_network_reports(world, tmp_path, as_of)
    days = [(world.config.start_date + timedelta(days=i)).isoformat() for i in range(10)]
    expected = [f"{network}/{day}.csv" for network in ("programmatic", "affiliate") for day in days]
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == expected
    # Nothing else in the drop folder: no temporary files left behind for a watcher to pick up.
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(paths)
    assert (tmp_path / "programmatic" / f"{days[5]}.csv").read_text(encoding="utf-8").splitlines()[0] == DSP_HEADER
    assert (tmp_path / "affiliate" / f"{days[5]}.csv").read_text(encoding="utf-8").splitlines()[0] == \
        AFFILIATE_HEADER
    with pytest.raises(ValueError, match="after as_of"):
        write_network_reports(world, tmp_path, as_of, days=[as_of + timedelta(days=1)])


def test_totals_equal_the_world(world: World, tmp_path: Path) -> None:
    as_of = world.config.end_date
    # Ages on the clock: 55, 30 (the first approved day), 29 (the last pending one), 14 and 1 days.
    days = [world.config.start_date + timedelta(days=i) for i in (4, 29, 30, 45, 58)]
    write_network_reports(world, tmp_path, as_of, days=days)
    for day in days:
        dsp = read(tmp_path / "programmatic" / f"{day.isoformat()}.csv")
        expected = world_totals(world, "programmatic", day, as_of)
        assert {r["Date"] for r in dsp} == {day.strftime("%Y/%m/%d")}
        assert sum(cents(r["Media Cost (Advertiser Currency)"]) for r in dsp) == \
            sum(t["spend"] for t in expected.values())
        assert sum(int(r["Impressions"]) for r in dsp) == sum(t["impressions"] for t in expected.values())
        assert sum(int(r["Total Conversions"]) for r in dsp) == sum(t["conversions"] for t in expected.values())
        assert all(int(r["Total Conversions"]) == int(r["Post-Click Conversions"]) + int(r["Post-View Conversions"])
                   for r in dsp)
        assert sum(cents(r["Revenue"]) for r in dsp) == sum(t["value"] for t in expected.values())

        affiliate = read(tmp_path / "affiliate" / f"{day.isoformat()}.csv")
        by_publisher = {r["Publisher ID"]: r for r in affiliate}
        expected = world_totals(world, "affiliate", day, as_of)
        assert by_publisher.keys() == expected.keys()
        for publisher, t in expected.items():
            row = by_publisher[publisher]
            assert (int(row["Clicks"]), int(row["Transactions"]), cents(row["Sale Amount"])) == \
                (t["clicks"], t["conversions"], t["value"])
            assert row["Currency"] == "PLN"
            if (as_of - day).days >= HORIZON:
                assert (row["Status"], cents(row["Commission"])) == ("approved", t["spend"])
            else:
                assert row["Status"] == "pending" and cents(row["Commission"]) <= t["spend"]


def test_rewrite_with_the_same_clock_is_byte_identical(world: World, tmp_path: Path) -> None:
    as_of = world.config.start_date + timedelta(days=40)
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in write_network_reports(world, tmp_path / "a", as_of)}
    write_network_reports(world, tmp_path / "a", as_of)
    again = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*.csv")}
    elsewhere = {p.relative_to(tmp_path / "b"): p.read_bytes()
                 for p in write_network_reports(world, tmp_path / "b", as_of)}
    assert first == again == elsewhere
    assert all(content.count(b"\n") > 1 for name, content in first.items() if name.stem > "2026-09-05")


def test_affiliate_days_move_from_pending_to_approved_and_restate(world: World, tmp_path: Path) -> None:
    days = [world.config.start_date + timedelta(days=i) for i in range(3, 13)]
    early = days[-1] + timedelta(days=2)
    late = days[0] + timedelta(days=HORIZON + 15)

    def snapshot(as_of: date) -> tuple[dict[tuple[str, str], dict[str, str]], dict[tuple[str, str], dict[str, str]]]:
        write_network_reports(world, tmp_path, as_of, days=days)
        affiliate = {(r["Transaction Date"], r["Publisher ID"]): r
                     for d in days for r in read(tmp_path / "affiliate" / f"{d.isoformat()}.csv")}
        dsp = {(r["Date"], r["Creative ID"]): r for d in days for r in read(tmp_path / "programmatic" /
                                                                            f"{d.isoformat()}.csv")}
        return affiliate, dsp

    before, dsp_before = snapshot(early)
    after, dsp_after = snapshot(late)
    assert before.keys() == after.keys() and before
    assert {r["Status"] for r in before.values()} == {"pending"}
    assert {r["Status"] for r in after.values()} == {"approved"}
    assert sum(int(r["Transactions"]) for r in after.values()) > sum(int(r["Transactions"]) for r in before.values())
    assert any(before[k]["Commission"] != after[k]["Commission"] for k in before)
    for key, row in after.items():
        spend = world_totals(world, "affiliate", date.fromisoformat(key[0]), late)[key[1]]["spend"]
        assert cents(row["Commission"]) == spend
        # While pending, commission accrues with the transactions tracked so far.
        tracked, final = int(before[key]["Transactions"]), int(row["Transactions"])
        assert cents(before[key]["Commission"]) == (spend * tracked // final if final else spend)
    # The DSP restates too; media cost never does.
    assert dsp_before.keys() == dsp_after.keys()
    assert all(dsp_before[k]["Media Cost (Advertiser Currency)"] == dsp_after[k]["Media Cost (Advertiser Currency)"]
               for k in dsp_before)
    assert any(dsp_before[k]["Total Conversions"] != dsp_after[k]["Total Conversions"] for k in dsp_before)

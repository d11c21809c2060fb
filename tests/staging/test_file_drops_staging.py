"""File-drop staging over report files the sandbox writes: a re-delivered day replaces that day's
numbers, and staging equals the files as the networks last delivered them."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.transform import run_dbt
from pipelines import runner
from pipelines.duck import install_extensions
from pipelines.file_drops import file_drops
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.file_drops import write_network_reports
from sandbox.world import World

pytestmark = pytest.mark.slow
MODELS = {"programmatic": "stg_file_drops__programmatic_daily", "affiliate": "stg_file_drops__affiliate_daily"}


@pytest.fixture
def drops(lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "drops"
    folder.mkdir()
    monkeypatch.setenv("SOURCES__FILE_DROPS__BUCKET_URL", str(folder))
    monkeypatch.setitem(runner.SOURCES, "file_drops", lambda: file_drops)
    return folder


def _deliver(world: World, folder: Path, as_of: date) -> None:
    """The networks drop every day's file up to ``as_of`` again (what changed since is restated)."""
    write_network_reports(world, folder, as_of)


def _load_and_build(lake: Lake) -> None:
    run_source("file_drops")
    run_dbt(["build", "--select", "staging.file_drops"], lake)


def _staging(lake: Lake, model: str) -> list[dict[str, Any]]:
    """A staging view read back from the lake's DuckDB file."""
    con = duckdb.connect(str(lake.settings.duckdb_path), read_only=True)
    try:
        install_extensions(con)
        con.execute("set TimeZone = 'UTC'")
        cursor = con.execute(f"select * from staging.{model}")
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _files(folder: Path, network: str) -> list[dict[str, str]]:
    """Every row of the network's files as they are in the folder now."""
    return [row for path in sorted((folder / network).glob("*.csv"))
            for row in csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8")))]


def _unique(rows: dict[tuple[str, ...], Any], keys: list[tuple[str, ...]], what: str) -> dict[tuple[str, ...], Any]:
    assert max(Counter(keys).values(), default=1) == 1, f"a key repeats in {what}"
    return rows


def _delivered(folder: Path, network: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """The report rows per grain key, typed from the files (the networks' own day and money formats)."""
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    keys = []
    for r in _files(folder, network):
        if network == "programmatic":
            key = (r["Advertiser ID"], r["Creative ID"], datetime.strptime(r["Date"], "%Y/%m/%d").date().isoformat())
            out[key] = {"campaign_id": r["Campaign ID"], "impressions": int(r["Impressions"]),
                        "clicks": int(r["Clicks"]), "spend": Decimal(r["Media Cost (Advertiser Currency)"]),
                        "currency": r["Advertiser Currency"], "conversions": int(r["Total Conversions"]),
                        "post_click_conversions": int(r["Post-Click Conversions"]),
                        "conversions_value": Decimal(r["Revenue"])}
        else:
            key = (r["Campaign ID"], r["Publisher ID"], r["Transaction Date"])
            out[key] = {"clicks": int(r["Clicks"]), "conversions": int(r["Transactions"]),
                        "conversions_value": Decimal(r["Sale Amount"]), "spend": Decimal(r["Commission"]),
                        "currency": r["Currency"], "approval_status": r["Status"]}
        keys.append(key)
    return _unique(out, keys, f"the {network} files")


def _staged(lake: Lake, network: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """The staged rows per grain key, with the columns the files carry."""
    rows = _staging(lake, MODELS[network])
    if network == "programmatic":
        keys = [(r["account_id"], r["ad_id"], r["date_day"].isoformat()) for r in rows]
        fields = ("campaign_id", "impressions", "clicks", "spend", "currency", "conversions",
                  "post_click_conversions", "conversions_value")
    else:
        keys = [(r["campaign_id"], r["ad_group_id"], r["date_day"].isoformat()) for r in rows]
        fields = ("clicks", "conversions", "conversions_value", "spend", "currency", "approval_status")
    return _unique({key: {f: r[f] for f in fields} for key, r in zip(keys, rows, strict=True)}, keys, "staging")


def test_a_redelivered_day_replaces_that_days_numbers(lake: Lake, drops: Path, world: World) -> None:
    early = world.config.start_date + timedelta(days=29)
    late = early + timedelta(days=6)
    _deliver(world, drops, early)
    _load_and_build(lake)
    before = {network: _staged(lake, network) for network in MODELS}
    assert before == {network: _delivered(drops, network) for network in MODELS}

    _deliver(world, drops, late)  # late conversions, pending days approved, six new days
    _load_and_build(lake)
    for network in MODELS:
        after = _staged(lake, network)
        assert after == _delivered(drops, network), network
        restated = [key for key in before[network] if before[network][key] != after[key]]
        assert restated, f"no {network} day was restated"
        assert after.keys() > before[network].keys()
        # Old versions stay in raw; staging shows each row of the newest delivery once.
        table = f"file_drops__{network}_daily"
        assert lake.load_table(RAW, table).scan().to_arrow().num_rows > len(after)
    affiliate = _staged(lake, "affiliate")
    approved = [key for key, row in before["affiliate"].items()
                if row["approval_status"] == "pending" and affiliate[key]["approval_status"] == "approved"]
    assert approved, "no pending affiliate day was approved"


def test_delivering_the_same_files_again_leaves_staging_unchanged(lake: Lake, drops: Path, world: World) -> None:
    as_of = world.config.start_date + timedelta(days=20)
    _deliver(world, drops, as_of)
    _load_and_build(lake)
    first = {model: sorted(map(repr, _staging(lake, model))) for model in MODELS.values()}

    _deliver(world, drops, as_of)  # rewritten byte for byte: new modification times, same content
    _load_and_build(lake)
    for model in MODELS.values():
        assert first[model] and sorted(map(repr, _staging(lake, model))) == first[model], model

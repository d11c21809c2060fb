"""End to end: the README's demo command, reconciliation with the API, idempotency, restatement,
and bad configuration through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from flows.transform import publish_marts, run_dbt
from pipelines.duck import install_extensions
from pipelines.lake import MARTS, RAW, Lake, LakeSettings
from pipelines.runner import run_source
from sandbox.server import SandboxServer
from sandbox.world import World, WorldConfig
from tests.apiclient import conversions, insights
from tests.conftest import REPO

pytestmark = pytest.mark.slow
META_TABLES = {"meta_ads__ad_accounts", "meta_ads__campaigns", "meta_ads__ad_sets", "meta_ads__ads",
               "meta_ads__insights"}
DEMO_DAYS = 12


def _adlake(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "ADLAKE_"))}
    env["ADLAKE_HOME"] = str(home)
    return env


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, list[subprocess.CompletedProcess[str]]]:
    """The demo command, run twice on one lake."""
    home = tmp_path_factory.mktemp("demo") / "lake"
    env = _clean_env(home)
    runs = [_adlake(["demo", "--days", str(DEMO_DAYS)], env) for _ in range(2)]
    return Lake(LakeSettings.from_env(env)), runs


def test_demo_exits_zero_and_prints_the_summary(demo_lake) -> None:
    _, runs = demo_lake
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
        assert "ad performance per channel" in run.stdout
        assert "meta_ads" in run.stdout and "PLN" in run.stdout and "USD" in run.stdout
        assert "Traceback" not in run.stdout + run.stderr


def test_tables_exist_and_read_back_through_pyiceberg_and_duckdb(demo_lake) -> None:
    lake, _ = demo_lake
    assert set(lake.table_names(RAW)) >= META_TABLES
    assert "fct_ad_performance_daily" in lake.table_names(MARTS)
    con = duckdb.connect()
    install_extensions(con)
    for namespace, name in [(RAW, "meta_ads__insights"), (MARTS, "fct_ad_performance_daily")]:
        table = lake.load_table(namespace, name)
        arrow = table.scan().to_arrow()
        scanned = con.execute(
            f"select count(*), sum(cast(spend as decimal(18, 6))) from iceberg_scan('{table.metadata_location}')"
        ).fetchone()
        assert arrow.num_rows > 0
        assert scanned[0] == arrow.num_rows
        assert scanned[1] == sum(Decimal(str(v)) for v in arrow["spend"].to_pylist())


def test_running_the_demo_twice_leaves_no_duplicates(demo_lake) -> None:
    lake, _ = demo_lake
    mart = lake.load_table(MARTS, "fct_ad_performance_daily").scan().to_arrow().to_pylist()
    keys = [(r["platform"], r["account_id"], r["ad_id"], r["date_day"]) for r in mart]
    assert len(keys) == len(set(keys))
    meta = [r for r in mart if r["platform"] == "meta_ads"]
    raw = lake.load_table(RAW, "meta_ads__insights").scan().to_arrow()
    assert raw.num_rows == 2 * len(meta)  # two versions in raw, one in the mart
    assert len(set(raw["_dlt_load_id"].to_pylist())) == 2
    local = duckdb.connect(str(lake.settings.duckdb_path), read_only=True)
    assert local.execute("select count(*) from marts.fct_ad_performance_daily").fetchone()[0] == len(mart)


def test_mart_spend_reconciles_with_what_the_api_served(demo_lake) -> None:
    lake, _ = demo_lake
    world = World(WorldConfig())  # the demo's default world: same seed, same data
    mart = lake.load_table(MARTS, "fct_ad_performance_daily").scan().to_arrow().to_pylist()
    in_mart: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in mart:
        if row["platform"] == "meta_ads":
            in_mart[(row["account_id"], row["date_day"].isoformat())] += row["spend"]
    with SandboxServer(world) as server:
        end = server.clock.as_of
        start = end - timedelta(days=DEMO_DAYS - 1)
        served = {
            (account.account_id, row["date_start"]): Decimal(row["spend"])
            for account in world.accounts["meta"]
            for row in insights(server.url_for("meta"), account.account_id, start, end, level="account",
                                fields="date_start,spend")
        }
    assert len(served) == DEMO_DAYS * len(world.accounts["meta"])
    assert dict(in_mart) == served


def _conversion_types() -> set[str]:
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    return set(project["vars"]["meta_ads_conversion_action_types"])


def _mart_conversions(lake: Lake) -> dict[tuple[str, date], Decimal]:
    rows = [r for r in lake.load_table(MARTS, "fct_ad_performance_daily").scan().to_arrow().to_pylist()
            if r["platform"] == "meta_ads"]
    keys = [(r["ad_id"], r["date_day"]) for r in rows]
    assert len(keys) == len(set(keys))
    return {(r["ad_id"], r["date_day"]): r["conversions"] for r in rows}


def test_restatement_inside_the_window_replaces_the_old_numbers(lake: Lake, meta_env: SandboxServer) -> None:
    server = meta_env
    late = server.clock.as_of
    early = late - timedelta(days=6)
    start = early - timedelta(days=20)
    server.clock.as_of = early
    run_source("meta_ads", start_date=start, end_date=early)
    run_dbt(["build"], lake)
    publish_marts(lake)
    before = _mart_conversions(lake)

    server.clock.as_of = late
    run_source("meta_ads", start_date=start, end_date=late)
    run_dbt(["build"], lake)
    publish_marts(lake)
    after = _mart_conversions(lake)

    wanted = _conversion_types()
    truth = {
        (row["ad_id"], date.fromisoformat(row["date_start"])): conversions(row, wanted)
        for account in server.world.accounts["meta"]
        for row in insights(server.url_for("meta"), account.account_id, start, late)
    }
    assert after == truth
    restated = [key for key in before if before[key] != after[key]]
    assert restated, "the later run changed nothing"
    assert all(key[1] > late - timedelta(days=28) for key in restated)


def test_bad_configuration_is_one_clear_line(tmp_path: Path) -> None:
    env = _clean_env(tmp_path / "lake")
    env.update({"SOURCES__META_ADS__ACCOUNT_IDS": "123", "SOURCES__META_ADS__START_DATE": "2026-10-01"})
    run = _adlake(["run", "--sources", "meta_ads"], env)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    expected = "meta_ads: SOURCES__META_ADS__ACCESS_TOKEN is not set (or sources.meta_ads.access_token)"
    assert last == f"adlake: error: {expected}"
    assert "Traceback" not in run.stdout + run.stderr
    lake = Lake(LakeSettings.from_env(env))
    assert lake.table_names(RAW) == []


# When and in which journal segment the receiver got a webhook: two runs receive at different times.
RECEIPT_COLUMNS = {"received_at", "received_date", "receipt_id", "journal_segment"}


def _content(lake: Lake, name: str) -> set[str]:
    """A table's rows without adlake's and dlt's bookkeeping columns (load ids, ingestion and receipt times)."""
    table = lake.load_table(RAW, name).scan().to_arrow()
    columns = [c for c in table.column_names if not c.startswith("_") and c not in RECEIPT_COLUMNS]
    return {repr(sorted(row.items())) for row in table.select(columns).to_pylist()}


def test_a_demo_under_injected_faults_loads_exactly_the_same_raw_data(demo_lake, tmp_path: Path) -> None:
    clean, _ = demo_lake
    env = _clean_env(tmp_path / "lake")
    run = _adlake(["demo", "--days", str(DEMO_DAYS), "--faults"], env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "retry" in run.stdout + run.stderr  # the faults really happened and were retried
    faulty = Lake(LakeSettings.from_env(env))
    tables = [t for t in clean.table_names(RAW) if not t.startswith("_")]
    assert len(tables) >= 30 and set(tables) == {t for t in faulty.table_names(RAW) if not t.startswith("_")}
    for name in tables:
        assert _content(faulty, name) == _content(clean, name), name

"""Incremental marts on real data: the five ad APIs and the networks' file drops against the sandbox
for FIRST_DAYS days, ``dbt build``; the sandbox clock moves one day, every source loads again (each
platform re-reads its restatement window, shortened here so that the window is a small part of the
history), ``dbt build`` again.

What the second build rebuilt is read from its log lines (``<model>: incremental, N rows in P
partitions over D days [platform: day runs; ...]``, macros/incremental_days.sql) and from
``run_results.json``; what it should rebuild comes from the raw Iceberg tables: the report days of the
rows each source loaded after the first build (their ``_ingested_at``), never from the SQL under test.
Then the same lake is fully refreshed into a copy of the DuckDB file and every incremental model must
equal it row for row (EXCEPT ALL both ways, every column).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from flows.transform import run_dbt
from pipelines.duck import connect_file
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.file_drops import write_network_reports
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.shared_lakes import isolated_lake, point_sources_at

pytestmark = pytest.mark.slow
FIRST_DAYS = 14
API_SOURCES = ("meta_ads", "google_ads", "linkedin_ads", "tiktok_ads", "microsoft_ads")
# Each platform's re-read window (the setting and its days), shorter than the platforms' defaults.
REREAD = {"meta_ads": ("ATTRIBUTION_WINDOW_DAYS", 3), "google_ads": ("CONVERSION_LAG_DAYS", 3),
          "linkedin_ads": ("RESTATEMENT_DAYS", 2), "tiktok_ads": ("ATTRIBUTION_WINDOW_DAYS", 2),
          "microsoft_ads": ("RESTATEMENT_DAYS", 2)}
# The raw table holding each platform's ad-day report rows and its report-day column.
RAW_REPORTS = {"meta_ads": ("meta_ads__insights", "date_start"),
               "google_ads": ("google_ads__ad_performance_daily", "date"),
               "linkedin_ads": ("linkedin_ads__creative_analytics_daily", "report_date"),
               "tiktok_ads": ("tiktok_ads__ad_performance_daily", "report_date"),
               "microsoft_ads": ("microsoft_ads__ad_performance_daily", "time_period"),
               "programmatic": ("file_drops__programmatic_daily", "report_date"),
               "affiliate": ("file_drops__affiliate_daily", "report_date")}
INCREMENTAL = {"fct_ad_performance_daily": "marts", "rpt_campaign_performance_daily": "marts",
               "rpt_channel_performance_daily": "marts", "int_identifiers__pseudonymized": "intermediate"}
LOG_LINE = re.compile(r"(\w+): incremental, (\d+) rows in (\d+) partitions over (\d+) days \[(.*)\]")
Partition = tuple[str, date]


@dataclass
class Logged:
    rows: int
    partitions: set[Partition]


@dataclass
class Built:
    lake: Lake
    home: Path
    first_built_at: datetime
    logged: dict[str, Logged]
    run_results: dict[str, dict]
    full_duckdb: Path


def _days(runs: str) -> set[date]:
    """'2026-01-01..2026-01-03, 2026-01-05' -> the days."""
    out: set[date] = set()
    for run in runs.split(", "):
        first, _, last = run.partition("..")
        start, stop = date.fromisoformat(first), date.fromisoformat(last or first)
        out |= {start + timedelta(days=i) for i in range((stop - start).days + 1)}
    return out


def _parse_log(text: str) -> dict[str, Logged]:
    logged: dict[str, Logged] = {}
    for model, rows, partitions, _, detail in LOG_LINE.findall(text):
        found: set[Partition] = set()
        for group in filter(None, detail.split("; ")):
            name, _, runs = group.partition(": ")
            found |= {(name, day) for day in _days(runs)}
        logged[model] = Logged(int(rows), found)
        assert len(found) == int(partitions) or model == "rpt_channel_performance_daily"
    return logged


def _build(lake: Lake, home: Path, name: str, *extra: str) -> tuple[str, dict[str, dict]]:
    """`dbt build` with its own log and target folders; returns the log text and run results by model."""
    logs, target = home / f"logs_{name}", home / f"target_{name}"
    run_dbt(["build", *extra, "--log-path", str(logs), "--target-path", str(target)], lake)
    results = json.loads((target / "run_results.json").read_text())["results"]
    return ((logs / "dbt.log").read_text(),
            {r["unique_id"].split(".")[-1]: r for r in results if r["unique_id"].startswith("model.")})


def _load(lake: Lake, first: date, end: date) -> None:
    for source in (*API_SOURCES, "file_drops"):
        run_source(source, lake, start_date=first, end_date=end)


@pytest.fixture(scope="module")
def built(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    home = tmp_path_factory.mktemp("incremental")
    with isolated_lake(home / "lake") as (mp, lake), SandboxServer(world) as server:
        drops = home / "drops"
        point_sources_at(mp, server, drops)
        for source in API_SOURCES:
            setting, days = REREAD[source]
            mp.setenv(f"SOURCES__{source.upper()}__{setting}", str(days))

        # Day one: FIRST_DAYS days, ending the day before the world's last day.
        end = server.clock.as_of - timedelta(days=1)
        server.clock.as_of = end
        first = end - timedelta(days=FIRST_DAYS - 1)
        write_network_reports(world, drops, end, days=[first + timedelta(days=i) for i in range(FIRST_DAYS)])
        _load(lake, first, end)
        _build(lake, home, "first")
        first_built_at = datetime.now(UTC)

        # Day two: one more day; each platform re-reads its window, the networks drop the new day.
        server.clock.as_of = end + timedelta(days=1)
        write_network_reports(world, drops, server.clock.as_of, days=[server.clock.as_of])
        _load(lake, first, server.clock.as_of)
        log, results = _build(lake, home, "second")

        # The same raw data fully refreshed, into a copy of the DuckDB file.
        full = home / "full.duckdb"
        shutil.copyfile(lake.settings.duckdb_path, full)
        mp.setenv("ADLAKE_DUCKDB_PATH", str(full))
        _build(Lake(), home, "full", "--full-refresh")
        mp.setenv("ADLAKE_DUCKDB_PATH", str(lake.settings.duckdb_path))
        yield Built(lake, home, first_built_at, _parse_log(log), results, full)


def _loaded_after(lake: Lake, moment: datetime) -> set[Partition]:
    """(platform, report day) of every raw report row the sources loaded after ``moment``."""
    out: set[Partition] = set()
    for platform, (table, day_column) in RAW_REPORTS.items():
        rows = lake.load_table(RAW, table).scan(selected_fields=(day_column, "_ingested_at")).to_arrow().to_pylist()
        out |= {(platform, date.fromisoformat(str(row[day_column])[:10])) for row in rows
                if row["_ingested_at"] > moment}
    return out


def _count(path: Path, sql: str) -> int:
    con = connect_file(path)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_the_second_build_rebuilds_exactly_the_new_and_re_read_days(built: Built) -> None:
    expected = _loaded_after(built.lake, built.first_built_at)
    # Every platform loaded its new day and re-read some; nothing older than the longest window.
    assert {platform for platform, _ in expected} == set(RAW_REPORTS)
    fact = built.logged["fct_ad_performance_daily"]
    assert fact.partitions == expected
    assert built.logged["rpt_campaign_performance_daily"].partitions == expected
    assert built.logged["rpt_channel_performance_daily"].partitions == {("all", day) for _, day in expected}


def test_the_second_build_writes_far_fewer_rows_than_a_full_build(built: Built) -> None:
    for model, schema in INCREMENTAL.items():
        if model not in built.logged:
            continue  # int_identifiers__pseudonymized logs per staging model: no person-level source ran
        total = _count(built.lake.settings.duckdb_path, f"select count(*) from {schema}.{model}")
        reprocessed = built.logged[model].rows
        print(f"{model}: incremental {reprocessed} rows, full {total} rows")
        assert built.run_results[model]["status"] == "success"
        assert 0 < reprocessed < total / 2, model
    fact = built.logged["fct_ad_performance_daily"]
    total = _count(built.lake.settings.duckdb_path, "select count(*) from marts.fct_ad_performance_daily")
    in_partitions = _count(built.lake.settings.duckdb_path,
                           "select count(*) from marts.fct_ad_performance_daily where (platform, date_day) in ("
                           + ", ".join(f"('{p}', date '{d}')" for p, d in sorted(fact.partitions)) + ")")
    assert fact.rows == in_partitions < total / 2


def test_every_incremental_model_equals_a_full_refresh(built: Built) -> None:
    con = connect_file(built.lake.settings.duckdb_path)
    try:
        con.execute(f"attach '{built.full_duckdb}' as full_refresh (read_only)")
        for model, schema in INCREMENTAL.items():
            incremental = f'"{built.lake.settings.duckdb_path.stem}".{schema}.{model}'
            full = f"full_refresh.{schema}.{model}"
            rows = con.execute(f"select count(*) from {full}").fetchone()[0]
            assert rows == con.execute(f"select count(*) from {incremental}").fetchone()[0], model
            for left, right in ((incremental, full), (full, incremental)):
                diff = con.execute(f"select count(*) from (from {left} except all from {right})").fetchone()[0]
                assert diff == 0, f"{model}: {diff} rows of {left} not in {right}"
            assert rows > 0 or model == "int_identifiers__pseudonymized", model
    finally:
        con.close()

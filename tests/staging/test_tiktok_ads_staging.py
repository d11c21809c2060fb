"""TikTok Ads staging on real raw data: the connector against the emulated Business API, then
``dbt build`` of ``staging.tiktok_ads``, read back from the lake's DuckDB file.

Expected values come from the sandbox read with plain HTTP, never from the code under test."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from flows.transform import run_dbt
from pipelines.duck import connect_file, install_extensions
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.server import SandboxServer
from sandbox.tiktok_ads import DEFAULT_TOKEN

pytestmark = pytest.mark.slow
PREFIX = "SOURCES__TIKTOK_ADS__"
SELECT = ["build", "--select", "staging.tiktok_ads"]
REPORT = "stg_tiktok_ads__ad_performance_daily"
RAW_REPORT = "tiktok_ads__ad_performance_daily"
METRICS = ("impressions", "clicks", "spend", "conversions", "conversions_value")
METADATA = ("dlt_load_id", "ingested_at")
Key = tuple[str, str, date]
Reader = Callable[[str], list[tuple[Any, ...]]]


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The TikTok source pointed at the sandbox, with quick retries and its default 7-day re-read."""
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{PREFIX}MAX_ATTEMPTS", "4")
    return sandbox


# -- what the sandbox serves, read with plain HTTP -------------------------------------------------
def _get(server: SandboxServer, path: str, params: dict[str, Any]) -> dict[str, Any]:
    body = requests.get(f"{server.url_for('tiktok_ads')}/open_api/v1.3/{path}", params=params,
                        headers={"Access-Token": DEFAULT_TOKEN}, timeout=30).json()
    assert body["code"] == 0, body
    return body["data"]


def _served(server: SandboxServer, start: date, end: date) -> dict[Key, tuple[Any, ...]]:
    """(advertiser, ad, local day) -> the metrics the daily ad report serves now, typed exactly."""
    out: dict[Key, tuple[Any, ...]] = {}
    for account in server.world.accounts["tiktok_ads"]:
        since = start
        while since <= end:
            until = min(end, since + timedelta(days=29))  # TikTok's 30-day limit for daily reports
            page = 1
            while True:
                data = _get(server, "report/integrated/get/", {
                    "advertiser_id": account.account_id, "service_type": "AUCTION", "report_type": "BASIC",
                    "data_level": "AUCTION_AD", "dimensions": json.dumps(["ad_id", "stat_time_day"]),
                    "metrics": json.dumps(["impressions", "clicks", "spend", "conversion", "total_conversion_value"]),
                    "start_date": since.isoformat(), "end_date": until.isoformat(), "page": page, "page_size": 1000})
                for row in data["list"]:
                    d, m = row["dimensions"], row["metrics"]
                    key = (account.account_id, d["ad_id"], date.fromisoformat(d["stat_time_day"][:10]))
                    out[key] = (int(m["impressions"]), int(m["clicks"]), Decimal(m["spend"]), int(m["conversion"]),
                                Decimal(m["total_conversion_value"]))
                if page >= data["page_info"]["total_page"]:
                    break
                page += 1
            since = until + timedelta(days=1)
    return out


def _served_advertisers(server: SandboxServer) -> dict[str, tuple[str, str]]:
    ids = [a.account_id for a in server.world.accounts["tiktok_ads"]]
    data = _get(server, "advertiser/info/", {"advertiser_ids": json.dumps(ids)})
    return {row["advertiser_id"]: (row["currency"], row["timezone"]) for row in data["list"]}


# -- what staging holds, read from the lake's DuckDB file -------------------------------------------
@pytest.fixture
def staging(lake: Lake) -> Reader:
    """A reader of the staging views; each read opens and closes its own read-only connection
    (dbt has released the file), as a BI tool would."""

    def read(sql: str) -> list[tuple[Any, ...]]:
        con = connect_file(lake.settings.duckdb_path)
        try:
            install_extensions(con)  # the raw views under the staging views scan Iceberg
            con.execute("set TimeZone = 'UTC'")
            return con.execute(sql).fetchall()
        finally:
            con.close()

    return read


def _report(read: Reader) -> dict[Key, tuple[Any, ...]]:
    rows = read(f"select account_id, ad_id, date_day, {', '.join(METRICS)} from staging.{REPORT}")
    keyed = {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}
    assert len(keyed) == len(rows), "more than one row per (advertiser, ad, day)"
    return keyed


def _content(read: Reader, model: str) -> list[tuple[Any, ...]]:
    """Every row of a staging model without the version metadata, sorted."""
    columns = [c for (c,) in read(f"select column_name from (describe staging.{model})") if c not in METADATA]
    return sorted(read(f"select {', '.join(columns)} from staging.{model}"), key=repr)


def _models(read: Reader) -> list[str]:
    return [m for (m,) in read("select table_name from information_schema.tables where table_schema = 'staging' "
                               "and table_name like 'stg_tiktok_ads__%' order by 1")]


def _raw_rows(lake: Lake, table: str) -> int:
    return lake.load_table(RAW, table).scan().to_arrow().num_rows


# -- tests --------------------------------------------------------------------------------------------
def test_a_restatement_replaces_the_old_numbers_after_staging(lake: Lake, env: SandboxServer, staging: Reader) -> None:
    late = env.clock.as_of
    early = late - timedelta(days=6)
    start = early - timedelta(days=20)
    env.clock.as_of = early
    run_source("tiktok_ads", lake, start_date=start, end_date=early)
    run_dbt(SELECT, lake)
    before = _report(staging)

    env.clock.as_of = late
    run_source("tiktok_ads", lake, start_date=start, end_date=late)
    run_dbt(SELECT, lake)
    after = _report(staging)

    assert after == _served(env, start, late)
    restated = [key for key in before if before[key] != after[key]]
    assert restated, "the later run changed nothing: the test would prove nothing"
    assert all(before[k][:3] == after[k][:3] for k in restated)  # delivery and spend never restate
    assert all(k[2] >= early - timedelta(days=6) for k in restated)  # TikTok's 7-day window, local days
    assert _raw_rows(lake, RAW_REPORT) > len(after)  # raw holds both versions, staging the latest only
    # The report's currency and time zone are the advertiser's, as the API describes it.
    advertisers = staging("select account_id, currency, report_timezone from staging.stg_tiktok_ads__advertisers")
    assert {a: (c, tz) for a, c, tz in advertisers} == _served_advertisers(env)


def test_rerunning_without_changes_leaves_staging_unchanged(lake: Lake, env: SandboxServer,
                                                            staging: Reader) -> None:
    end = env.clock.as_of
    start = end - timedelta(days=5)  # inside the 7-day re-read: the second run reads every day again
    run_source("tiktok_ads", lake, start_date=start, end_date=end)
    run_dbt(SELECT, lake)
    models = _models(staging)
    assert len(models) == 5
    first = {model: _content(staging, model) for model in models}
    raw_first = _raw_rows(lake, RAW_REPORT)

    run_source("tiktok_ads", lake, start_date=start, end_date=end)
    run_dbt(SELECT, lake)

    assert {model: _content(staging, model) for model in models} == first
    assert all(first[model] for model in models)
    assert _raw_rows(lake, RAW_REPORT) > raw_first  # the re-read was appended, not merged
    assert staging(f"select count(distinct dlt_load_id) from staging.{REPORT}") == [(1,)]  # the second run's

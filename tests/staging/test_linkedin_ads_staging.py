"""LinkedIn Ads staging on real raw data: the connector against the emulated Marketing API, then
``dbt build`` of ``staging.linkedin_ads``, read back from the lake's DuckDB file.

Expected values come from the sandbox read with plain HTTP, never from the code under test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
import requests

from flows.transform import run_dbt
from pipelines.duck import connect_file, install_extensions
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.linkedin_ads import DEFAULT_TOKEN
from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow
PREFIX = "SOURCES__LINKEDIN_ADS__"
SELECT = ["build", "--select", "staging.linkedin_ads"]
# Staging model -> (pivot asked of adAnalytics, staged id column, raw table).
ANALYTICS = {
    "stg_linkedin_ads__campaign_analytics_daily": ("CAMPAIGN", "campaign_id", "linkedin_ads__campaign_analytics_daily"),
    "stg_linkedin_ads__creative_analytics_daily": ("CREATIVE", "creative_id", "linkedin_ads__creative_analytics_daily"),
}
METRICS = ("impressions", "clicks", "spend", "spend_usd", "conversions", "conversions_value")
FIELDS = "dateRange,pivotValues,impressions,clicks,costInLocalCurrency,costInUsd,externalWebsiteConversions," \
         "conversionValueInLocalCurrency"
METADATA = ("dlt_load_id", "ingested_at")
Key = tuple[str, str, date]


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The LinkedIn source pointed at the sandbox, with quick retries.

    The re-read window is the sandbox's restatement horizon (LinkedIn's 30-day click window);
    the connector's default of 7 days would leave older days stale in raw (see the report).
    """
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{PREFIX}MAX_ATTEMPTS", "4")
    monkeypatch.setenv(f"{PREFIX}RESTATEMENT_DAYS", "30")
    return sandbox


# -- what the sandbox serves, read with plain HTTP -------------------------------------------------
def _ymd(day: date) -> str:
    return f"(year:{day.year},month:{day.month},day:{day.day})"


def _served(server: SandboxServer, pivot: str, start: date, end: date) -> dict[Key, tuple[Any, ...]]:
    """(account, bare id, UTC day) -> the metrics adAnalytics serves now, money as exact decimals."""
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Linkedin-Version": f"{server.clock.as_of:%Y%m}",
               "X-Restli-Protocol-Version": "2.0.0"}
    out: dict[Key, tuple[Any, ...]] = {}
    for account in server.world.accounts["linkedin_ads"]:
        urn = quote(f"urn:li:sponsoredAccount:{account.account_id}", safe="")
        answer = requests.get(
            f"{server.url_for('linkedin_ads')}/rest/adAnalytics?q=analytics&pivot={pivot}&timeGranularity=DAILY"
            f"&dateRange=(start:{_ymd(start)},end:{_ymd(end)})&accounts=List({urn})&fields={FIELDS}",
            headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        for e in answer.json()["elements"]:
            day = e["dateRange"]["start"]
            key = (account.account_id, e["pivotValues"][0].rsplit(":", 1)[1],
                   date(day["year"], day["month"], day["day"]))
            out[key] = (e["impressions"], e["clicks"], Decimal(e["costInLocalCurrency"]), Decimal(e["costInUsd"]),
                        e["externalWebsiteConversions"], Decimal(e["conversionValueInLocalCurrency"]))
    return out


# -- what staging holds, read from the lake's DuckDB file -------------------------------------------
Reader = Callable[[str], list[tuple[Any, ...]]]


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


def _analytics(read: Reader, model: str) -> dict[Key, tuple[Any, ...]]:
    _, id_column, _ = ANALYTICS[model]
    rows = read(f"select account_id, {id_column}, date_day, {', '.join(METRICS)} from staging.{model}")
    keyed = {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}
    assert len(keyed) == len(rows), f"{model}: more than one row per (account, {id_column}, day)"
    return keyed


def _content(read: Reader, model: str) -> list[tuple[Any, ...]]:
    """Every row of a staging model without the version metadata, sorted."""
    columns = [c for (c,) in read(f"select column_name from (describe staging.{model})") if c not in METADATA]
    return sorted(read(f"select {', '.join(columns)} from staging.{model}"), key=repr)


def _models(read: Reader) -> list[str]:
    return [m for (m,) in read("select table_name from information_schema.tables where table_schema = 'staging' "
                               "and table_name like 'stg_linkedin_ads__%' order by 1")]


def _raw_rows(lake: Lake, table: str) -> int:
    return lake.load_table(RAW, table).scan().to_arrow().num_rows


# -- tests --------------------------------------------------------------------------------------------
def test_a_restatement_replaces_the_old_numbers_after_staging(lake: Lake, env: SandboxServer, staging: Reader) -> None:
    late = env.clock.as_of
    early = late - timedelta(days=6)
    start = early - timedelta(days=20)
    env.clock.as_of = early
    run_source("linkedin_ads", lake, start_date=start, end_date=early)
    run_dbt(SELECT, lake)
    before = {model: _analytics(staging, model) for model in ANALYTICS}

    env.clock.as_of = late
    run_source("linkedin_ads", lake, start_date=start, end_date=late)
    run_dbt(SELECT, lake)

    for model, (pivot, _, table) in ANALYTICS.items():
        after = _analytics(staging, model)
        served = _served(env, pivot, start, late)
        assert after == served, model
        restated = [key for key in before[model] if before[model][key] != after[key]]
        assert restated, f"{model}: the later run changed nothing, the test would prove nothing"
        assert all(before[model][k][:4] == after[k][:4] for k in restated)  # delivery and cost never restate
        assert _raw_rows(lake, table) > len(after)  # raw holds both versions, staging the latest only


def test_rerunning_without_changes_leaves_staging_unchanged(lake: Lake, env: SandboxServer, staging: Reader) -> None:
    end = env.clock.as_of
    start = end - timedelta(days=9)
    run_source("linkedin_ads", lake, start_date=start, end_date=end)
    run_dbt(SELECT, lake)
    models = _models(staging)
    assert len(models) == 6
    first = {model: _content(staging, model) for model in models}
    raw_first = {table: _raw_rows(lake, table) for _, _, table in ANALYTICS.values()}

    run_source("linkedin_ads", lake, start_date=start, end_date=end)
    run_dbt(SELECT, lake)

    assert {model: _content(staging, model) for model in models} == first
    assert all(first[model] for model in models)
    for _, _, table in ANALYTICS.values():
        assert _raw_rows(lake, table) > raw_first[table]  # the re-read was appended, not merged
    versions = staging("select count(distinct dlt_load_id) from staging.stg_linkedin_ads__creative_analytics_daily")
    assert versions == [(1,)]  # every row is the second run's version


def test_staging_reads_an_empty_lake(lake: Lake, staging: Reader) -> None:
    # No LinkedIn table landed yet: every model builds (typed NULL columns) and holds no row.
    run_dbt(SELECT, lake)
    assert all(staging(f"select count(*) from staging.{model}") == [(0,)] for model in _models(staging))


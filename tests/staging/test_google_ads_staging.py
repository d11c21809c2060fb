"""Google Ads staging on the real source and sandbox: a restatement inside the conversion lag replaces
the old numbers after staging, and a re-run without changes leaves staging as it was.

Expected values come from the emulated API read with a plain HTTP client (our own GAQL, not the
connector's), never from the staging SQL.
"""

from __future__ import annotations

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
from sandbox.google_ads import DEFAULT_DEVELOPER_TOKEN, DEFAULT_TOKEN
from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow
PREFIX = "SOURCES__GOOGLE_ADS__"
# Every run re-reads this many days (the connector's default conversion lag).
LAG_DAYS = 14
MICROS = Decimal(1_000_000)
SIX_PLACES = Decimal("0.000001")
Row = dict[str, Any]
Key = tuple[Any, ...]


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The Google Ads source configured against the sandbox, in a fresh lake, with quick retries."""
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{PREFIX}MAX_ATTEMPTS", "4")
    return sandbox


def _load_and_build(lake: Lake, start: date, end: date) -> None:
    run_source("google_ads", lake, start_date=start, end_date=end)
    run_dbt(["build", "--select", "staging.google_ads"], lake)


def _staging(lake: Lake, model: str) -> list[Row]:
    """Every row of a staging view, read back from the lake's DuckDB file."""
    con = connect_file(lake.settings.duckdb_path)
    try:
        install_extensions(con)
        cursor = con.execute(f'select * from staging."{model}"')
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _by_key(rows: list[Row], key: Callable[[Row], Key], value: Callable[[Row], Any]) -> dict[Key, Any]:
    """Rows by grain key; fails when a key occurs twice (one row per grain)."""
    out: dict[Key, Any] = {}
    for row in rows:
        assert key(row) not in out, f"two rows for {key(row)}"
        out[key(row)] = value(row)
    return out


def _served(server: SandboxServer, query: str) -> list[Row]:
    """Every result row of a GAQL query, for every customer, from a plain searchStream call."""
    rows: list[Row] = []
    for account in server.world.accounts["google_ads"]:
        response = requests.post(
            f"{server.url_for('google_ads')}/v17/customers/{account.account_id}/googleAds:searchStream",
            json={"query": query}, timeout=30,
            headers={"Authorization": f"Bearer {DEFAULT_TOKEN}", "developer-token": DEFAULT_DEVELOPER_TOKEN})
        assert response.status_code == 200, response.text
        rows += [row for batch in response.json() for row in batch.get("results", [])]
    return rows


def _number(value: Any) -> Decimal:
    """A double from Google's JSON as staging's decimal(18, 6) holds it (absent = 0)."""
    return Decimal(repr(float(value or 0))).quantize(SIX_PLACES)


def _served_metrics(row: Row) -> tuple[Any, ...]:
    metrics, customer = row["metrics"], row["customer"]
    return (int(metrics.get("impressions", 0)), int(metrics.get("clicks", 0)),
            Decimal(metrics.get("costMicros", 0)) / MICROS, _number(metrics.get("conversions")),
            _number(metrics.get("conversionsValue")), customer["currencyCode"], customer["timeZone"])


def _staged_metrics(row: Row) -> tuple[Any, ...]:
    return (row["impressions"], row["clicks"], row["spend"], row["conversions"], row["conversions_value"],
            row["currency"], row["report_timezone"])


_METRICS = ("metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, "
            "metrics.conversions_value, customer.currency_code, customer.time_zone")


def _api_ads_daily(server: SandboxServer, start: date, end: date) -> dict[Key, Any]:
    query = (f"SELECT customer.id, campaign.id, ad_group.id, ad_group_ad.ad.id, segments.date, {_METRICS} "
             f"FROM ad_group_ad WHERE segments.date BETWEEN '{start}' AND '{end}'")
    return _by_key(_served(server, query),
                   lambda r: (r["customer"]["id"], r["adGroup"]["id"], r["adGroupAd"]["ad"]["id"],
                              date.fromisoformat(r["segments"]["date"])),
                   lambda r: (r["campaign"]["id"], *_served_metrics(r)))


def _staged_ads_daily(lake: Lake) -> dict[Key, Any]:
    return _by_key(_staging(lake, "stg_google_ads__ad_performance_daily"),
                   lambda r: (r["account_id"], r["ad_group_id"], r["ad_id"], r["date_day"]),
                   lambda r: (r["campaign_id"], *_staged_metrics(r)))


def _api_campaigns_daily(server: SandboxServer, start: date, end: date) -> dict[Key, Any]:
    query = (f"SELECT customer.id, campaign.id, segments.date, {_METRICS} "
             f"FROM campaign WHERE segments.date BETWEEN '{start}' AND '{end}'")
    return _by_key(_served(server, query),
                   lambda r: (r["customer"]["id"], r["campaign"]["id"], date.fromisoformat(r["segments"]["date"])),
                   _served_metrics)


def _staged_campaigns_daily(lake: Lake) -> dict[Key, Any]:
    return _by_key(_staging(lake, "stg_google_ads__campaign_performance_daily"),
                   lambda r: (r["account_id"], r["campaign_id"], r["date_day"]), _staged_metrics)


def _api_ad_statuses(server: SandboxServer) -> dict[Key, str]:
    query = "SELECT customer.id, ad_group.id, ad_group_ad.ad.id, ad_group_ad.status FROM ad_group_ad"
    return _by_key(_served(server, query),
                   lambda r: (r["customer"]["id"], r["adGroup"]["id"], r["adGroupAd"]["ad"]["id"]),
                   lambda r: r["adGroupAd"]["status"])


def _staged_ad_statuses(lake: Lake) -> dict[Key, str]:
    return _by_key(_staging(lake, "stg_google_ads__ads"),
                   lambda r: (r["account_id"], r["ad_group_id"], r["ad_id"]), lambda r: r["status"])


def _raw_rows(lake: Lake, table: str) -> int:
    return lake.load_table(RAW, table).scan().to_arrow().num_rows


def test_restatement_inside_the_window_replaces_the_old_numbers(lake: Lake, env: SandboxServer) -> None:
    server = env
    # Between the two runs conversions arrive late and an ad stops (the default world has one ending
    # on its 46th day): a report restatement and an entity change.
    late = server.clock.as_of - timedelta(days=6)
    early = late - timedelta(days=8)
    start = late - timedelta(days=LAG_DAYS - 1)  # the later run re-reads every loaded day
    server.clock.as_of = early
    _load_and_build(lake, start, early)
    before_ads, before_campaigns = _staged_ads_daily(lake), _staged_campaigns_daily(lake)
    before_statuses = _staged_ad_statuses(lake)
    assert before_ads == _api_ads_daily(server, start, early), "the first build differs from the API"

    server.clock.as_of = late
    _load_and_build(lake, start, late)
    after_ads, after_campaigns = _staged_ads_daily(lake), _staged_campaigns_daily(lake)

    # Staging is what Google serves now, one row per grain key (_by_key checks), nothing stale.
    assert after_ads == _api_ads_daily(server, start, late)
    assert after_campaigns == _api_campaigns_daily(server, start, late)
    assert _staged_ad_statuses(lake) == _api_ad_statuses(server)
    # Late conversions moved numbers of days already staged; spend never moves.
    for before, after in ((before_ads, after_ads), (before_campaigns, after_campaigns)):
        restated = [key for key in before if before[key] != after[key]]
        assert restated, "the later run changed nothing: the test would prove nothing"
        assert all(before[key][-5] == after[key][-5] for key in before), "spend moved"  # (-5: spend)
    assert any(before_statuses[key] != status for key, status in _staged_ad_statuses(lake).items()), \
        "no ad changed status"
    # Raw kept both versions of the re-read days: staging chose the newer.
    assert _raw_rows(lake, "google_ads__ad_performance_daily") > len(after_ads)


def test_rerunning_without_changes_leaves_staging_unchanged(lake: Lake, env: SandboxServer) -> None:
    server = env
    end = server.clock.as_of
    start = end - timedelta(days=4)
    models = ("stg_google_ads__customers", "stg_google_ads__campaigns", "stg_google_ads__ad_groups",
              "stg_google_ads__ads", "stg_google_ads__ad_performance_daily",
              "stg_google_ads__campaign_performance_daily")
    metadata = ("dlt_load_id", "ingested_at")

    def content() -> dict[str, list[tuple[Any, ...]]]:
        return {model: sorted(tuple(v for k, v in row.items() if k not in metadata) for row in _staging(lake, model))
                for model in models}

    _load_and_build(lake, start, end)
    first = content()
    raw_first = _raw_rows(lake, "google_ads__ad_performance_daily")
    _load_and_build(lake, start, end)

    assert all(first[model] for model in models), "a staging model is empty: the test would prove nothing"
    assert content() == first
    assert _raw_rows(lake, "google_ads__ad_performance_daily") == 2 * raw_first, "the re-run appended nothing"

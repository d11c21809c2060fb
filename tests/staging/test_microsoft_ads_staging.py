"""Microsoft Advertising staging on the real source and sandbox: a restatement inside the 30-day window
replaces the old numbers after staging, and a re-run without changes leaves staging as it was.

Expected values come from the emulated Reporting API read with a plain HTTP client (Submit, Poll,
download, unzip), never from the staging SQL.
"""

from __future__ import annotations

import csv
import io
import zipfile
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
from sandbox.microsoft_ads import DEFAULT_DEVELOPER_TOKEN, DEFAULT_TOKEN, report_time_zone
from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow
PREFIX = "SOURCES__MICROSOFT_ADS__"
# Every run re-reads this many days (the connector's default restatement window).
RESTATEMENT_DAYS = 30
Row = dict[str, Any]
Key = tuple[Any, ...]
# Staging model -> (report request type, the report's id column of the grain, staging's id column).
REPORTS = {
    "stg_microsoft_ads__campaign_performance_daily": ("CampaignPerformanceReportRequest", "CampaignId",
                                                      "campaign_id"),
    "stg_microsoft_ads__ad_group_performance_daily": ("AdGroupPerformanceReportRequest", "AdGroupId",
                                                      "ad_group_id"),
    "stg_microsoft_ads__ad_performance_daily": ("AdPerformanceReportRequest", "AdId", "ad_id"),
}
MEASURES = ["Impressions", "Clicks", "Spend", "Conversions", "ViewThroughConversions", "Revenue"]


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The Microsoft source configured against the sandbox, in a fresh lake, with quick retries and polls."""
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{PREFIX}MAX_ATTEMPTS", "4")
    monkeypatch.setenv(f"{PREFIX}POLL_INTERVAL_SECONDS", "0.01")
    return sandbox


def _load_and_build(lake: Lake, start: date, end: date) -> None:
    run_source("microsoft_ads", lake, start_date=start, end_date=end)
    run_dbt(["build", "--select", "staging.microsoft_ads"], lake)


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


def _report(server: SandboxServer, report_type: str, id_column: str, start: date, end: date) -> list[Row]:
    """One report of every account, as the sandbox serves it to a plain HTTP client."""
    base = server.url_for("microsoft_ads")
    rows: list[Row] = []
    for account in server.world.accounts["microsoft_ads"]:
        headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "DeveloperToken": DEFAULT_DEVELOPER_TOKEN,
                   "CustomerId": account.business_id, "CustomerAccountId": account.account_id}
        day = lambda d: {"Day": d.day, "Month": d.month, "Year": d.year}  # noqa: E731
        columns = ["TimePeriod", "AccountId", "CurrencyCode", *dict.fromkeys(["CampaignId", id_column]), *MEASURES]
        body = {"ReportRequest": {
            "Type": report_type, "Aggregation": "Daily", "Columns": columns, "Format": "Csv",
            "Scope": {"AccountIds": [int(account.account_id)]}, "ExcludeReportHeader": True,
            "ExcludeReportFooter": True,
            "Time": {"CustomDateRangeStart": day(start), "CustomDateRangeEnd": day(end),
                     "ReportTimeZone": report_time_zone(account)}}}
        submitted = requests.post(f"{base}/Reporting/v13/GenerateReport/Submit", json=body, headers=headers,
                                  timeout=30)
        assert submitted.status_code == 200, submitted.text
        for _ in range(20):
            status = requests.post(f"{base}/Reporting/v13/GenerateReport/Poll", headers=headers, timeout=30,
                                   json={"ReportRequestId": submitted.json()["ReportRequestId"]},
                                   ).json()["ReportRequestStatus"]
            if status["Status"] == "Success":
                break
        assert status["Status"] == "Success"
        if status["ReportDownloadUrl"] is None:  # no rows
            continue
        archive = requests.get(status["ReportDownloadUrl"], timeout=30).content
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            rows += csv.DictReader(io.StringIO(zipped.read(zipped.namelist()[0]).decode("utf-8-sig")))
    return rows


def _served(server: SandboxServer, model: str, start: date, end: date) -> dict[Key, Any]:
    report_type, id_column, _ = REPORTS[model]
    return _by_key(_report(server, report_type, id_column, start, end),
                   lambda r: (r["AccountId"], r[id_column], date.fromisoformat(r["TimePeriod"])),
                   lambda r: (r["CampaignId"], r["CurrencyCode"], int(r["Impressions"]), int(r["Clicks"]),
                              Decimal(r["Spend"]), Decimal(r["Conversions"]),
                              Decimal(r["ViewThroughConversions"]), Decimal(r["Revenue"])))


def _staged(lake: Lake, model: str) -> dict[Key, Any]:
    id_column = REPORTS[model][2]
    return _by_key(_staging(lake, model),
                   lambda r: (r["account_id"], r[id_column], r["date_day"]),
                   lambda r: (r["campaign_id"], r["currency"], r["impressions"], r["clicks"], r["spend"],
                              r["conversions"], r["view_through_conversions"], r["conversions_value"]))


def _raw_rows(lake: Lake, table: str) -> int:
    return lake.load_table(RAW, table).scan().to_arrow().num_rows


def test_restatement_inside_the_window_replaces_the_old_numbers(lake: Lake, env: SandboxServer) -> None:
    server = env
    late = server.clock.as_of
    early = late - timedelta(days=10)
    start = late - timedelta(days=RESTATEMENT_DAYS - 1)  # the later run re-reads every loaded day
    server.clock.as_of = early
    _load_and_build(lake, start, early)
    before = {model: _staged(lake, model) for model in REPORTS}
    for model in REPORTS:
        assert before[model] == _served(server, model, start, early), f"{model}: the first build differs"

    server.clock.as_of = late
    _load_and_build(lake, start, late)

    for model in REPORTS:
        after = _staged(lake, model)
        # Staging is what Microsoft serves now, one row per grain key (_by_key checks), nothing stale.
        assert after == _served(server, model, start, late), model
        # Late conversions moved numbers of days already staged; spend never moves.
        restated = [key for key in before[model] if before[model][key] != after[key]]
        assert restated, f"{model}: the later run changed nothing: the test would prove nothing"
        assert all(before[model][key][4] == after[key][4] for key in before[model]), f"{model}: spend moved"
    # Raw kept both versions of the re-read days: staging chose the newer.
    assert _raw_rows(lake, "microsoft_ads__ad_performance_daily") > len(_staged(lake, next(reversed(REPORTS))))


def test_rerunning_without_changes_leaves_staging_unchanged(lake: Lake, env: SandboxServer) -> None:
    server = env
    end = server.clock.as_of
    start = end - timedelta(days=4)
    metadata = ("dlt_load_id", "ingested_at")

    def content() -> dict[str, list[tuple[Any, ...]]]:
        return {model: sorted(tuple(v for k, v in row.items() if k not in metadata) for row in _staging(lake, model))
                for model in REPORTS}

    _load_and_build(lake, start, end)
    first = content()
    raw_first = _raw_rows(lake, "microsoft_ads__ad_performance_daily")
    _load_and_build(lake, start, end)

    assert all(first[model] for model in REPORTS), "a staging model is empty: the test would prove nothing"
    assert content() == first
    assert _raw_rows(lake, "microsoft_ads__ad_performance_daily") == 2 * raw_first, "the re-run appended nothing"

"""The Microsoft Advertising dlt source against the emulated Reporting API, landing real Iceberg tables."""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from pipelines import runner
from pipelines.errors import ConfigError, SourceError
from pipelines.lake import RAW, Lake
from pipelines.microsoft_ads import microsoft_ads
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.faults import FaultRule
from sandbox.microsoft_ads import DEFAULT_DEVELOPER_TOKEN, DEFAULT_TOKEN, MicrosoftAdsApp
from sandbox.server import Request, Response, SandboxServer

PREFIX = "SOURCES__MICROSOFT_ADS__"
ZONE = "AmsterdamBerlinBernRomeStockholmVienna"  # the sandbox account's own zone (Europe/Berlin)
TABLES = {
    "CampaignPerformanceReportRequest": ("microsoft_ads__campaign_performance_daily", "CampaignId"),
    "AdGroupPerformanceReportRequest": ("microsoft_ads__ad_group_performance_daily", "AdGroupId"),
    "AdPerformanceReportRequest": ("microsoft_ads__ad_performance_daily", "AdId"),
}
COLUMNS = ["TimePeriod", "AccountId", "CampaignId", "Impressions", "Spend", "Conversions", "Revenue"]


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The source configured against the sandbox, registered with the runner, quick retries and polls."""
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    # The catalog does not give the customer id: it is the account's business id in the world.
    monkeypatch.setenv(f"{PREFIX}CUSTOMER_ID", sandbox.world.accounts["microsoft_ads"][0].business_id)
    monkeypatch.setenv(f"{PREFIX}REPORT_TIME_ZONE", ZONE)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{PREFIX}MAX_ATTEMPTS", "4")
    monkeypatch.setenv(f"{PREFIX}POLL_INTERVAL_SECONDS", "0.01")
    monkeypatch.setitem(runner.SOURCES, "microsoft_ads", lambda: microsoft_ads)
    return sandbox


def _raw(lake: Lake, table: str) -> list[dict[str, Any]]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _served(server: SandboxServer, report_type: str, start: date, end: date) -> list[dict[str, str]]:
    """The report as the sandbox serves it to a plain HTTP client (Submit, Poll, download, unzip)."""
    account = server.world.accounts["microsoft_ads"][0]
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "DeveloperToken": DEFAULT_DEVELOPER_TOKEN,
               "CustomerId": account.business_id, "CustomerAccountId": account.account_id}
    key = TABLES[report_type][1]
    columns = COLUMNS if key == "CampaignId" else [*COLUMNS, key]
    day = lambda d: {"Day": d.day, "Month": d.month, "Year": d.year}  # noqa: E731
    body = {"ReportRequest": {
        "Type": report_type, "Aggregation": "Daily", "Columns": columns, "Format": "Csv",
        "Scope": {"AccountIds": [int(account.account_id)]}, "ExcludeReportHeader": True, "ExcludeReportFooter": True,
        "Time": {"CustomDateRangeStart": day(start), "CustomDateRangeEnd": day(end), "ReportTimeZone": ZONE}}}
    base = server.url_for("microsoft_ads")
    report_id = requests.post(f"{base}/Reporting/v13/GenerateReport/Submit", json=body, headers=headers,
                              timeout=30).json()["ReportRequestId"]
    while True:
        status = requests.post(f"{base}/Reporting/v13/GenerateReport/Poll", json={"ReportRequestId": report_id},
                               headers=headers, timeout=30).json()["ReportRequestStatus"]
        if status["Status"] == "Success":
            break
    if status["ReportDownloadUrl"] is None:
        return []
    with zipfile.ZipFile(io.BytesIO(requests.get(status["ReportDownloadUrl"], timeout=30).content)) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _key(row: dict[str, Any], id_column: str) -> tuple[str, str]:
    """(entity id, day) from a served row (``AdId``) or a raw row (``ad_id``)."""
    snake = {"CampaignId": "campaign_id", "AdGroupId": "ad_group_id", "AdId": "ad_id"}[id_column]
    if id_column in row:
        return row[id_column], row["TimePeriod"]
    return row[snake], row["time_period"].isoformat()


def _window(server: SandboxServer, days: int) -> tuple[date, date]:
    end = server.clock.as_of
    return end - timedelta(days=days - 1), end


def test_full_download_lands_every_row_once(lake: Lake, env: SandboxServer) -> None:
    start, end = _window(env, 10)
    summary = run_source("microsoft_ads", start_date=start, end_date=end)
    for report_type, (table, id_column) in TABLES.items():
        served = _served(env, report_type, start, end)
        rows = _raw(lake, table)
        keys = Counter(_key(r, id_column) for r in rows)
        assert served and set(keys) == {_key(r, id_column) for r in served}, table
        assert max(keys.values()) == 1
        assert summary.rows[table] == len(served)
        # Money stays the CSV's decimal string.
        spend = {_key(r, id_column): (r["Spend"], r["Revenue"]) for r in served}
        assert all(spend[_key(r, id_column)] == (r["spend"], r["revenue"]) for r in rows)
        assert all(r["_ingested_at"] is not None for r in rows)
        assert lake.load_table(RAW, table).spec().fields[0].name == "time_period"


def test_an_empty_report_has_no_download_and_loads_nothing(lake: Lake, env: SandboxServer) -> None:
    start = env.world.config.start_date - timedelta(days=10)
    assert _served(env, "CampaignPerformanceReportRequest", start, start + timedelta(days=3)) == []
    summary = run_source("microsoft_ads", start_date=start, end_date=start + timedelta(days=3))
    assert summary.total_rows == 0
    assert not any(path.startswith("/ReportDownloads/") for _, path, _ in env.request_log)


class _RecordingApp(MicrosoftAdsApp):
    """Microsoft Ads, keeping every submitted report request."""

    submitted: list[dict[str, Any]]

    def handle(self, request: Request) -> Response:
        if request.path.endswith("/Submit"):
            self.submitted.append(json.loads(request.body)["ReportRequest"])
        return super().handle(request)


def test_second_run_rereads_the_restatement_window_and_appends_versions(lake: Lake, env: SandboxServer) -> None:
    app = _RecordingApp(env.world, env.clock)
    app.submitted = []
    env.apps = [app]
    end = env.clock.as_of
    first_end = end - timedelta(days=10)
    start = first_end - timedelta(days=40)
    env.clock.as_of = first_end
    run_source("microsoft_ads", start_date=start, end_date=first_end)
    app.submitted.clear()
    env.clock.as_of = end
    run_source("microsoft_ads", start_date=start, end_date=end)

    reread = first_end - timedelta(days=29)  # 30 days re-read, not more
    starts = {(r["Type"], json.dumps(r["Time"]["CustomDateRangeStart"], sort_keys=True)) for r in app.submitted}
    expected = json.dumps({"Day": reread.day, "Month": reread.month, "Year": reread.year}, sort_keys=True)
    assert starts == {(t, expected) for t in TABLES}
    assert all(r["Time"]["ReportTimeZone"] == ZONE and r["ExcludeReportHeader"] for r in app.submitted)

    rows = _raw(lake, "microsoft_ads__campaign_performance_daily")
    versions = Counter(_key(r, "CampaignId") for r in rows)
    assert any(n == 2 for (_, day), n in versions.items() if date.fromisoformat(day) > reread)
    assert all(n == 1 for (_, day), n in versions.items() if date.fromisoformat(day) < reread)
    # The newest version of a restated day is what the platform reports now.
    latest = {_key(r, "CampaignId"): r["conversions"] for r in sorted(rows, key=lambda r: r["_dlt_load_id"])}
    served = _served(env, "CampaignPerformanceReportRequest", reread, first_end)
    assert all(latest[_key(r, "CampaignId")] == r["Conversions"] for r in served)


def test_throttle_waits_for_retry_after_and_retries(
    lake: Lake, env: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    env.faults.rules.append(FaultRule("microsoft_ads", "throttle", r"/Submit$", times=2))
    start, end = _window(env, 4)
    with caplog.at_level(logging.WARNING, logger="adlake.http"):
        run_source("microsoft_ads", start_date=start, end_date=end)
    assert [kind for _, kind, _ in env.faults.fired] == ["throttle", "throttle"]
    retries = [r.getMessage() for r in caplog.records if r.name == "adlake.http"]
    assert len(retries) == 2 and all("throttled" in m and "code 117" in m and "in 1.0 s" in m for m in retries)
    served = _served(env, "CampaignPerformanceReportRequest", start, end)
    assert len(_raw(lake, "microsoft_ads__campaign_performance_daily")) == len(served)


def test_server_errors_are_retried(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("microsoft_ads", "server_error", r"/Poll$", times=3))
    start, end = _window(env, 3)
    run_source("microsoft_ads", start_date=start, end_date=end)
    assert len(env.faults.fired) == 3
    served = _served(env, "AdPerformanceReportRequest", start, end)
    assert len(_raw(lake, "microsoft_ads__ad_performance_daily")) == len(served)


def _data_snapshots(lake: Lake) -> dict[str, int]:
    try:
        counts = lake.snapshot_counts(RAW)
    except Exception:  # no raw namespace yet
        return {}
    return {name: n for name, n in counts.items() if name != "_ingest_runs"}


def test_expired_token_fails_fast_naming_the_source_and_setting(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("microsoft_ads", "auth_expired", r"/Submit$", times=100))
    start, end = _window(env, 3)
    with pytest.raises(SourceError, match=rf"^microsoft_ads: .*access token rejected \({PREFIX}ACCESS_TOKEN") as e:
        run_source("microsoft_ads", start_date=start, end_date=end)
    assert not e.value.transient
    assert [p for _, p, _ in env.request_log].count("/Reporting/v13/GenerateReport/Submit") == 1  # no retries
    assert _data_snapshots(lake) == {}


def test_wrong_customer_id_is_a_config_error(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}CUSTOMER_ID", "123")
    start, end = _window(env, 3)
    with pytest.raises(ConfigError, match=rf"{PREFIX}CUSTOMER_ID=123.*code 106"):
        run_source("microsoft_ads", start_date=start, end_date=end)
    assert _data_snapshots(lake) == {}


@pytest.mark.parametrize("setting", ["ACCESS_TOKEN", "DEVELOPER_TOKEN", "CUSTOMER_ID", "ACCOUNT_IDS"])
def test_missing_setting_is_a_config_error_before_any_request(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.delenv(f"{PREFIX}{setting}")
    with pytest.raises(ConfigError, match=f"{PREFIX}{setting} is not set"):
        run_source("microsoft_ads")
    assert env.request_log == []
    assert _data_snapshots(lake) == {}


class _CorruptingApp(MicrosoftAdsApp):
    """Microsoft Ads, except that the first row of every report carries a Spend that is not a number."""

    def _build(self, report_id: str, job: Any) -> tuple[bytes, int]:
        archive, count = super()._build(report_id, job)
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            name = zipped.namelist()[0]
            rows = list(csv.reader(io.StringIO(zipped.read(name).decode("utf-8-sig"))))
        rows[1][rows[0].index("Spend")] = "NaN"
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_ALL).writerows(rows)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zipped:
            zipped.writestr(name, out.getvalue())
        return buffer.getvalue(), count


def test_every_row_is_accounted_for_in_the_run_ledger(lake: Lake, env: SandboxServer) -> None:
    start, end = _window(env, 6)
    served = {t: len(_served(env, t, start, end)) for t in TABLES}
    env.apps = [_CorruptingApp(env.world, env.clock)]
    run_source("microsoft_ads", start_date=start, end_date=end)

    ledger = {r["resource"]: r for r in _raw(lake, "_ingest_runs") if r["status"] == "succeeded"}
    quarantined = _raw(lake, "_quarantine")
    assert len(quarantined) == 3 and {q["reason_code"] for q in quarantined} == {"type_coercion"}
    for report_type, (table, _) in TABLES.items():
        row = ledger[table]
        assert row["received"] == served[report_type]
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"]
        assert row["loaded"] == len(_raw(lake, table)) == served[report_type] - 1
        assert row["quarantined"] == 1
        assert (row["window_start"], row["window_end"]) == (start, end)

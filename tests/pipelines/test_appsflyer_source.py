"""The AppsFlyer dlt source against the emulated Pull API, landing real Iceberg tables."""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from pipelines import runner
from pipelines.appsflyer import appsflyer
from pipelines.errors import ConfigError, SourceError
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.appsflyer import APP_ID, DEFAULT_TOKEN, AppsFlyerApp
from sandbox.catalog import source_settings
from sandbox.faults import FaultRule
from sandbox.server import Request, Response, SandboxServer

PREFIX = "SOURCES__APPSFLYER__"
TABLES = {"installs_report": "appsflyer__installs", "in_app_events_report": "appsflyer__in_app_events"}
EXPORT = f"/api/raw-data/export/app/{APP_ID}/"


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The source configured against the sandbox, registered with the runner, quick retries.

    "Today" (the anchor of the 90-day history limit) follows the sandbox clock.
    """
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{PREFIX}MAX_ATTEMPTS", "4")
    monkeypatch.setitem(runner.SOURCES, "appsflyer", lambda: appsflyer)
    monkeypatch.setattr("pipelines.appsflyer.helpers.today", lambda tz: sandbox.clock.as_of)
    return sandbox


def _raw(lake: Lake, table: str) -> list[dict[str, Any]]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _served(server: SandboxServer, report: str, since: date, until: date) -> list[dict[str, str]]:
    """The report as the sandbox serves it to a plain HTTP client."""
    response = requests.get(f"{server.url_for('appsflyer')}{EXPORT}{report}/v5",
                            params={"from": since.isoformat(), "to": until.isoformat()},
                            headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}, timeout=60)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def _served_key(row: dict[str, str]) -> tuple[str, str, str, str]:
    return row["AppsFlyer ID"], row["Event Name"], row["Event Time"], row["Is Primary Attribution"]


def _raw_key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return row["appsflyer_id"], row["event_name"], row["event_time"], row["is_primary_attribution"]


def _windows(server: SandboxServer, report: str) -> list[tuple[date, date]]:
    return [(date.fromisoformat(q["from"]), date.fromisoformat(q["to"])) for p, path, q in server.request_log
            if p == "appsflyer" and path == f"{EXPORT}{report}/v5"]


def test_full_download_lands_every_row_once(lake: Lake, env: SandboxServer) -> None:
    end = env.clock.as_of
    start = end - timedelta(days=44)
    summary = run_source("appsflyer", start_date=start, end_date=end)
    for report, table in TABLES.items():
        served = _served(env, report, start, end)
        rows = _raw(lake, table)
        keys = Counter(_raw_key(r) for r in rows)
        assert served and set(keys) == {_served_key(r) for r in served}, table
        assert max(keys.values()) == 1 and summary.rows[table] == len(served)
        assert all(r["event_date"] == date.fromisoformat(r["event_time"][:10]) for r in rows)
        assert all(r["_ingested_at"] is not None and len(r["_dedup_key"]) == 64 for r in rows)
        assert lake.load_table(RAW, table).spec().fields[0].name == "event_date"
        # Title Case headers become snake_case columns; empty values land as null.
        organic = [r for r in rows if r["media_source"] == "organic"]
        assert organic and all(r["campaign"] is None and r["campaign_id"] is None for r in organic)
    events = _raw(lake, "appsflyer__in_app_events")
    assert {r["is_primary_attribution"] for r in events} == {"true", "false"}  # both copies kept
    assert {"event_revenue_usd", "customer_user_id", "advertising_id", "install_time"} <= set(events[0])
    windows = _windows(env, "in_app_events_report")[:-1]  # the last one is this test's own request
    assert len(windows) == 2 and all((b - a).days < 31 for a, b in windows)
    assert (windows[0][0], windows[-1][1]) == (start, end)


def test_second_run_rereads_two_days_and_appends_versions(lake: Lake, env: SandboxServer) -> None:
    end = env.clock.as_of
    first_end = end - timedelta(days=5)
    start = first_end - timedelta(days=10)
    env.clock.as_of = first_end
    run_source("appsflyer", start_date=start, end_date=first_end)
    env.request_log.clear()
    env.clock.as_of = end
    run_source("appsflyer", start_date=start, end_date=end)

    reread = first_end - timedelta(days=1)
    for report in TABLES:
        assert _windows(env, report) == [(reread, end)]
    versions = Counter(_raw_key(r) for r in _raw(lake, "appsflyer__in_app_events"))
    assert any(n == 2 for key, n in versions.items() if date.fromisoformat(key[2][:10]) >= reread)
    assert all(n == 1 for key, n in versions.items() if date.fromisoformat(key[2][:10]) < reread)
    assert all(n == 1 for key, n in versions.items() if date.fromisoformat(key[2][:10]) > first_end)
    served = _served(env, "in_app_events_report", start, end)
    assert set(versions) == {_served_key(r) for r in served}


def test_a_start_older_than_the_history_is_clamped(
    lake: Lake, env: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    end = env.clock.as_of
    with caplog.at_level(logging.WARNING, logger="adlake.appsflyer"):
        run_source("appsflyer", start_date=end - timedelta(days=150), end_date=end)
    oldest = end - timedelta(days=89)
    assert _windows(env, "installs_report")[0][0] == oldest
    assert any("kept for 90 days" in r.getMessage() for r in caplog.records)
    served = _served(env, "installs_report", oldest, end)
    assert len(_raw(lake, "appsflyer__installs")) == len(served)


def _data_snapshots(lake: Lake) -> dict[str, int]:
    try:
        counts = lake.snapshot_counts(RAW)
    except Exception:  # no raw namespace yet
        return {}
    return {name: n for name, n in counts.items() if name != "_ingest_runs"}


def test_daily_quota_fails_the_run_as_transient_without_spinning(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("appsflyer", "throttle", "in_app_events_report", times=100))
    end = env.clock.as_of
    with pytest.raises(SourceError, match=r"^appsflyer: in_app_events_report .*daily API quota reached") as e:
        run_source("appsflyer", start_date=end - timedelta(days=3), end_date=end)
    assert e.value.transient
    assert len(env.faults.fired) == 1  # one refusal, no retry loop
    assert _data_snapshots(lake) == {}
    ledger = _raw(lake, "_ingest_runs")
    assert ledger and all(r["status"] == "failed" and "quota" in r["error"] for r in ledger)


class _RateLimitedApp(AppsFlyerApp):
    """AppsFlyer answering 429 with Retry-After to the first two calls."""

    refusals = 2

    def handle(self, request: Request) -> Response:
        if self.refusals:
            self.refusals -= 1
            return Response(429, b"Too Many Requests", {"Retry-After": "1"})
        return super().handle(request)


def test_429_waits_for_retry_after(lake: Lake, env: SandboxServer, caplog: pytest.LogCaptureFixture) -> None:
    env.apps = [_RateLimitedApp(env.world, env.clock)]
    end = env.clock.as_of
    with caplog.at_level(logging.WARNING, logger="adlake.http"):
        run_source("appsflyer", start_date=end - timedelta(days=2), end_date=end)
    retries = [r.getMessage() for r in caplog.records if r.name == "adlake.http"]
    assert len(retries) == 2 and all("throttled" in m and "in 1.0 s" in m for m in retries)
    assert len(_raw(lake, "appsflyer__installs")) == len(_served(env, "installs_report", end - timedelta(2), end))


def test_server_errors_are_retried(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("appsflyer", "server_error", "installs_report", times=3))
    end = env.clock.as_of
    run_source("appsflyer", start_date=end - timedelta(days=3), end_date=end)
    assert len(env.faults.fired) == 3
    assert len(_raw(lake, "appsflyer__installs")) == len(_served(env, "installs_report", end - timedelta(3), end))


def test_expired_token_fails_fast_naming_the_setting(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("appsflyer", "auth_expired", "installs_report", times=100))
    end = env.clock.as_of
    with pytest.raises(SourceError, match=rf"^appsflyer: .*API token rejected \({PREFIX}API_TOKEN\)") as e:
        run_source("appsflyer", start_date=end - timedelta(days=3), end_date=end)
    assert not e.value.transient
    assert len(env.faults.fired) == 1
    assert _data_snapshots(lake) == {}


@pytest.mark.parametrize("setting", ["API_TOKEN", "APP_IDS"])
def test_missing_setting_is_a_config_error_before_any_request(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.delenv(f"{PREFIX}{setting}")
    with pytest.raises(ConfigError, match=f"{PREFIX}{setting} is not set"):
        run_source("appsflyer")
    assert env.request_log == []
    assert _data_snapshots(lake) == {}


def test_unknown_app_names_the_setting(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}APP_IDS", "com.example.missing")
    end = env.clock.as_of
    with pytest.raises(ConfigError, match=rf"com.example.missing from {PREFIX}APP_IDS .*not found"):
        run_source("appsflyer", start_date=end, end_date=end)


def test_a_window_at_maximum_rows_is_split_so_nothing_is_cut(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = env.clock.as_of
    start = end - timedelta(days=9)
    served = _served(env, "installs_report", start, end)
    per_day = Counter(r["Event Time"][:10] for r in served)
    monkeypatch.setenv(f"{PREFIX}MAXIMUM_ROWS", str(max(per_day.values()) + 1))
    env.request_log.clear()
    run_source("appsflyer", start_date=start, end_date=end)
    assert len(_windows(env, "installs_report")) > 2
    assert Counter(_raw_key(r) for r in _raw(lake, "appsflyer__installs")) == Counter(map(_served_key, served))


class _CorruptingApp(AppsFlyerApp):
    """AppsFlyer, except that the first in-app event of every answer has a revenue that is not a number
    and the second one repeats the third."""

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if "in_app_events_report" not in request.path or response.status != 200:
            return response
        rows = list(csv.DictReader(io.StringIO(response.body.decode())))
        if len(rows) >= 3:
            rows[0]["Event Revenue"] = "abc"
            rows[1] = dict(rows[2])
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return Response(200, out.getvalue().encode(), response.headers)


def test_every_row_is_accounted_for_in_the_run_ledger(lake: Lake, env: SandboxServer) -> None:
    end = env.clock.as_of
    start = end - timedelta(days=6)
    served = {r: len(_served(env, r, start, end)) for r in TABLES}
    env.apps = [_CorruptingApp(env.world, env.clock)]
    run_source("appsflyer", start_date=start, end_date=end)

    ledger = {r["resource"]: r for r in _raw(lake, "_ingest_runs") if r["status"] == "succeeded"}
    for report, table in TABLES.items():
        row = ledger[table]
        assert row["received"] == served[report]
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"]
        assert row["loaded"] == len(_raw(lake, table))
        assert (row["window_start"], row["window_end"]) == (start, end)
    events = ledger["appsflyer__in_app_events"]
    assert (events["quarantined"], events["duplicates"]) == (1, 1)
    quarantined = _raw(lake, "_quarantine")
    assert [q["reason_code"] for q in quarantined] == ["type_coercion"]

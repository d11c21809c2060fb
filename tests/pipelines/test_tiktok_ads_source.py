"""The TikTok Ads dlt source against the emulated Business API, landing real Iceberg tables.

Expected values come from the sandbox read with plain HTTP, never from the source under test."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from pyiceberg.exceptions import NoSuchNamespaceError

from pipelines import runner
from pipelines.errors import ConfigError, SourceError
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from pipelines.tiktok_ads import tiktok_ads
from sandbox.catalog import source_settings
from sandbox.faults import FaultRule
from sandbox.server import Request, Response, SandboxServer
from sandbox.tiktok_ads import DEFAULT_TOKEN, TikTokApp

PREFIX = "SOURCES__TIKTOK_ADS__"
ROOT = "/open_api/v1.3/"
REPORT = f"{ROOT}report/integrated/get/"
REPORT_TABLE = "tiktok_ads__ad_performance_daily"


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The source configured against the sandbox, registered with the runner, with quick retries."""
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{PREFIX}MAX_ATTEMPTS", "4")
    monkeypatch.setitem(runner.SOURCES, "tiktok_ads", lambda: tiktok_ads)
    return sandbox


# -- what the sandbox serves, read with plain HTTP -------------------------------------------------
def _get(server: SandboxServer, path: str, params: dict[str, Any]) -> dict[str, Any]:
    body = requests.get(f"{server.url_for('tiktok_ads')}{path}", params=params,
                        headers={"Access-Token": DEFAULT_TOKEN}, timeout=30).json()
    assert body["code"] == 0, body
    return body["data"]


def _advertisers(server: SandboxServer) -> list[str]:
    return [a.account_id for a in server.world.accounts["tiktok_ads"]]


def _served_report(server: SandboxServer, start: date, end: date) -> dict[tuple[str, str], dict[str, str]]:
    """(ad, day) -> metrics for every advertiser, in 30-day calls of up to 1000 rows per page."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for advertiser in _advertisers(server):
        since = start
        while since <= end:
            until = min(end, since + timedelta(days=29))
            page = 1
            while True:
                data = _get(server, REPORT, {
                    "advertiser_id": advertiser, "service_type": "AUCTION", "report_type": "BASIC",
                    "data_level": "AUCTION_AD", "dimensions": json.dumps(["ad_id", "stat_time_day"]),
                    "metrics": json.dumps(["spend", "conversion"]), "start_date": since.isoformat(),
                    "end_date": until.isoformat(), "page": page, "page_size": 1000})
                for row in data["list"]:
                    rows[(row["dimensions"]["ad_id"], row["dimensions"]["stat_time_day"])] = row["metrics"]
                if page >= data["page_info"]["total_page"]:
                    break
                page += 1
            since = until + timedelta(days=1)
    return rows


def _served_entities(server: SandboxServer, edge: str, key: str) -> list[str]:
    ids: list[str] = []
    for advertiser in _advertisers(server):
        data = _get(server, f"{ROOT}{edge}/get/", {"advertiser_id": advertiser, "page_size": 1000})
        assert data["page_info"]["total_page"] == 1
        ids += [row[key] for row in data["list"]]
    return ids


def _raw(lake: Lake, table: str) -> list[dict[str, Any]]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _window(server: SandboxServer, days: int) -> tuple[date, date]:
    end = server.clock.as_of
    return end - timedelta(days=days - 1), end


def _report_requests(server: SandboxServer) -> list[dict[str, str]]:
    return [query for platform, path, query in server.request_log if platform == "tiktok_ads" and path == REPORT]


# -- tests --------------------------------------------------------------------------------------------
def test_pagination_lands_every_row_once(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}PAGE_SIZE", "37")
    start, end = _window(env, 40)  # two report chunks: TikTok allows 30 days per daily call
    summary = run_source("tiktok_ads", start_date=start, end_date=end)

    served = _served_report(env, start, end)
    rows = _raw(lake, REPORT_TABLE)
    keys = Counter((r["ad_id"], r["stat_time_day"]) for r in rows)
    assert set(keys) == set(served)
    assert max(keys.values()) == 1
    assert all(r["spend"] == served[(r["ad_id"], r["stat_time_day"])]["spend"] for r in rows)
    assert all(r["report_date"] == date.fromisoformat(r["stat_time_day"][:10]) for r in rows)
    assert all(r["_ingested_at"] is not None for r in rows)
    assert summary.rows[REPORT_TABLE] == len(served)
    requests_made = _report_requests(env)
    assert max(int(q["page"]) for q in requests_made) > 2  # it really followed the page numbers
    assert all((date.fromisoformat(q["end_date"]) - date.fromisoformat(q["start_date"])).days < 30
               for q in requests_made)
    assert lake.load_table(RAW, REPORT_TABLE).spec().fields[0].name == "report_date"
    for edge, key, table in (("campaign", "campaign_id", "tiktok_ads__campaigns"),
                             ("adgroup", "adgroup_id", "tiktok_ads__ad_groups"),
                             ("ad", "ad_id", "tiktok_ads__ads")):
        assert sorted(r[key] for r in _raw(lake, table)) == sorted(_served_entities(env, edge, key)), table
    advertisers = _raw(lake, "tiktok_ads__advertisers")
    assert [a["advertiser_id"] for a in advertisers] == _advertisers(env)


def test_later_runs_reread_only_the_attribution_window(lake: Lake, env: SandboxServer) -> None:
    late = env.clock.as_of
    early = late - timedelta(days=10)
    start = early - timedelta(days=20)
    env.clock.as_of = early
    run_source("tiktok_ads", start_date=start, end_date=early)
    first = _served_report(env, start, early)
    env.request_log.clear()
    env.clock.as_of = late
    run_source("tiktok_ads", start_date=start, end_date=late)

    since = min(date.fromisoformat(q["start_date"]) for q in _report_requests(env))
    assert since == early - timedelta(days=6)  # 7 days ending with the last loaded day, not more
    second = _served_report(env, since, late)
    versions = Counter((r["ad_id"], r["stat_time_day"]) for r in _raw(lake, REPORT_TABLE))
    assert set(versions) == set(first) | set(second)
    assert all(n == (2 if key in first and key in second else 1) for key, n in versions.items())
    restated = {key for key in first if key in second and first[key]["conversion"] != second[key]["conversion"]}
    assert restated, "the sandbox restated nothing: the test would prove nothing"
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(_raw(lake, REPORT_TABLE), key=lambda r: r["_ingested_at"]):
        latest[(row["ad_id"], row["stat_time_day"])] = row
    assert all(latest[key]["conversion"] == second[key]["conversion"] for key in restated)


def test_throttle_code_makes_the_client_wait_and_retry(
    lake: Lake, env: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    env.faults.rules.append(FaultRule("tiktok_ads", "throttle", r"report/integrated/get/$", times=2))
    start, end = _window(env, 5)
    with caplog.at_level(logging.WARNING, logger="adlake.http"):
        run_source("tiktok_ads", start_date=start, end_date=end)
    assert [kind for _, kind, _ in env.faults.fired] == ["throttle", "throttle"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "adlake.http"]
    assert any("throttled" in m and "code 40100" in m and "retry 3/4" in m for m in warnings), warnings
    assert len(_raw(lake, REPORT_TABLE)) == len(_served_report(env, start, end))


def test_server_errors_are_retried(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("tiktok_ads", "server_error", r"campaign/get/$", times=2))
    start, end = _window(env, 3)
    run_source("tiktok_ads", start_date=start, end_date=end)
    assert [kind for _, kind, _ in env.faults.fired] == ["server_error", "server_error"]
    assert len(_raw(lake, "tiktok_ads__campaigns")) == len(_served_entities(env, "campaign", "campaign_id"))


def test_revoked_token_fails_fast_naming_the_setting(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("tiktok_ads", "auth_expired", r"report/integrated/get/$", times=100))
    start, end = _window(env, 3)
    with pytest.raises(SourceError, match=rf"^tiktok_ads: .*access token rejected \({PREFIX}ACCESS_TOKEN\)") as info:
        run_source("tiktok_ads", start_date=start, end_date=end)
    assert not info.value.transient
    assert len(_report_requests(env)) == 1  # no retries on a revoked token
    assert DEFAULT_TOKEN not in str(info.value)


def test_unknown_advertiser_names_the_advertiser(lake: Lake, env: SandboxServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}ADVERTISER_IDS", "123")
    with pytest.raises(ConfigError, match=rf"advertiser 123 from {PREFIX}ADVERTISER_IDS is not readable"):
        run_source("tiktok_ads", start_date=date(2026, 9, 1), end_date=date(2026, 9, 2))


class _CorruptingTikTok(TikTokApp):
    """TikTok, except that the first report row of every page has a spend that is not a number."""

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        body = json.loads(response.body)
        if request.path == REPORT and body["code"] == 0 and body["data"]["list"]:
            body["data"]["list"][0]["metrics"]["spend"] = "NaN"
            return Response.json(200, body)
        return response


def test_every_row_is_accounted_for(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    env.apps = [_CorruptingTikTok(env.world, env.clock) if a.platform == "tiktok_ads" else a for a in env.apps]
    monkeypatch.setenv(f"{PREFIX}PAGE_SIZE", "50")
    start, end = _window(env, 6)
    run_source("tiktok_ads", start_date=start, end_date=end)

    served = _served_report(env, start, end)
    ledger = [r for r in _raw(lake, "_ingest_runs") if r["status"] == "succeeded"]
    report = next(r for r in ledger if r["resource"] == REPORT_TABLE)
    quarantined = _raw(lake, "_quarantine")
    assert report["received"] == len(served)
    assert report["received"] == report["loaded"] + report["quarantined"] + report["duplicates"]
    assert report["loaded"] == len(_raw(lake, REPORT_TABLE))
    assert report["quarantined"] == len(quarantined) > 0
    assert {q["reason_code"] for q in quarantined} == {"type_coercion"}
    assert all(json.loads(q["raw_record"])["metrics"]["spend"] == "NaN" for q in quarantined)
    assert (report["window_start"], report["window_end"]) == (start, end)
    for row in ledger:
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"], row["resource"]


def _tables(lake: Lake) -> dict[str, int]:
    try:
        return lake.snapshot_counts(RAW)
    except NoSuchNamespaceError:
        return {}


@pytest.mark.parametrize("variable", ["ACCESS_TOKEN", "ADVERTISER_IDS"])
def test_missing_settings_are_config_errors(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch,
                                            variable: str) -> None:
    monkeypatch.delenv(f"{PREFIX}{variable}")
    with pytest.raises(ConfigError, match=f"{PREFIX}{variable} is not set"):
        run_source("tiktok_ads")
    assert _tables(lake) == {}
    assert env.request_log == []


def test_new_report_fields_are_loaded_and_reported(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("tiktok_ads", "schema_drift", r"report/integrated/get/$", times=100,
                                      add={"video_play_actions": "3"}))
    start, end = _window(env, 3)
    run_source("tiktok_ads", start_date=start, end_date=end)
    assert {r["video_play_actions"] for r in _raw(lake, REPORT_TABLE)} == {"3"}
    ledger = next(r for r in _raw(lake, "_ingest_runs") if r["resource"] == REPORT_TABLE)
    assert ledger["new_fields"] == "video_play_actions"

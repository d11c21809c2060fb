"""The LinkedIn Ads dlt source against the emulated Marketing API, landing real Iceberg tables.

Expected values come from the sandbox read with plain HTTP, never from the source under test."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests
from pyiceberg.exceptions import NoSuchNamespaceError

from pipelines import runner
from pipelines.errors import ConfigError, SourceError
from pipelines.lake import RAW, Lake
from pipelines.linkedin_ads import linkedin_ads
from pipelines.linkedin_ads import settings as s
from pipelines.linkedin_ads.helpers import analytics_query
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.faults import FaultRule
from sandbox.linkedin_ads import DEFAULT_TOKEN, LinkedInApp
from sandbox.server import Request, Response, SandboxServer

PREFIX = "SOURCES__LINKEDIN_ADS__"
HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Linkedin-Version": "202610",
           "X-Restli-Protocol-Version": "2.0.0"}
ANALYTICS = "/rest/adAnalytics"
TABLES = {"CAMPAIGN": "linkedin_ads__campaign_analytics_daily", "CREATIVE": "linkedin_ads__creative_analytics_daily"}


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The source configured against the sandbox, registered with the runner, with quick retries."""
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{PREFIX}MAX_ATTEMPTS", "4")
    monkeypatch.setitem(runner.SOURCES, "linkedin_ads", lambda: linkedin_ads)
    return sandbox


# -- what the sandbox serves, read with plain HTTP -------------------------------------------------
def _get(server: SandboxServer, path_and_query: str) -> dict[str, Any]:
    answer = requests.get(f"{server.url_for('linkedin_ads')}{path_and_query}", headers=HEADERS, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _accounts(server: SandboxServer) -> list[str]:
    return [a.account_id for a in server.world.accounts["linkedin_ads"]]


def _ymd(day: date) -> str:
    return f"(year:{day.year},month:{day.month},day:{day.day})"


def _served(server: SandboxServer, pivot: str, start: date, end: date) -> dict[tuple[str, date], dict[str, Any]]:
    """(pivot URN, day) -> element, one call per account (the sandbox has no size limit)."""
    out: dict[tuple[str, date], dict[str, Any]] = {}
    for account in _accounts(server):
        urn = quote(f"urn:li:sponsoredAccount:{account}", safe="")
        body = _get(server, f"{ANALYTICS}?q=analytics&pivot={pivot}&timeGranularity=DAILY"
                            f"&dateRange=(start:{_ymd(start)},end:{_ymd(end)})&accounts=List({urn})"
                            "&fields=dateRange,pivotValues,impressions,costInUsd,externalWebsiteConversions,likes")
        for element in body["elements"]:
            day = element["dateRange"]["start"]
            out[(element["pivotValues"][0], date(day["year"], day["month"], day["day"]))] = element
    return out


def _served_entities(server: SandboxServer, finder: str, q: str) -> list[Any]:
    ids: list[Any] = []
    for account in _accounts(server):
        body = _get(server, f"/rest/adAccounts/{account}/{finder}?q={q}&pageSize=1000")
        assert not body["metadata"]
        ids += [e["id"] for e in body["elements"]]
    return ids


def _raw(lake: Lake, table: str) -> list[dict[str, Any]]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _window(server: SandboxServer, days: int) -> tuple[date, date]:
    end = server.clock.as_of
    return end - timedelta(days=days - 1), end


def _analytics_requests(server: SandboxServer) -> list[dict[str, str]]:
    return [q for platform, path, q in server.request_log if platform == "linkedin_ads" and path == ANALYTICS]


def _requested_start(query: dict[str, str]) -> date:
    start = query["dateRange"].split("start:(", 1)[1].split(")", 1)[0]
    parts = dict(p.split(":") for p in start.split(","))
    return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))


# -- tests --------------------------------------------------------------------------------------------
def test_analytics_query_is_restli_with_only_the_urn_encoded() -> None:
    # The shape LinkedIn documents (field notes 2.3): structure raw, URN percent-encoded.
    query = analytics_query("700001", "CAMPAIGN", date(2024, 5, 1), date(2024, 5, 7), ("impressions",))
    assert query == ("q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY"
                     "&dateRange=(start:(year:2024,month:5,day:1),end:(year:2024,month:5,day:7))"
                     "&accounts=List(urn%3Ali%3AsponsoredAccount%3A700001)&fields=dateRange,pivotValues,impressions")


def test_every_row_lands_once_with_every_metric_merged(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{PREFIX}PAGE_SIZE", "2")
    start, end = _window(env, 20)
    summary = run_source("linkedin_ads", start_date=start, end_date=end)
    fields = [q["fields"].split(",") for q in _analytics_requests(env)]
    assert len(fields) == 4 and all(len(f) <= 20 for f in fields)  # 2 pivots x 2 field chunks

    for pivot, table in TABLES.items():
        served = _served(env, pivot, start, end)
        rows = _raw(lake, table)
        keys = Counter((r["pivot_value"], r["report_date"]) for r in rows)
        assert set(keys) == set(served), table
        assert max(keys.values()) == 1
        for row in rows:  # metrics from both field chunks sit on one row
            element = served[(row["pivot_value"], row["report_date"])]
            assert (row["impressions"], row["cost_in_usd"], row["likes"]) == (
                element["impressions"], element["costInUsd"], element["likes"])
            assert row["external_website_conversions"] == element["externalWebsiteConversions"]
        assert summary.rows[table] == len(served)
        assert lake.load_table(RAW, table).spec().fields[0].name == "report_date"
    for finder, q, table in (("adCampaignGroups", "search", "linkedin_ads__campaign_groups"),
                             ("adCampaigns", "search", "linkedin_ads__campaigns"),
                             ("creatives", "criteria", "linkedin_ads__creatives")):
        assert sorted(r["id"] for r in _raw(lake, table)) == sorted(_served_entities(env, finder, q)), table
    assert any("pageToken" in q for _, path, q in env.request_log if path.endswith("/creatives"))
    assert [str(a["id"]) for a in _raw(lake, "linkedin_ads__ad_accounts")] == _accounts(env)


def test_a_full_answer_splits_the_window(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}MAX_ELEMENTS_PER_RESPONSE", "60")
    start, end = _window(env, 20)
    run_source("linkedin_ads", start_date=start, end_date=end)
    windows = {q["dateRange"] for q in _analytics_requests(env) if q["pivot"] == "CREATIVE"}
    served = _served(env, "CREATIVE", start, end)
    assert len(served) > 60
    keys = Counter((r["pivot_value"], r["report_date"]) for r in _raw(lake, TABLES["CREATIVE"]))
    assert set(keys) == set(served) and max(keys.values()) == 1
    assert len(windows) > 2  # the full window, then its halves (and theirs, while still full)


def test_later_runs_reread_only_the_restatement_window(lake: Lake, env: SandboxServer) -> None:
    late = env.clock.as_of
    early = late - timedelta(days=10)
    start = early - timedelta(days=s.RESTATEMENT_DAYS + 5)
    env.clock.as_of = early
    run_source("linkedin_ads", start_date=start, end_date=early)
    first = _served(env, "CREATIVE", start, early)
    env.request_log.clear()
    env.clock.as_of = late
    run_source("linkedin_ads", start_date=start, end_date=late)

    reread = early - timedelta(days=s.RESTATEMENT_DAYS - 1)
    assert min(_requested_start(q) for q in _analytics_requests(env)) == reread
    second = _served(env, "CREATIVE", reread, late)
    rows = _raw(lake, TABLES["CREATIVE"])
    versions = Counter((r["pivot_value"], r["report_date"]) for r in rows)
    assert set(versions) == set(first) | set(second)
    assert all(n == (2 if key in first and key in second else 1) for key, n in versions.items())
    restated = {k for k in first if k in second
                and first[k]["externalWebsiteConversions"] != second[k]["externalWebsiteConversions"]}
    assert restated, "the sandbox restated nothing: the test would prove nothing"
    latest = {(r["pivot_value"], r["report_date"]): r for r in sorted(rows, key=lambda r: r["_ingested_at"])}
    assert all(latest[k]["external_website_conversions"] == second[k]["externalWebsiteConversions"]
               for k in restated)


def test_daily_limit_429_is_waited_out_and_retried(
    lake: Lake, env: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    env.faults.rules.append(FaultRule("linkedin_ads", "throttle", r"adAnalytics$", times=2))
    start, end = _window(env, 5)
    with caplog.at_level(logging.WARNING, logger="adlake.http"):
        run_source("linkedin_ads", start_date=start, end_date=end)
    assert [kind for _, kind, _ in env.faults.fired] == ["throttle", "throttle"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "adlake.http"]
    assert any("throttled" in m and "DAY limit" in m and "retry 3/4" in m for m in warnings), warnings
    for pivot, table in TABLES.items():
        assert len(_raw(lake, table)) == len(_served(env, pivot, start, end))


def test_server_errors_are_retried(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("linkedin_ads", "server_error", r"/adCampaigns$", times=2))
    start, end = _window(env, 3)
    run_source("linkedin_ads", start_date=start, end_date=end)
    assert [kind for _, kind, _ in env.faults.fired] == ["server_error", "server_error"]
    assert len(_raw(lake, "linkedin_ads__campaigns")) == len(_served_entities(env, "adCampaigns", "search"))


def test_expired_token_fails_fast_naming_the_setting(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("linkedin_ads", "auth_expired", r"adAnalytics$", times=100))
    start, end = _window(env, 3)
    with pytest.raises(SourceError, match=rf"^linkedin_ads: .*access token rejected \({PREFIX}ACCESS_TOKEN\)") as info:
        run_source("linkedin_ads", start_date=start, end_date=end)
    assert not info.value.transient
    assert len(_analytics_requests(env)) == 1  # no retries on an expired token
    assert DEFAULT_TOKEN not in str(info.value)


def test_inactive_version_names_the_setting(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}API_VERSION", "202301")
    with pytest.raises(ConfigError, match=rf"{PREFIX}API_VERSION=202301 is not accepted: .*NONEXISTENT_VERSION"):
        run_source("linkedin_ads", start_date=date(2026, 10, 1), end_date=date(2026, 10, 2))


def test_unknown_account_names_the_account(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}ACCOUNT_IDS", "123")
    with pytest.raises(ConfigError, match=rf"ad account 123 from {PREFIX}ACCOUNT_IDS is not readable"):
        run_source("linkedin_ads", start_date=date(2026, 10, 1), end_date=date(2026, 10, 2))


class _CorruptingLinkedIn(LinkedInApp):
    """LinkedIn, except that the first element of every analytics answer has a cost that is not a number."""

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if request.path == ANALYTICS and response.status == 200:
            body = json.loads(response.body)
            if body["elements"] and "costInUsd" in body["elements"][0]:
                body["elements"][0]["costInUsd"] = "NaN"
            return Response.json(200, body, response.headers)
        return response


def test_every_row_is_accounted_for(lake: Lake, env: SandboxServer) -> None:
    env.apps = [_CorruptingLinkedIn(env.world, env.clock) if a.platform == "linkedin_ads" else a for a in env.apps]
    start, end = _window(env, 6)
    run_source("linkedin_ads", start_date=start, end_date=end)

    ledger = [r for r in _raw(lake, "_ingest_runs") if r["status"] == "succeeded"]
    quarantined = _raw(lake, "_quarantine")
    for pivot, table in TABLES.items():
        row = next(r for r in ledger if r["resource"] == table)
        assert row["received"] == len(_served(env, pivot, start, end))
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"]
        assert row["loaded"] == len(_raw(lake, table))
        assert row["quarantined"] == 1  # one corrupted element per answer, one answer per pivot
        assert (row["window_start"], row["window_end"]) == (start, end)
    assert len(quarantined) == 2
    assert {q["reason_code"] for q in quarantined} == {"type_coercion"}
    assert all(json.loads(q["raw_record"])["costInUsd"] == "NaN" for q in quarantined)
    for row in ledger:
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"], row["resource"]


def _tables(lake: Lake) -> dict[str, int]:
    try:
        return lake.snapshot_counts(RAW)
    except NoSuchNamespaceError:
        return {}


@pytest.mark.parametrize("variable", ["ACCESS_TOKEN", "ACCOUNT_IDS"])
def test_missing_settings_are_config_errors(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch,
                                            variable: str) -> None:
    monkeypatch.delenv(f"{PREFIX}{variable}")
    with pytest.raises(ConfigError, match=f"{PREFIX}{variable} is not set"):
        run_source("linkedin_ads")
    assert _tables(lake) == {}
    assert env.request_log == []


def test_renamed_fields_are_loaded_and_reported(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("linkedin_ads", "schema_drift", r"adAnalytics$", times=100,
                                      rename={"likes": "reactionsTotal"}))
    start, end = _window(env, 3)
    run_source("linkedin_ads", start_date=start, end_date=end)
    for table in TABLES.values():
        rows = _raw(lake, table)
        assert rows and all(r["reactions_total"] == 0 for r in rows)
        ledger = next(r for r in _raw(lake, "_ingest_runs") if r["resource"] == table)
        assert ledger["new_fields"] == "reactionsTotal"

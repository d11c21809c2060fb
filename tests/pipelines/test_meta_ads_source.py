"""The Meta Ads dlt source against the emulated API, landing real Iceberg tables."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest

from pipelines.errors import ConfigError, SourceError
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.faults import FaultPlan, FaultRule
from sandbox.meta import MetaApp, MetaLimits
from sandbox.server import Request, Response, SandboxServer
from tests.apiclient import insights as api_insights


def _raw(lake: Lake, table: str) -> list[dict]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _window(server: SandboxServer, days: int) -> tuple[date, date]:
    end = server.clock.as_of
    return end - timedelta(days=days - 1), end


def test_pagination_lands_every_row_once(lake: Lake, meta_env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__META_ADS__PAGE_LIMIT", "13")
    start, end = _window(meta_env, 14)
    summary = run_source("meta_ads", start_date=start, end_date=end)

    rows = _raw(lake, "meta_ads__insights")
    keys = Counter((r["account_id"], r["ad_id"], r["date_start"].isoformat()) for r in rows)
    served = {(a.account_id, r["ad_id"], r["date_start"])
              for a in meta_env.world.accounts["meta"]
              for r in api_insights(meta_env.url_for("meta"), a.account_id, start, end)}
    assert set(keys) == served
    assert max(keys.values()) == 1
    insights_requests = [q for p, path, q in meta_env.request_log if path.endswith("/insights")]
    assert len(insights_requests) > len(served) // 13  # it really followed the cursors
    assert summary.rows["meta_ads__insights"] == len(served)
    assert {r["_dlt_load_id"] for r in rows} == set(summary.load_ids)
    assert all(r["_ingested_at"] is not None for r in rows)
    assert lake.load_table(RAW, "meta_ads__insights").spec().fields[0].name == "date_start"


def test_throttle_error_then_success(lake: Lake, meta_env: SandboxServer) -> None:
    meta_env.faults.rules.append(FaultRule("meta", "throttle", r"/insights$", times=2))
    start, end = _window(meta_env, 5)
    run_source("meta_ads", start_date=start, end_date=end)
    assert [kind for _, kind, _ in meta_env.faults.fired] == ["throttle", "throttle"]
    served = sum(len(api_insights(meta_env.url_for("meta"), a.account_id, start, end))
                 for a in meta_env.world.accounts["meta"])
    assert len(_raw(lake, "meta_ads__insights")) == served


def test_server_errors_are_retried(lake: Lake, meta_env: SandboxServer) -> None:
    meta_env.faults.rules.append(FaultRule("meta", "server_error", r"/campaigns$", times=2))
    start, end = _window(meta_env, 3)
    run_source("meta_ads", start_date=start, end_date=end)
    assert len(meta_env.faults.fired) == 2
    assert len(_raw(lake, "meta_ads__campaigns")) == sum(
        len(meta_env.world.campaigns(a)) for a in meta_env.world.accounts["meta"])


def test_usage_headers_make_the_client_pause_before_it_is_blocked(
    lake: Lake, meta_env: SandboxServer, world
) -> None:
    app = MetaApp(world, meta_env.clock, limits=MetaLimits(calls_per_window=4, window_seconds=1.0))
    meta_env.apps = [app]
    start, end = _window(meta_env, 3)
    run_source("meta_ads", start_date=start, end_date=end)
    assert app.blocked_calls == 0
    assert len(meta_env.request_log) > 4  # more calls than one window allows: it waited for resets


def test_each_run_rereads_the_restatement_window(lake: Lake, meta_env: SandboxServer) -> None:
    end = meta_env.clock.as_of
    first_end = end - timedelta(days=10)
    start = first_end - timedelta(days=40)
    meta_env.clock.as_of = first_end
    run_source("meta_ads", start_date=start, end_date=first_end)
    meta_env.request_log.clear()
    meta_env.clock.as_of = end
    run_source("meta_ads", start_date=start, end_date=end)

    ranges = {json.loads(q["time_range"])["since"] for _, path, q in meta_env.request_log
              if path.endswith("/insights") and "time_range" in q}
    assert min(ranges) == (first_end - timedelta(days=27)).isoformat()  # 28 days re-read, not more
    versions = Counter((r["ad_id"], r["date_start"]) for r in _raw(lake, "meta_ads__insights"))
    restated_day = (first_end - timedelta(days=3))
    assert any(n == 2 for (ad, day), n in versions.items() if day == restated_day)
    assert all(n == 1 for (ad, day), n in versions.items() if day < first_end - timedelta(days=27))


class _CorruptingMeta(MetaApp):
    """Meta, except that one insights row per page carries a spend that is not a number."""

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if request.path.endswith("/insights") and response.status == 200:
            body = json.loads(response.body)
            if body["data"]:
                body["data"][0]["spend"] = "NaN"
            return Response.json(200, body, response.headers)
        return response


def test_rows_that_do_not_parse_are_quarantined_not_lost(lake: Lake, meta_env: SandboxServer, world) -> None:
    meta_env.apps = [_CorruptingMeta(world, meta_env.clock)]
    start, end = _window(meta_env, 4)
    run_source("meta_ads", start_date=start, end_date=end)

    loaded = _raw(lake, "meta_ads__insights")
    quarantined = _raw(lake, "_quarantine")
    served = sum(len(api_insights(meta_env.url_for("meta"), a.account_id, start, end))
                 for a in world.accounts["meta"])
    assert len(quarantined) >= 2
    assert len(loaded) + len(quarantined) == served
    assert {q["reason_code"] for q in quarantined} == {"type_coercion"}
    assert all(json.loads(q["raw_record"])["spend"] == "NaN" for q in quarantined)
    assert not any(r["spend"] == "NaN" for r in loaded)


def _snapshots(lake: Lake) -> dict[str, int]:
    """Snapshots of the data tables (the run ledger records failed runs too, by design)."""
    return {name: n for name, n in lake.snapshot_counts(RAW).items() if name != "_ingest_runs"}


@pytest.fixture
def loaded_lake(lake: Lake, meta_env: SandboxServer) -> Lake:
    start, end = _window(meta_env, 3)
    run_source("meta_ads", start_date=start, end_date=end)
    return lake


def test_missing_token_is_a_config_error(loaded_lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshots(loaded_lake)
    monkeypatch.delenv("SOURCES__META_ADS__ACCESS_TOKEN")
    with pytest.raises(ConfigError, match="SOURCES__META_ADS__ACCESS_TOKEN is not set"):
        run_source("meta_ads")
    assert _snapshots(loaded_lake) == before


def test_wrong_token_names_the_setting(loaded_lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshots(loaded_lake)
    monkeypatch.setenv("SOURCES__META_ADS__ACCESS_TOKEN", "expired")
    with pytest.raises(ConfigError, match=r"act_\d+ from SOURCES__META_ADS__ACCOUNT_IDS .*access token rejected"):
        run_source("meta_ads")
    assert _snapshots(loaded_lake) == before


def test_unknown_account_names_the_account(loaded_lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshots(loaded_lake)
    monkeypatch.setenv("SOURCES__META_ADS__ACCOUNT_IDS", "act_999")
    expected = r"act_999 from SOURCES__META_ADS__ACCOUNT_IDS is not readable: .*does not exist"
    with pytest.raises(ConfigError, match=expected):
        run_source("meta_ads")
    assert _snapshots(loaded_lake) == before


def test_unreachable_base_url_names_the_setting(loaded_lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshots(loaded_lake)
    monkeypatch.setenv("SOURCES__META_ADS__BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(SourceError, match=r"cannot reach SOURCES__META_ADS__BASE_URL=http://127.0.0.1:9 ") as info:
        run_source("meta_ads")
    assert not info.value.transient
    assert _snapshots(loaded_lake) == before


def test_the_seeded_fault_plan_loses_nothing(lake: Lake, meta_env: SandboxServer) -> None:
    meta_env.faults.rules.extend(FaultPlan.from_seed(11, ["meta"]).rules)
    start, end = _window(meta_env, 30)
    run_source("meta_ads", start_date=start, end_date=end)
    assert {kind for _, kind, _ in meta_env.faults.fired} == {"throttle", "server_error", "slow", "malformed"}
    served = sum(len(api_insights(meta_env.url_for("meta"), a.account_id, start, end))
                 for a in meta_env.world.accounts["meta"])
    assert len(_raw(lake, "meta_ads__insights")) == served


def test_every_run_is_accounted_for(lake: Lake, meta_env: SandboxServer, world) -> None:
    meta_env.apps = [_CorruptingMeta(world, meta_env.clock)]
    start, end = _window(meta_env, 6)
    run_source("meta_ads", start_date=start, end_date=end)
    meta_env.faults.rules.append(FaultRule("meta", "auth_expired", "insights", times=100))
    with pytest.raises(SourceError, match=r"^meta_ads: .*access token rejected") as failure:
        run_source("meta_ads", start_date=start, end_date=end)
    assert not failure.value.transient  # an expired token fails fast, no retries
    meta_env.faults.rules.clear()

    ledger = _raw(lake, "_ingest_runs")
    good = [r for r in ledger if r["status"] == "succeeded"]
    insights = next(r for r in good if r["resource"] == "meta_ads__insights")
    served = sum(len(api_insights(meta_env.url_for("meta"), a.account_id, start, end))
                 for a in world.accounts["meta"])
    assert insights["received"] == served
    assert insights["received"] == insights["loaded"] + insights["quarantined"] + insights["duplicates"]
    assert insights["loaded"] == len(_raw(lake, "meta_ads__insights"))
    assert insights["quarantined"] == len(_raw(lake, "_quarantine")) > 0
    assert (insights["window_start"], insights["window_end"]) == (start, end)
    for row in good:
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"], row["resource"]
    failed = [r for r in ledger if r["status"] == "failed"]
    assert failed and all("access token rejected" in r["error"] for r in failed)
    assert len({r["run_id"] for r in ledger}) == 2

"""The Meta emulation, read with a plain HTTP client: shapes, paging, errors, determinism, restatement."""

from __future__ import annotations

import json
from datetime import date, timedelta

import requests

from sandbox.meta import DEFAULT_TOKEN
from sandbox.server import SandboxServer
from sandbox.world import World, WorldConfig
from tests.apiclient import insights, pages

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def test_insights_paging_reaches_the_end_without_overlap(sandbox: SandboxServer) -> None:
    account = sandbox.world.accounts["meta"][0].account_id
    end = sandbox.clock.as_of
    params = {"level": "ad", "fields": "ad_id,date_start,spend", "limit": 37,
              "time_range": json.dumps({"since": (end - timedelta(days=20)).isoformat(), "until": end.isoformat()})}
    bodies = list(pages(sandbox.url_for("meta"), account, "insights", params))
    rows = [row for body in bodies for row in body["data"]]
    keys = [(row["ad_id"], row["date_start"]) for row in rows]
    assert len(bodies) > 3
    assert all(len(body["data"]) == 37 for body in bodies[:-1])
    assert "next" not in bodies[-1]["paging"]
    assert len(keys) == len(set(keys))
    single = insights(sandbox.url_for("meta"), account, end - timedelta(days=20), end, fields="ad_id,date_start,spend")
    assert sorted(keys) == sorted((row["ad_id"], row["date_start"]) for row in single)


def test_numbers_are_strings_and_empty_metrics_absent(sandbox: SandboxServer) -> None:
    account = sandbox.world.accounts["meta"][0].account_id
    end = sandbox.clock.as_of
    rows = insights(sandbox.url_for("meta"), account, end - timedelta(days=5), end,
                    fields="ad_id,date_start,impressions,spend,actions,action_values")
    assert rows
    for row in rows:
        assert isinstance(row["spend"], str) and isinstance(row["impressions"], str)
        for action in row.get("actions", []):
            assert set(action) >= {"action_type", "value"}
            assert all(isinstance(v, str) for v in action.values())
    assert any("action_values" not in row for row in rows) or all("actions" in row for row in rows)


def test_account_level_spend_is_the_sum_of_ad_level(sandbox: SandboxServer) -> None:
    account = sandbox.world.accounts["meta"][1].account_id
    end = sandbox.clock.as_of
    ad_rows = insights(sandbox.url_for("meta"), account, end - timedelta(days=9), end, fields="date_start,spend")
    acc_rows = insights(sandbox.url_for("meta"), account, end - timedelta(days=9), end, level="account",
                        fields="date_start,spend")
    assert len(acc_rows) == 10
    for acc in acc_rows:
        cents = sum(round(float(r["spend"]) * 100) for r in ad_rows if r["date_start"] == acc["date_start"])
        assert round(float(acc["spend"]) * 100) == cents


def test_error_envelopes(sandbox: SandboxServer) -> None:
    base = sandbox.url_for("meta")
    account = sandbox.world.accounts["meta"][0].account_id
    bad_token = requests.get(f"{base}/v21.0/act_{account}", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert bad_token.status_code == 400
    assert bad_token.json()["error"]["code"] == 190
    assert bad_token.json()["error"]["type"] == "OAuthException"
    unknown = requests.get(f"{base}/v21.0/act_123", headers=AUTH, timeout=10)
    assert unknown.status_code == 400
    assert (unknown.json()["error"]["code"], unknown.json()["error"]["error_subcode"]) == (100, 33)
    missing = requests.get(f"{base}/v21.0/nothing/here", headers=AUTH, timeout=10)
    assert missing.status_code == 404
    assert set(missing.json()["error"]) >= {"message", "type", "code", "fbtrace_id"}


def test_usage_headers_and_throttle_signal(world: World) -> None:
    from sandbox.meta import MetaApp, MetaLimits

    server = SandboxServer(world)
    server.apps = [MetaApp(world, server.clock, limits=MetaLimits(calls_per_window=3, window_seconds=60))]
    with server:
        account = world.accounts["meta"][0].account_id
        url = f"{server.url_for('meta')}/v21.0/act_{account}"
        answers = [requests.get(url, headers=AUTH, timeout=10) for _ in range(4)]
    usage = [json.loads(a.headers["x-ad-account-usage"])["acc_id_util_pct"] for a in answers[:3]]
    assert usage == sorted(usage) and usage[-1] == 100.0
    blocked = answers[3]
    assert blocked.status_code == 400
    assert blocked.json()["error"]["code"] == 80004
    buc = json.loads(blocked.headers["x-business-use-case-usage"])
    assert next(iter(buc.values()))[0]["estimated_time_to_regain_access"] >= 1


def test_same_seed_same_bytes_different_seed_different_world() -> None:
    def body(seed: int) -> bytes:
        world = World(WorldConfig(seed=seed))
        with SandboxServer(world) as server:
            account = world.accounts["meta"][0].account_id
            params = {"level": "ad", "limit": 500, "fields": "ad_id,date_start,spend,actions,action_values",
                      "time_range": json.dumps({"since": "2026-09-01", "until": "2026-10-30"})}
            content = requests.get(f"{server.url_for('meta')}/v21.0/act_{account}/insights", params=params,
                                   headers=AUTH, timeout=30).content
            # Paging links carry the server's own address, which differs between two servers.
            return content.replace(server.base_url.encode(), b"http://sandbox")

    assert body(11) == body(11)
    assert body(11) != body(12)


def test_restatement_changes_recent_days_only(sandbox: SandboxServer) -> None:
    account = sandbox.world.accounts["meta"][0].account_id
    base = sandbox.url_for("meta")
    late = sandbox.clock.as_of
    early = late - timedelta(days=10)
    since = early - timedelta(days=40)
    sandbox.clock.as_of = early
    before = {(r["ad_id"], r["date_start"]): r for r in insights(base, account, since, early)}
    sandbox.clock.as_of = late
    after = {(r["ad_id"], r["date_start"]): r for r in insights(base, account, since, early)}
    assert before.keys() == after.keys()
    # Meta claims conversions up to 28 days after a click: older days can no longer change.
    frozen = [k for k in before if (early - date.fromisoformat(k[1])).days > 28]
    changed = [k for k in before if before[k].get("actions") != after[k].get("actions")]
    assert changed, "no day restated"
    assert not set(changed) & set(frozen), "a day older than 28 days changed"
    assert all(before[k]["spend"] == after[k]["spend"] for k in before)


def test_async_report_run_completes_then_pages_like_the_sync_call(sandbox: SandboxServer) -> None:
    base = sandbox.url_for("meta")
    account = sandbox.world.accounts["meta"][0].account_id
    end = sandbox.clock.as_of
    params = {"level": "ad", "fields": "ad_id,date_start,spend", "limit": "50",
              "time_range": json.dumps({"since": (end - timedelta(days=9)).isoformat(), "until": end.isoformat()})}
    started = requests.post(f"{base}/v21.0/act_{account}/insights", data=params, headers=AUTH, timeout=10).json()
    run = started["report_run_id"]
    early = requests.get(f"{base}/v21.0/{run}/insights", headers=AUTH, timeout=10)
    assert early.status_code == 400
    statuses = [requests.get(f"{base}/v21.0/{run}", headers=AUTH, timeout=10).json() for _ in range(3)]
    assert [s["async_status"] for s in statuses] == ["Job Not Started", "Job Running", "Job Completed"]
    assert statuses[-1]["async_percent_completion"] == 100
    rows: list[dict] = []
    url: str | None = f"{base}/v21.0/{run}/insights"
    while url:
        body = requests.get(url, headers=AUTH, timeout=10).json()
        rows += body["data"]
        url = body.get("paging", {}).get("next")
    sync = insights(base, account, end - timedelta(days=9), end, fields="ad_id,date_start,spend")
    assert sorted(map(json.dumps, rows)) == sorted(map(json.dumps, sync))
    missing = requests.get(f"{base}/v21.0/99999999/insights", headers=AUTH, timeout=10)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 100

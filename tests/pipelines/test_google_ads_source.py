"""The Google Ads dlt source against the emulated Google Ads API, landing real Iceberg tables.

Expected values come from the simulated world (or, for restated conversions, from the emulation read
with a plain HTTP client), never from the source's own output.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from pipelines import runner
from pipelines.errors import ConfigError, SourceError
from pipelines.google_ads import google_ads
from pipelines.google_ads import settings as s
from pipelines.google_ads.helpers import classify, sort_rows
from pipelines.lake import RAW, Lake
from pipelines.quarantine import Tally
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.faults import FaultRule
from sandbox.google_ads import DEFAULT_DEVELOPER_TOKEN, DEFAULT_TOKEN, GoogleAdsApp
from sandbox.server import Request, Response, SandboxServer

PREFIX = "SOURCES__GOOGLE_ADS__"
AD_DAILY = "google_ads__ad_performance_daily"
CAMPAIGN_DAILY = "google_ads__campaign_performance_daily"
STREAM = "googleAds:searchStream"


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The source configured against the sandbox, registered with the runner, with quick retries."""
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv(f"{PREFIX}MAX_ATTEMPTS", "4")
    monkeypatch.setitem(runner.SOURCES, "google_ads", lambda: google_ads)
    return sandbox


def _raw(lake: Lake, table: str) -> list[dict[str, Any]]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _window(server: SandboxServer, days: int) -> tuple[date, date]:
    end = server.clock.as_of
    return end - timedelta(days=days - 1), end


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _data_snapshots(lake: Lake) -> dict[str, int]:
    try:
        counts = lake.snapshot_counts(RAW)
    except Exception:  # no raw namespace yet
        return {}
    return {name: n for name, n in counts.items() if name != "_ingest_runs"}


def _streams(server: SandboxServer) -> list[str]:
    return [path for platform, path, _ in server.request_log if platform == "google_ads" and path.endswith(STREAM)]


class _RecordingApp(GoogleAdsApp):
    """Google Ads, keeping every (path, headers, GAQL) it is asked."""

    calls: list[tuple[str, dict[str, str], str]]

    def handle(self, request: Request) -> Response:
        self.calls.append((request.path, dict(request.headers), json.loads(request.body or b"{}").get("query", "")))
        return super().handle(request)


def _recording(server: SandboxServer, **options: Any) -> _RecordingApp:
    app = _RecordingApp(server.world, server.clock, **options)
    app.calls = []
    server.apps = [app]
    return app


def _served(server: SandboxServer, customer_id: str, query: str) -> list[dict[str, Any]]:
    """A searchStream read with a plain HTTP client."""
    response = requests.post(f"{server.url_for('google_ads')}/v17/customers/{customer_id}/{STREAM}",
                             json={"query": query}, timeout=30,
                             headers={"Authorization": f"Bearer {DEFAULT_TOKEN}",
                                      "developer-token": DEFAULT_DEVELOPER_TOKEN})
    assert response.status_code == 200, response.text
    return [row for batch in response.json() for row in batch.get("results", [])]


# -- what lands -------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_rows", [10_000, 7], ids=["one_batch", "many_batches"])
def test_full_download_matches_the_world(lake: Lake, env: SandboxServer, batch_rows: int) -> None:
    env.apps = [GoogleAdsApp(env.world, env.clock, batch_rows=batch_rows)]
    world, as_of = env.world, env.clock.as_of
    start, end = _window(env, 10)
    summary = run_source("google_ads", start_date=start, end_date=end)

    ad_rows, campaign_rows = _raw(lake, AD_DAILY), _raw(lake, CAMPAIGN_DAILY)
    ad_keys = Counter((r["customer_id"], r["ad_id"], r["date"]) for r in ad_rows)
    campaign_keys = Counter((r["customer_id"], r["campaign_id"], r["date"]) for r in campaign_rows)
    assert max(ad_keys.values()) == 1 and max(campaign_keys.values()) == 1
    expected_ads: dict[tuple[str, str, date], tuple[int, int, int]] = {}
    expected_campaigns: Counter[tuple[str, str, date]] = Counter()
    for account in world.accounts["google_ads"]:
        for campaign in world.campaigns(account):
            for group in world.ad_groups(campaign):
                for ad in world.ads(group):
                    for day in _days(start, end):
                        reported = world.reported(ad, day, as_of)
                        if reported is None:
                            continue
                        d = reported.delivery
                        expected_ads[(account.account_id, ad.ad_id, day)] = (d.impressions, d.clicks,
                                                                              d.spend_cents * 10_000)
                        expected_campaigns[(account.account_id, campaign.campaign_id, day)] += d.spend_cents * 10_000
    assert expected_ads, "the world delivered nothing: the test would prove nothing"
    assert {(r["customer_id"], r["ad_id"], r["date"]): (r["impressions"], r["clicks"], r["cost_micros"])
            for r in ad_rows} == expected_ads
    assert {(r["customer_id"], r["campaign_id"], r["date"]): r["cost_micros"] for r in campaign_rows} \
        == dict(expected_campaigns)
    assert summary.rows[AD_DAILY] == len(expected_ads) and summary.rows[CAMPAIGN_DAILY] == len(expected_campaigns)

    accounts = {a.account_id: a for a in world.accounts["google_ads"]}
    for row in [*ad_rows, *campaign_rows]:
        assert (row["currency_code"], row["time_zone"]) == (accounts[row["customer_id"]].currency,
                                                            accounts[row["customer_id"]].timezone)
        assert row["all_conversions"] >= row["conversions"] >= 0 and row["_ingested_at"] is not None
    assert any(r["conversions"] % 1 for r in ad_rows), "fractional data-driven conversions did not survive"
    for table in (AD_DAILY, CAMPAIGN_DAILY):
        assert [f.name for f in lake.load_table(RAW, table).spec().fields] == ["date"]

    # Entities: every customer, campaign, ad group and ad, with its parents.
    customers = {r["customer_id"]: (r["customer_name"], r["currency_code"], r["time_zone"])
                 for r in _raw(lake, "google_ads__customers")}
    assert customers == {cid: (a.name, a.currency, a.timezone) for cid, a in accounts.items()}
    ads = {(r["customer_id"], r["campaign_id"], r["ad_group_id"], r["ad_id"]) for r in _raw(lake, "google_ads__ads")}
    assert ads == {(a.account_id, c.campaign_id, g.ad_group_id, ad.ad_id) for a in accounts.values()
                   for c in world.campaigns(a) for g in world.ad_groups(c) for ad in world.ads(g)}
    assert {r["campaign_name"] for r in _raw(lake, "google_ads__campaigns")} \
        == {c.name for a in accounts.values() for c in world.campaigns(a)}
    assert len(_raw(lake, "google_ads__ad_groups")) == sum(len(world.ad_groups(c)) for a in accounts.values()
                                                           for c in world.campaigns(a))


def test_an_empty_window_loads_entities_and_no_performance(lake: Lake, env: SandboxServer) -> None:
    start = env.world.config.start_date - timedelta(days=10)
    summary = run_source("google_ads", start_date=start, end_date=start + timedelta(days=3))
    assert AD_DAILY not in summary.rows and CAMPAIGN_DAILY not in summary.rows
    assert summary.rows["google_ads__ads"] == sum(len(env.world.all_ads(a)) for a in env.world.accounts["google_ads"])


# -- requests and windows ---------------------------------------------------------------------------
def test_queries_use_closed_date_ranges_split_by_days_per_request(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _recording(env)
    monkeypatch.setenv(f"{PREFIX}DAYS_PER_REQUEST", "4")
    start, end = _window(env, 10)
    run_source("google_ads", start_date=start, end_date=end)
    daily = [query for _, _, query in app.calls if "segments.date" in query]
    ranges = [query.split("BETWEEN ")[1] for query in daily]
    chunks = [f"'{a}' AND '{b}'" for a, b in ((start, start + timedelta(days=3)),
                                              (start + timedelta(days=4), start + timedelta(days=7)),
                                              (start + timedelta(days=8), end))]
    # Per customer: ad performance, then campaign performance, each in three chunks.
    assert ranges == chunks * len(s.REPORTS) * len(env.world.accounts["google_ads"])
    assert all(query.endswith(f"WHERE segments.date BETWEEN {r}") for query, r in zip(daily, ranges, strict=True))
    assert {query.split(" FROM ")[1].split()[0] for query in daily} == {"ad_group_ad", "campaign"}
    assert len(_raw(lake, AD_DAILY)) == len({(r["ad_id"], r["date"]) for r in _raw(lake, AD_DAILY)})


def test_second_run_rereads_the_conversion_lag_and_appends_versions(lake: Lake, env: SandboxServer) -> None:
    app = _recording(env)
    end = env.clock.as_of
    first_end = end - timedelta(days=10)
    start = first_end - timedelta(days=30)
    env.clock.as_of = first_end
    run_source("google_ads", start_date=start, end_date=first_end)
    app.calls.clear()
    env.clock.as_of = end
    run_source("google_ads", end_date=end)

    reread = first_end - timedelta(days=s.CONVERSION_LAG_DAYS - 1)  # 14 days re-read, not more
    daily = {query.split("BETWEEN ")[1] for _, _, query in app.calls if "segments.date" in query}
    assert daily == {f"'{reread}' AND '{end}'"}

    rows = _raw(lake, AD_DAILY)
    versions = Counter((r["ad_id"], r["date"]) for r in rows)
    assert any(n == 2 for (_, day), n in versions.items() if day >= reread)
    assert all(n == 1 for (_, day), n in versions.items() if day < reread or day > first_end)
    # The newest version of a restated day is what Google reports now; spend never moved.
    latest = {(r["ad_id"], r["date"]): r for r in sorted(rows, key=lambda r: r["_dlt_load_id"])}
    first = {(r["ad_id"], r["date"]): r for r in sorted(rows, key=lambda r: r["_dlt_load_id"], reverse=True)}
    assert any(latest[k]["conversions"] != first[k]["conversions"] for k in latest), "nothing was restated"
    assert all(latest[k]["cost_micros"] == first[k]["cost_micros"] for k in latest)
    cid = env.world.accounts["google_ads"][0].account_id
    served = _served(env, cid, f"SELECT ad_group_ad.ad.id, segments.date, metrics.conversions FROM ad_group_ad "
                               f"WHERE segments.date BETWEEN '{reread}' AND '{first_end}'")
    assert served
    assert all(latest[(r["adGroupAd"]["ad"]["id"], date.fromisoformat(r["segments"]["date"]))]["conversions"]
               == r["metrics"].get("conversions", 0.0) for r in served)


def test_dashed_ids_and_the_manager_are_sent_as_google_wants(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _recording(env)
    cids = [a.account_id for a in env.world.accounts["google_ads"]]
    manager = app.manager_customer_id
    dashed = lambda cid: f"{cid[:3]}-{cid[3:6]}-{cid[6:]}"  # noqa: E731
    monkeypatch.setenv(f"{PREFIX}CUSTOMER_IDS", f" {dashed(cids[0])}, {cids[1]},{dashed(cids[0])}")
    monkeypatch.setenv(f"{PREFIX}LOGIN_CUSTOMER_ID", dashed(manager))
    start, end = _window(env, 3)
    run_source("google_ads", start_date=start, end_date=end)
    assert {path for path, _, _ in app.calls} == {f"/v17/customers/{cid}/{STREAM}" for cid in cids}
    assert {headers.get("login-customer-id") for _, headers, _ in app.calls} == {manager}
    assert {r["customer_id"] for r in _raw(lake, "google_ads__customers")} == set(cids)


# -- errors -----------------------------------------------------------------------------------------
def test_quota_errors_are_retried_with_backoff(
    lake: Lake, env: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    env.faults.rules.append(FaultRule("google_ads", "throttle", STREAM, times=2, skip=4))
    start, end = _window(env, 4)
    with caplog.at_level(logging.WARNING, logger="adlake.http"):
        summary = run_source("google_ads", start_date=start, end_date=end)
    assert [kind for _, kind, _ in env.faults.fired] == ["throttle", "throttle"]
    retries = [r.getMessage() for r in caplog.records if r.name == "adlake.http"]
    assert len(retries) == 2 and all("throttled" in m and "quotaError.RESOURCE_EXHAUSTED" in m for m in retries)
    assert "retry 2/4" in retries[0] and "retry 3/4" in retries[1]  # the same request, backing off
    ledger = {r["resource"]: r for r in _raw(lake, "_ingest_runs")}
    assert summary.rows[AD_DAILY] == ledger[AD_DAILY]["received"] > 0


def test_server_errors_are_retried(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("google_ads", "server_error", STREAM, times=3))
    start, end = _window(env, 3)
    summary = run_source("google_ads", start_date=start, end_date=end)
    assert len(env.faults.fired) == 3
    assert summary.rows["google_ads__customers"] == len(env.world.accounts["google_ads"])


def test_expired_token_fails_fast_naming_the_setting(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("google_ads", "auth_expired", STREAM, times=100))
    start, end = _window(env, 3)
    with pytest.raises(SourceError, match=rf"^google_ads: .*access token rejected \({PREFIX}ACCESS_TOKEN\).*"
                                          r"OAUTH_TOKEN_EXPIRED") as caught:
        run_source("google_ads", start_date=start, end_date=end)
    assert not caught.value.transient
    assert len(_streams(env)) == 1  # no retries
    assert _data_snapshots(lake) == {}


def test_wrong_developer_token_names_its_setting(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{PREFIX}DEVELOPER_TOKEN", "not-the-token")
    with pytest.raises(SourceError, match=rf"developer token rejected \({PREFIX}DEVELOPER_TOKEN\).*"
                                          r"DEVELOPER_TOKEN_INVALID") as caught:
        run_source("google_ads", start_date=env.clock.as_of, end_date=env.clock.as_of)
    assert not caught.value.transient and len(_streams(env)) == 1
    assert "not-the-token" not in str(caught.value)


def test_an_inaccessible_customer_is_a_config_error(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cids = [a.account_id for a in env.world.accounts["google_ads"]]
    monkeypatch.setenv(f"{PREFIX}CUSTOMER_IDS", f"{cids[0]},1234567890")
    with pytest.raises(ConfigError, match=rf"customer 1234567890 from {PREFIX}CUSTOMER_IDS is not accessible.*"
                                          r"USER_PERMISSION_DENIED"):
        run_source("google_ads", start_date=env.clock.as_of, end_date=env.clock.as_of)
    # Reached through a manager that does not manage it: the message names the manager setting.
    monkeypatch.setenv(f"{PREFIX}CUSTOMER_IDS", cids[0])
    monkeypatch.setenv(f"{PREFIX}LOGIN_CUSTOMER_ID", cids[1])
    with pytest.raises(ConfigError, match=rf"customer {cids[0]} .* through {PREFIX}LOGIN_CUSTOMER_ID={cids[1]}"):
        run_source("google_ads", start_date=env.clock.as_of, end_date=env.clock.as_of)
    assert _data_snapshots(lake) == {}


def test_a_rejected_query_is_final(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = ("metrics.video_views", "video_views", s.INT64)  # not served by this API (or version)
    monkeypatch.setattr(s, "REPORTS", (dataclasses.replace(s.AD_PERFORMANCE,
                                                           fields=(*s.AD_PERFORMANCE.fields, extra)),))
    start, end = _window(env, 3)
    with pytest.raises(SourceError, match=r"queryError\.UNRECOGNIZED_FIELD") as caught:
        run_source("google_ads", start_date=start, end_date=end)
    assert not caught.value.transient
    assert len(_streams(env)) == len(s.ENTITIES) + 1  # the entities, then the report once
    assert _data_snapshots(lake) == {}


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("ACCESS_TOKEN", None, f"{PREFIX}ACCESS_TOKEN is not set"),
    ("DEVELOPER_TOKEN", None, f"{PREFIX}DEVELOPER_TOKEN is not set"),
    ("CUSTOMER_IDS", None, f"{PREFIX}CUSTOMER_IDS is not set"),
    ("CUSTOMER_IDS", "123-456-789", f"{PREFIX}CUSTOMER_IDS has '123-456-789', not a 10-digit customer id"),
    ("LOGIN_CUSTOMER_ID", "manager", f"{PREFIX}LOGIN_CUSTOMER_ID has 'manager'"),
    ("START_DATE", "yesterday", f"{PREFIX}START_DATE='yesterday' is not a YYYY-MM-DD date"),
    ("API_VERSION", "17", f"{PREFIX}API_VERSION='17' is not a version"),
    ("CONVERSION_LAG_DAYS", "0", f"{PREFIX}CONVERSION_LAG_DAYS and DAYS_PER_REQUEST must be at least 1"),
])
def test_bad_settings_fail_before_any_request(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch, setting: str, value: str | None, message: str
) -> None:
    if value is None:
        monkeypatch.delenv(f"{PREFIX}{setting}")
    else:
        monkeypatch.setenv(f"{PREFIX}{setting}", value)
    with pytest.raises(ConfigError, match=f"^google_ads: {message}"):
        run_source("google_ads")
    assert env.request_log == []
    assert _data_snapshots(lake) == {}


# -- every row accounted for ---------------------------------------------------------------------------
class _MessyApp(GoogleAdsApp):
    """Google Ads, except that the ad performance stream carries a broken, a repeated, a zero-omitted
    and a drifted row, and (optionally) ends in an error after its rows."""

    fail_mid_stream = False
    zeroed: list[tuple[str, date]]

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        query = json.loads(request.body or b"{}").get("query", "")
        if response.status != 200 or "FROM ad_group_ad WHERE segments.date" not in query:
            return response
        batches = json.loads(response.body)
        rows = batches[0]["results"]
        rows[0]["metrics"]["costMicros"] = "12.5"  # quarantined: not an int64
        rows.append(json.loads(json.dumps(rows[1])))  # dropped: the same ad and day twice
        rows[2]["metrics"].pop("clicks")  # proto3 JSON leaves zeros out: loads as 0
        self.zeroed.append((rows[2]["adGroupAd"]["ad"]["id"], date.fromisoformat(rows[2]["segments"]["date"])))
        rows[3]["metrics"]["videoViews"] = "3"  # a field nobody asked for: reported, not loaded
        if self.fail_mid_stream:
            batches.append({"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}})
        return Response.json(200, batches, {"request-id": "messy"})


def test_every_row_is_accounted_for_in_the_run_ledger(lake: Lake, env: SandboxServer) -> None:
    app = _MessyApp(env.world, env.clock)
    app.zeroed = []
    env.apps = [app]
    start, end = _window(env, 5)
    run_source("google_ads", start_date=start, end_date=end)

    ledger = {r["resource"]: r for r in _raw(lake, "_ingest_runs") if r["status"] == "succeeded"}
    assert set(ledger) == {report.table for report in (*s.ENTITIES, *s.REPORTS)}
    for row in ledger.values():
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"]
        assert row["loaded"] == len(_raw(lake, row["resource"]))
    ad = ledger[AD_DAILY]
    customers = len(env.world.accounts["google_ads"])
    assert (ad["quarantined"], ad["duplicates"]) == (customers, customers)
    assert ad["new_fields"] == "metrics.videoViews"
    assert (ad["window_start"], ad["window_end"]) == (start, end)
    quarantined = _raw(lake, "_quarantine")
    assert len(quarantined) == customers
    assert {(q["source"], q["stream"], q["reason_code"]) for q in quarantined} \
        == {("google_ads", "ad_performance_daily", "type_coercion")}
    assert all(q["reason_detail"].startswith("metrics.cost_micros='12.5'") and '"12.5"' in q["raw_record"]
               for q in quarantined)
    clicks = {(r["ad_id"], r["date"]): (r["clicks"], r["impressions"]) for r in _raw(lake, AD_DAILY)}
    assert len(app.zeroed) == customers
    assert all(clicks[key][0] == 0 and clicks[key][1] > 0 for key in app.zeroed)
    assert "video_views" not in lake.load_table(RAW, AD_DAILY).schema().column_names


def test_an_error_after_the_stream_began_fails_the_run(lake: Lake, env: SandboxServer) -> None:
    app = _MessyApp(env.world, env.clock)
    app.fail_mid_stream, app.zeroed = True, []
    env.apps = [app]
    with pytest.raises(SourceError, match=r"failed mid-stream: Internal error encountered\.") as caught:
        run_source("google_ads", start_date=env.clock.as_of, end_date=env.clock.as_of)
    assert caught.value.transient  # a later run can succeed
    assert _data_snapshots(lake) == {}


# -- the envelope, as Google also writes it ---------------------------------------------------------------
def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update(headers or {})
    return response


def _failure(status: int, rpc: str, code: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"error": {"code": status, "message": "...", "status": rpc, "details": [
        {"@type": "type.googleapis.com/google.ads.googleads.v17.errors.GoogleAdsFailure",
         "errors": [{"errorCode": code, "message": "from Google", **extra}], "requestId": "r1"}]}}


def test_classify_reads_the_envelope_in_every_shape() -> None:
    quota = _failure(429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                     details={"quotaErrorDetails": {"rateScope": "DEVELOPER", "retryDelay": "7s"}})
    verdict = classify(_response(429, quota))
    assert verdict is not None and verdict.retry and verdict.wait == 7.0
    assert verdict.message == "throttled: from Google (quotaError.RESOURCE_TEMPORARILY_EXHAUSTED)"
    # searchStream answers an error inside its array.
    wrapped = classify(_response(403, [_failure(403, "PERMISSION_DENIED",
                                                {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"})]))
    assert wrapped is not None and not wrapped.retry
    assert wrapped.message.startswith(f"developer token rejected ({PREFIX}DEVELOPER_TOKEN)")
    # A front-end error without a GoogleAdsFailure, and a body that is not JSON at all.
    front = classify(_response(503, {"error": {"code": 503, "message": "The service is unavailable.",
                                               "status": "UNAVAILABLE"}}, {"Retry-After": "3"}))
    assert front is not None and front.retry and front.wait == 3.0 and "UNAVAILABLE" in front.message
    broken = requests.Response()
    broken.status_code, broken._content = 502, b"<html>bad gateway</html>"
    gateway = classify(broken)
    assert gateway is not None and gateway.retry and gateway.message == "HTTP 502"
    assert classify(_response(200, [{"results": []}])) is None


_ROW = {"customer": {"id": "1234567890"}, "campaign": {"id": "11"}, "segments": {"date": "2026-10-01"},
        "metrics": {"impressions": "10", "costMicros": "2500000", "conversions": 1.5}}


@pytest.mark.parametrize(("metrics", "expected"), [
    (None, (0, 0, 0.0)),  # zeros are left out of proto3 JSON, a metrics object with them
    ({"impressions": 10, "conversions": "0.25"}, (10, 2500000, 0.25)),  # numbers as numbers or strings
    ({"costMicros": "1e3"}, "metrics.cost_micros='1e3' is not a non-negative integer"),
    ({"costMicros": "-5"}, "metrics.cost_micros='-5' is not a non-negative integer"),
    ({"impressions": True}, "metrics.impressions=True is not a non-negative integer"),
    ({"conversions": "NaN"}, "metrics.conversions='NaN' is not a finite non-negative number"),
    ({"conversions": "Infinity"}, "metrics.conversions='Infinity' is not a finite non-negative number"),
    ({"conversions": {"value": 1}}, "metrics.conversions is not a single value"),
])
def test_metric_values_are_typed_or_quarantined(metrics: dict[str, Any] | None, expected: Any) -> None:
    row = {**_ROW, "metrics": {**_ROW["metrics"], **metrics}} if metrics is not None else \
        {key: value for key, value in _ROW.items() if key != "metrics"}
    good, rejected = sort_rows([row], s.CAMPAIGN_PERFORMANCE, set(), datetime.now(UTC), tally := Tally())
    if isinstance(expected, tuple):
        assert [(r["impressions"], r["cost_micros"], r["conversions"]) for r in good] == [expected]
        assert good[0]["date"] == date(2026, 10, 1) and good[0]["clicks"] == 0
    else:
        assert good == [] and [r["reason_detail"] for r in rejected] == [expected]
    assert tally.received == 1 and tally.quarantined == len(rejected)


@pytest.mark.parametrize(("path", "value", "reason"), [
    (("campaign", "id"), None, ("missing_key", "no campaign.id")),
    (("segments", "date"), "2026-10-1", ("type_coercion", "segments.date='2026-10-1' is not a date")),
    (("customer", "id"), "123-456-7890", ("type_coercion", "customer.id='123-456-7890' is not an id")),
])
def test_rows_without_sound_keys_are_quarantined(path: tuple[str, str], value: Any, reason: tuple[str, str]) -> None:
    row = json.loads(json.dumps(_ROW))
    if value is None:
        del row[path[0]][path[1]]
    else:
        row[path[0]][path[1]] = value
    good, rejected = sort_rows([row], s.CAMPAIGN_PERFORMANCE, set(), datetime.now(UTC), Tally())
    assert good == [] and [(r["reason_code"], r["reason_detail"]) for r in rejected] == [reason]

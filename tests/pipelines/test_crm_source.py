"""The CRM (HubSpot CRM v3) dlt source against the emulated API, landing real Iceberg tables."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import requests

from pipelines import runner
from pipelines.crm import crm
from pipelines.errors import ConfigError, SourceError
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.crm import DEFAULT_TOKEN, CrmApp
from sandbox.faults import FaultRule
from sandbox.server import Request, Response, SandboxServer

MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}


@pytest.fixture
def env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    for key, value in source_settings(sandbox.base_url, sandbox.world).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SOURCES__CRM__BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv("SOURCES__CRM__MAX_ATTEMPTS", "4")
    monkeypatch.setitem(runner.SOURCES, "crm", lambda: crm)
    return sandbox


def _raw(lake: Lake, table: str) -> list[dict]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _served(server: SandboxServer, kind: str) -> list[dict]:
    """Every record the sandbox holds now, read with a plain HTTP client."""
    out, after = [], None
    while True:
        params = {"limit": 100, "associations": "contacts", **({"after": after} if after else {})}
        body = requests.get(f"{server.url_for('crm')}/crm/v3/objects/{kind}", params=params, timeout=30,
                            headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}).json()
        out += body["results"]
        if "paging" not in body:
            return out
        after = body["paging"]["next"]["after"]


def _stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)


def _crm_requests(server: SandboxServer) -> list[str]:
    return [path for platform, path, _ in server.request_log if platform == "crm"]


def test_full_paging_lands_every_record_once(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SOURCES__CRM__PAGE_LIMIT", "7")
    env.clock.as_of = env.world.config.end_date + timedelta(days=45)  # every deal has closed
    with caplog.at_level(logging.DEBUG):
        summary = run_source("crm")
    for kind in ("contacts", "deals"):
        served = {r["id"]: r for r in _served(env, kind)}
        rows = _raw(lake, f"crm__{kind}")
        assert sorted(r["id"] for r in rows) == sorted(served) and served
        assert summary.rows[f"crm__{kind}"] == len(served)
        assert len([p for p in _crm_requests(env) if p.endswith(f"/{kind}")]) >= len(served) // 7
        assert all(r["_ingested_at"] is not None for r in rows)
    deals = _raw(lake, "crm__deals")
    served = {r["id"]: r for r in _served(env, "deals")}
    assert sum(round(float(d["amount"]) * 100) for d in deals) == int(env.world.journeys.deals["value_cents"].sum())
    for deal in deals:
        assert deal["contact_id"] == served[deal["id"]]["associations"]["contacts"]["results"][0]["id"]
        assert deal["close_date"].isoformat() == served[deal["id"]]["properties"]["closedate"][:10]
    contact = _raw(lake, "crm__contacts")[0]
    assert "@" in contact["email"] and contact["phone"].startswith("+")  # kept as sent in raw
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "adlake.crm" in {r.name for r in caplog.records}
    assert not any(c["email"] in logged or c["phone"] in logged for c in _raw(lake, "crm__contacts"))
    assert lake.load_table(RAW, "crm__deals").spec().fields[0].name == "close_date"


def test_later_runs_search_from_the_cursor_and_late_deals_arrive(lake: Lake, env: SandboxServer) -> None:
    start = env.world.config.start_date
    env.clock.as_of = start + timedelta(days=20)
    first = run_source("crm")
    early = {kind: _served(env, kind) for kind in ("contacts", "deals")}
    env.clock.as_of = env.world.config.end_date + timedelta(days=45)
    env.request_log.clear()
    second = run_source("crm")

    paths = _crm_requests(env)
    # No full listing on a later run: searches, and one association read per page of deals.
    assert paths and all(p.endswith(("/search", "/associations/deals/contacts/batch/read")) for p in paths)
    for kind in ("contacts", "deals"):
        cursor = max(_stamp(r["properties"][MODIFIED[kind]]) for r in early[kind]) - timedelta(minutes=10)
        now = _served(env, kind)
        changed = {r["id"] for r in now if _stamp(r["properties"][MODIFIED[kind]]) >= cursor}
        rows = _raw(lake, f"crm__{kind}")
        loaded_later = [r["id"] for r in rows if r["_dlt_load_id"] in second.load_ids]
        assert sorted(loaded_later) == sorted(changed)
        assert {r["id"] for r in rows if r["_dlt_load_id"] in first.load_ids} == {r["id"] for r in early[kind]}
        assert {r["id"] for r in rows} == {r["id"] for r in now}
    assert len(early["deals"]) < len(_served(env, "deals"))  # deals closed after the first run arrived late
    # Deals found by search carry their contact too (search answers have no associations).
    linked = {r["id"]: r["associations"]["contacts"]["results"][0]["id"] for r in _served(env, "deals")}
    later = [r for r in _raw(lake, "crm__deals") if r["_dlt_load_id"] in second.load_ids]
    assert later and all(r["contact_id"] == linked[r["id"]] for r in later)


def test_throttle_waits_for_the_rate_limit_window(
    lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SOURCES__CRM__MAX_THROTTLE_WAIT_SECONDS", "0.3")
    env.faults.rules.append(FaultRule("crm", "throttle", r"/contacts$", times=2))
    with caplog.at_level(logging.WARNING, logger="adlake.http"):
        run_source("crm")
    retries = [r.getMessage() for r in caplog.records if r.name == "adlake.http"]
    # The 10 s HubSpot window (capped by the setting) is waited, not the 0.01 s backoff.
    assert len(retries) == 2 and all("throttled" in m and "RATE_LIMITS" in m and "in 0.3 s" in m for m in retries)
    assert len(_raw(lake, "crm__contacts")) == len(_served(env, "contacts"))


def test_server_errors_are_retried(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("crm", "server_error", r"/deals$", times=2))
    run_source("crm")
    assert [kind for _, kind, _ in env.faults.fired] == ["server_error", "server_error"]
    assert len(_raw(lake, "crm__deals")) == len(_served(env, "deals"))


def test_expired_token_fails_fast_naming_the_source(lake: Lake, env: SandboxServer) -> None:
    env.faults.rules.append(FaultRule("crm", "auth_expired", r"/contacts$", times=100))
    with pytest.raises(SourceError, match=r"^crm: .*access token rejected \(SOURCES__CRM__ACCESS_TOKEN\)") as info:
        run_source("crm")
    assert not info.value.transient
    assert len(_crm_requests(env)) == 1  # no retries


def test_missing_token_is_a_config_error(lake: Lake, env: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCES__CRM__ACCESS_TOKEN")
    with pytest.raises(ConfigError, match="SOURCES__CRM__ACCESS_TOKEN is not set"):
        run_source("crm")
    assert _crm_requests(env) == []


class _CorruptingCrm(CrmApp):
    """The CRM, except that the first deal of every page has an amount that is not a number and the
    last contact of every page comes twice."""

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if response.status != 200:
            return response
        body = json.loads(response.body)
        if body["results"] and request.path.endswith("/deals"):
            body["results"][0]["properties"]["amount"] = "NaN"
        if body["results"] and request.path.endswith("/contacts"):
            body["results"].append(body["results"][-1])
        return Response.json(200, body, response.headers)


def test_every_record_is_accounted_for(lake: Lake, env: SandboxServer, world) -> None:
    env.apps = [_CorruptingCrm(world, env.clock)]
    run_source("crm")
    served = {kind: _served(env, kind) for kind in ("contacts", "deals")}
    ledger = {r["resource"]: r for r in _raw(lake, "_ingest_runs")}
    quarantined = _raw(lake, "_quarantine")
    for kind in ("contacts", "deals"):
        row = ledger[f"crm__{kind}"]
        assert row["received"] == row["loaded"] + row["quarantined"] + row["duplicates"]
        assert row["loaded"] == len(_raw(lake, f"crm__{kind}"))
        assert row["new_fields"] is None  # the sandbox sends only the documented fields
    # served with the corruption: one bad deal per page, one repeated contact per page
    assert ledger["crm__deals"]["received"] == len(served["deals"])
    assert ledger["crm__deals"]["quarantined"] == len(quarantined) == sum(
        r["properties"]["amount"] == "NaN" for r in served["deals"]) > 0
    assert {q["reason_code"] for q in quarantined} == {"type_coercion"}
    assert ledger["crm__contacts"]["duplicates"] > 0
    assert ledger["crm__contacts"]["loaded"] == len({r["id"] for r in served["contacts"]})

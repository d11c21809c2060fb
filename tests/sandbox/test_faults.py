"""Fault injection: each kind does what it says, and the seeded plan is deterministic."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from sandbox.faults import FaultPlan, FaultRule
from sandbox.meta import DEFAULT_TOKEN
from sandbox.server import SandboxServer

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def _insights(server: SandboxServer, timeout: float = 30) -> requests.Response:
    account = server.world.accounts["meta"][0].account_id
    end = server.clock.as_of
    params = {"level": "ad", "fields": "ad_id,date_start,spend",
              "time_range": json.dumps({"since": (end - timedelta(days=2)).isoformat(), "until": end.isoformat()})}
    return requests.get(f"{server.url_for('meta')}/v21.0/act_{account}/insights", params=params, headers=AUTH,
                        timeout=timeout)


def test_timeout_outlasts_the_client(sandbox: SandboxServer) -> None:
    sandbox.faults.rules.append(FaultRule("meta", "timeout", "insights", delay_seconds=1.0))
    with pytest.raises(requests.Timeout):
        _insights(sandbox, timeout=0.3)
    assert _insights(sandbox).status_code == 200


def test_schema_drift_renames_and_adds_fields(sandbox: SandboxServer) -> None:
    sandbox.faults.rules.append(FaultRule("meta", "schema_drift", "insights", rename={"spend": "amount_spent"},
                                          add={"new_metric": "7"}))
    drifted = _insights(sandbox).json()["data"]
    assert drifted and all("spend" not in row and "amount_spent" in row for row in drifted)
    assert all(row["new_metric"] == "7" for row in drifted)
    assert all("spend" in row for row in _insights(sandbox).json()["data"])


def test_skip_and_times_count_matching_requests(sandbox: SandboxServer) -> None:
    sandbox.faults.rules.append(FaultRule("meta", "server_error", "insights", times=2, skip=1))
    statuses = [_insights(sandbox).status_code for _ in range(4)]
    assert statuses == [200, 500, 500, 200]
    assert sandbox.faults.fired == [("meta", "server_error", sandbox.faults.fired[0][2])] * 2


def test_seeded_plan_is_deterministic() -> None:
    def shape(plan: FaultPlan) -> list[tuple[str, str, int, int]]:
        return [(r.platform, r.kind, r.skip, r.times) for r in plan.rules]

    platforms = ["meta", "google_ads"]
    assert shape(FaultPlan.from_seed(5, platforms)) == shape(FaultPlan.from_seed(5, platforms))
    assert shape(FaultPlan.from_seed(5, ["meta"])) != shape(FaultPlan.from_seed(6, ["meta"]))
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultRule("meta", "gremlins")

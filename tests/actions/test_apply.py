"""Threshold actions against the sandbox: fire on a seeded anomaly, audit, dry-run, apply once, record errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY

from flows.actions.apply import ActionsReport, run_budget_actions
from flows.actions.rules import parse_rules
from flows.cli import main
from pipelines.actions.clients import MetaWriteClient, TikTokWriteClient, WriteClient
from pipelines.lake import RAW, Lake
from sandbox import meta, tiktok_ads
from sandbox.faults import FaultRule
from sandbox.server import SandboxServer
from tests.actions.helpers import cpa_by_ad_group, performance_rows, write_marts

DAYS = 14


@pytest.fixture
def marts(lake: Lake, sandbox: SandboxServer) -> list[tuple[object, ...]]:
    rows = performance_rows(sandbox.world, DAYS)
    write_marts(lake.settings.duckdb_path, rows)
    return rows


def _pause_rule(threshold: float) -> dict[str, object]:
    return {"rules": [{"name": "pause-expensive", "kind": "pause_when_cpa_above", "metric": "cpa", "days": DAYS,
                       "above": threshold, "platforms": ["meta_ads"]}]}


def _threshold(rows: list[tuple[object, ...]], firing: int) -> tuple[float, list[str]]:
    """A CPA bound that exactly the ``firing`` most expensive Meta ad sets cross (the seeded anomaly)."""
    ranked = sorted(cpa_by_ad_group(rows, "meta_ads", DAYS).items(), key=lambda kv: kv[1], reverse=True)
    bound = (ranked[firing - 1][1] + ranked[firing][1]) / 2
    return bound, [group for group, _ in ranked[:firing]]


def _meta(sandbox: SandboxServer) -> dict[str, MetaWriteClient]:
    return {"meta_ads": MetaWriteClient(sandbox.url_for("meta"), meta.DEFAULT_TOKEN)}


def _audit(lake: Lake) -> list[dict[str, object]]:
    table = lake.read(RAW, "_budget_actions")
    return [] if table is None else table.to_pylist()


def _status(sandbox: SandboxServer, ad_set_id: str) -> str:
    url = f"{sandbox.url_for('meta')}/v21.0/{ad_set_id}"
    return requests.get(url, params={"access_token": meta.DEFAULT_TOKEN, "fields": "status"}, timeout=10).json()[
        "status"]


def _shift(lake: Lake, sandbox: SandboxServer, max_actions: int) -> ActionsReport:
    """Apply a shift from paid_social (Meta) to display (TikTok relabelled, so both channels have write clients)."""
    world_rows = performance_rows(sandbox.world, 7)
    rows = [r for r in world_rows if r[1] == "meta_ads"]
    rows += [(*r[:7], "display", *r[8:]) for r in world_rows if r[1] == "tiktok_ads"]
    write_marts(lake.settings.duckdb_path, rows, curves={"paid_social": 0.8, "display": 2.5})
    config = parse_rules({"limits": {"max_budget_change_pct": 15, "max_actions_per_run": max_actions},
                          "rules": [{"name": "social-to-display", "kind": "shift_budget", "from_channel":
                                     "paid_social", "to_channel": "display", "percent": 10,
                                     "min_marginal_roas_gap": 1.0}]})
    return run_budget_actions(apply=True, config=config, lake=lake, clients=_clients(sandbox))


def _clients(sandbox: SandboxServer) -> dict[str, WriteClient]:
    return {**_meta(sandbox), "tiktok_ads": TikTokWriteClient(sandbox.url_for("tiktok_ads"), tiktok_ads.DEFAULT_TOKEN)}


def test_a_rule_fires_on_the_anomaly_and_dry_run_sends_nothing(lake: Lake, sandbox: SandboxServer,
                                                                marts: list[tuple[object, ...]],
                                                                caplog: pytest.LogCaptureFixture) -> None:
    bound, expensive = _threshold(marts, 1)
    before = REGISTRY.get_sample_value("adlake_budget_actions_total", {
        "rule": "pause-expensive", "action_type": "pause", "status": "proposed"}) or 0
    with caplog.at_level(logging.WARNING, logger="adlake.actions"):
        report = run_budget_actions(config=parse_rules(_pause_rule(bound)), lake=lake, clients=_meta(sandbox))
    alert = json.loads(next(r.getMessage() for r in caplog.records if "budget_action" in r.getMessage())
                       .removeprefix("budget action "))
    assert alert["action_id"] == report.actions[0].action_id and alert["status"] == "proposed"
    assert REGISTRY.get_sample_value("adlake_budget_actions_total", {
        "rule": "pause-expensive", "action_type": "pause", "status": "proposed"}) == before + 1
    assert [(a.ad_group_id, a.status, a.proposed) for a in report.actions] == [
        (expensive[0], "proposed", {"status": "PAUSED"})]
    [row] = _audit(lake)
    assert row["status"] == "proposed" and row["dry_run"] is True and row["ad_group_id"] == expensive[0]
    evidence = json.loads(str(row["evidence_json"]))
    assert evidence["cpa"] == pytest.approx(cpa_by_ad_group(marts, "meta_ads", DAYS)[expensive[0]], rel=1e-6)
    assert evidence["threshold"] == bound
    assert sandbox.writes() == []
    assert _status(sandbox, expensive[0]) == "ACTIVE"
    # The same decision again (a second dry run on the same build): same id, no second row.
    again = run_budget_actions(config=parse_rules(_pause_rule(bound)), lake=lake, clients=_meta(sandbox))
    assert again.actions[0].action_id == report.actions[0].action_id
    assert len(_audit(lake)) == 1


def test_applied_exactly_once_even_when_the_flow_runs_twice(lake: Lake, sandbox: SandboxServer,
                                                           marts: list[tuple[object, ...]]) -> None:
    bound, expensive = _threshold(marts, 1)
    config = parse_rules(_pause_rule(bound))
    run_budget_actions(config=config, lake=lake, clients=_meta(sandbox))  # the dry run first
    first = run_budget_actions(apply=True, config=config, lake=lake, clients=_meta(sandbox))
    second = run_budget_actions(apply=True, config=config, lake=lake, clients=_meta(sandbox))
    assert [a.status for a in first.actions] == ["applied"]
    assert [a.status for a in second.actions] == ["applied"] and "already applied" in second.actions[0].reason
    writes = sandbox.writes("meta")
    assert [(w.entity_id, w.field, w.old, w.new) for w in writes] == [(expensive[0], "status", "ACTIVE", "PAUSED")]
    assert _status(sandbox, expensive[0]) == "PAUSED"
    rows = _audit(lake)
    assert sorted(str(r["status"]) for r in rows) == ["applied", "proposed"]
    applied = next(r for r in rows if r["status"] == "applied")
    assert json.loads(str(applied["undo_json"])) == {"level": "adset", "id": expensive[0], "status": "ACTIVE"}
    assert applied["applied_at"] is not None and applied["dry_run"] is False


def test_an_ad_set_already_paused_is_not_written_again(lake: Lake, sandbox: SandboxServer,
                                                       marts: list[tuple[object, ...]]) -> None:
    bound, expensive = _threshold(marts, 1)
    _meta(sandbox)["meta_ads"].http.request("POST", f"v21.0/{expensive[0]}", data={"status": "PAUSED"})
    report = run_budget_actions(apply=True, config=parse_rules(_pause_rule(bound)), lake=lake,
                                clients=_meta(sandbox))
    assert [(a.status, a.reason) for a in report.actions] == [("skipped", "already paused on the platform")]
    assert len(sandbox.writes()) == 1  # the advertiser's own pause only


def test_a_platform_error_is_recorded_and_the_run_goes_on(lake: Lake, sandbox: SandboxServer,
                                                          marts: list[tuple[object, ...]],
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    bound, expensive = _threshold(marts, 2)
    # The write to the first action's ad set answers with an expired token (Meta code 190): not retried,
    # recorded as failed (the read of its previous status before it succeeds).
    sandbox.faults.rules.append(FaultRule("meta", "auth_expired", path_pattern=rf"/{expensive[0]}$", times=10,
                                          method="POST"))
    rules = Path(lake.settings.home) / "rules.yml"
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text(json.dumps(_pause_rule(bound)))  # JSON is YAML
    monkeypatch.setenv("ADLAKE_BUDGET_RULES", str(rules))
    monkeypatch.setenv("SOURCES__META_ADS__BASE_URL", sandbox.url_for("meta"))
    monkeypatch.setenv("SOURCES__META_ADS__ACCESS_TOKEN", meta.DEFAULT_TOKEN)
    assert main(["budget", "apply", "--apply"]) == 1
    out, err = capsys.readouterr()
    assert "1 budget action(s) failed" in err and "failed" in out and "applied" in out
    by_group = {r["ad_group_id"]: r for r in _audit(lake)}
    assert by_group[expensive[0]]["status"] == "failed"
    assert "Session has expired" in str(by_group[expensive[0]]["reason"])
    assert by_group[expensive[1]]["status"] == "applied"
    assert [w.entity_id for w in sandbox.writes("meta")] == [expensive[1]]
    # Once the platform recovers, the next run applies the failed action (and only it).
    sandbox.faults.rules.clear()
    assert main(["budget", "apply", "--apply"]) == 0
    assert [w.entity_id for w in sandbox.writes("meta")] == [expensive[1], expensive[0]]


def test_spend_pace_alert_on_a_cut_budget(lake: Lake, sandbox: SandboxServer,
                                          marts: list[tuple[object, ...]]) -> None:
    client = _meta(sandbox)["meta_ads"]
    last = max(r[0] for r in marts if r[1] == "meta_ads")
    spent = {}
    for r in marts:
        if r[1] == "meta_ads" and r[0] == last:
            spent[r[4]] = spent.get(r[4], 0.0) + float(r[10])
    group = max(spent, key=spent.__getitem__)
    # The anomaly: someone cut the ad set's budget to a tenth of what it spent on the last day.
    requests.post(f"{sandbox.url_for('meta')}/v21.0/{group}", timeout=10,
                  data={"access_token": meta.DEFAULT_TOKEN, "daily_budget": str(max(100, int(spent[group] * 10)))})
    config = parse_rules({"rules": [{"name": "pace", "kind": "alert_on_spend_pace", "over_percent": 200,
                                     "platforms": ["meta_ads"]}]})
    report = run_budget_actions(apply=True, config=config, lake=lake, clients={"meta_ads": client})
    assert [(a.ad_group_id, a.action_type, a.status) for a in report.actions] == [(group, "alert", "skipped")]
    assert report.actions[0].evidence["pace_pct"] > 300
    assert len(sandbox.writes()) == 1  # only the anomaly's own write: alerts change nothing


def test_shift_budget_applies_within_the_cap_and_keeps_undo(lake: Lake, sandbox: SandboxServer) -> None:
    report = _shift(lake, sandbox, max_actions=3)
    assert report.count("applied") == 3  # max_actions_per_run
    assert report.count("skipped") == len(report.actions) - 3
    for action in report.actions:
        if action.status == "applied":
            before, after = float(action.proposed["daily_budget_from"]), float(action.proposed["daily_budget_to"])
            assert abs(after - before) <= before * 0.15 + 0.01
            assert action.undo is not None
    assert len(sandbox.writes()) == 3


def test_shift_budget_is_skipped_with_a_reason_without_the_curves_mart(lake: Lake,
                                                                       marts: list[tuple[object, ...]]) -> None:
    config = parse_rules({"rules": [{"name": "s", "kind": "shift_budget", "from_channel": "paid_social",
                                     "to_channel": "paid_search", "percent": 10, "min_marginal_roas_gap": 0.1}]})
    report = run_budget_actions(config=config, lake=lake, clients={})
    assert report.actions == []
    assert "fct_budget_response_curves does not exist" in report.skipped_rules["s"]


def test_undo_restores_the_previous_status_once_and_the_rule_does_not_apply_it_again(
        lake: Lake, sandbox: SandboxServer, marts: list[tuple[object, ...]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    bound, expensive = _threshold(marts, 1)
    config = parse_rules(_pause_rule(bound))
    action = run_budget_actions(apply=True, config=config, lake=lake, clients=_meta(sandbox)).actions[0]
    assert _status(sandbox, expensive[0]) == "PAUSED"
    monkeypatch.setenv("SOURCES__META_ADS__BASE_URL", sandbox.url_for("meta"))
    monkeypatch.setenv("SOURCES__META_ADS__ACCESS_TOKEN", meta.DEFAULT_TOKEN)

    assert main(["budget", "undo", action.action_id]) == 0  # dry run by default
    assert "would restore status=ACTIVE" in capsys.readouterr().out
    assert _status(sandbox, expensive[0]) == "PAUSED" and len(sandbox.writes()) == 1

    assert main(["budget", "undo", action.action_id, "--apply"]) == 0
    assert "restored status=ACTIVE" in capsys.readouterr().out
    assert _status(sandbox, expensive[0]) == "ACTIVE"
    writes = [(w.entity_id, w.old, w.new) for w in sandbox.writes("meta")]
    assert writes == [(expensive[0], "ACTIVE", "PAUSED"), (expensive[0], "PAUSED", "ACTIVE")]
    undone = [r for r in _audit(lake) if r["status"] == "undone"]
    assert len(undone) == 1 and json.loads(str(undone[0]["undo_json"]))["status"] == "PAUSED"

    # Undone once: a second undo sends nothing, and the rule (same evidence) does not pause it again.
    assert main(["budget", "undo", action.action_id, "--apply"]) == 0
    assert "already undone" in capsys.readouterr().out
    again = run_budget_actions(apply=True, config=config, lake=lake, clients=_meta(sandbox))
    assert [(a.status, a.reason) for a in again.actions] == [
        ("skipped", "undone by an operator (adlake budget undo): not applied again")]
    assert len(sandbox.writes()) == 2


def test_undo_of_a_budget_change_and_of_an_unknown_or_unapplied_action(lake: Lake, sandbox: SandboxServer,
                                                                       marts: list[tuple[object, ...]]) -> None:
    from flows.actions.undo import undo_action
    from pipelines.errors import AdlakeError

    bound, _ = _threshold(marts, 1)
    dry = run_budget_actions(config=parse_rules(_pause_rule(bound)), lake=lake, clients=_meta(sandbox))
    with pytest.raises(AdlakeError, match="was never applied"):
        undo_action(dry.actions[0].action_id, apply=True, lake=lake, clients=_meta(sandbox))
    with pytest.raises(AdlakeError, match="no budget action ffff"):
        undo_action("ffff", lake=lake)

    report = _shift(lake, sandbox, max_actions=1)
    applied = next(a for a in report.actions if a.status == "applied")
    assert len(sandbox.writes()) == 1
    before = applied.proposed["daily_budget_from"]
    outcome = undo_action(applied.action_id, apply=True, lake=lake, clients=_clients(sandbox))
    assert outcome.status == "undone"
    [first, second] = sandbox.writes()
    assert (second.entity_id, second.old, second.new) == (first.entity_id, first.new, first.old)
    assert str(before) in {str(outcome.restore.get("daily_budget")), str(outcome.restore.get("budget"))}

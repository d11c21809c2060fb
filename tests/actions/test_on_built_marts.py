"""End to end: the Meta source and dbt build the real mart, the rule fires on it, the action is applied."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from flows.actions.apply import budget_actions, run_budget_actions
from flows.actions.rules import parse_rules
from flows.transform import run_dbt
from pipelines.actions.clients import MetaWriteClient
from pipelines.errors import AdlakeError
from pipelines.lake import RAW, Lake
from pipelines.runner import run_source
from sandbox import meta
from sandbox.faults import FaultRule
from sandbox.server import SandboxServer
from tests.lakequery import query

DAYS = 14


def test_a_rule_on_the_dbt_built_mart_is_applied_through_the_flow(lake: Lake, meta_env: SandboxServer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    end = meta_env.clock.as_of
    run_source("meta_ads", lake, start_date=end - timedelta(days=DAYS - 1), end_date=end)
    run_dbt(["build", "--select", "+fct_ad_performance_daily"], lake)
    rows = query(lake, f"""
        select ad_group_id, sum(spend_reporting) / nullif(sum(conversions), 0) as cpa
        from marts.fct_ad_performance_daily
        where platform = 'meta_ads' and date_day > (select max(date_day) from marts.fct_ad_performance_daily)
              - interval {DAYS} day
        group by ad_group_id having sum(conversions) > 0 order by cpa desc""")
    (top, top_cpa), (_, second_cpa) = rows[0], rows[1]
    bound = float(top_cpa + second_cpa) / 2
    config = parse_rules({"rules": [{"name": "pause-expensive", "kind": "pause_when_cpa_above", "days": DAYS,
                                     "above": bound, "min_spend": 1, "platforms": ["meta_ads"]}]})
    rules = lake.settings.home / "rules.json"
    rules.write_text(json.dumps({"rules": [{"name": r.name, "kind": r.kind, **r.params,
                                            "platforms": list(r.platforms)} for r in config.rules]}))
    clients = {"meta_ads": MetaWriteClient(meta_env.url_for("meta"), meta.DEFAULT_TOKEN)}
    dry = run_budget_actions(config=config, lake=lake, clients=clients)
    firing = {a.ad_group_id for a in dry.actions}
    assert top in firing and all(a.status == "proposed" for a in dry.actions)
    assert meta_env.writes() == []
    # The Prefect flow, as the daily flow would call it after the build: a platform error fails the run at
    # the end, after every other action was tried and every outcome recorded.
    meta_env.faults.rules.append(FaultRule("meta", "auth_expired", path_pattern=rf"/{top}$", times=10))
    with pytest.raises(AdlakeError, match="budget action"):
        budget_actions(apply=True, rules_file=str(rules))
    statuses = {r["ad_group_id"]: r["status"] for r in lake.read(RAW, "_budget_actions").to_pylist()
                if r["status"] != "proposed"}
    assert statuses[top] == "failed"
    assert {g for g, s in statuses.items() if s == "applied"} == firing - {top}


def test_the_daily_flow_evaluates_the_rules_after_the_build_and_only_proposes(lake: Lake, meta_env: SandboxServer,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.daily import daily

    # A bound every Meta ad set that spent crosses (no conversion: an infinite CPA): each one is proposed,
    # none is sent.
    rules = lake.settings.home / "rules.json"
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text(json.dumps({"rules": [{"name": "pause-any", "kind": "pause_when_cpa_above", "days": 7,
                                            "above": 0.01, "platforms": ["meta_ads"]}]}))
    monkeypatch.setenv("ADLAKE_BUDGET_RULES", str(rules))
    end = meta_env.clock.as_of
    report = daily(sources=["meta_ads"], start=end - timedelta(days=6), end=end)
    assert report.dbt is not None and report.actions is not None and report.actions.dry_run
    spending = {r[0] for r in query(lake, """
        select ad_group_id from marts.fct_ad_performance_daily
        where platform = 'meta_ads' group by 1 having sum(spend) > 0""")}
    assert {a.ad_group_id for a in report.actions.actions} == spending and spending
    assert {a.status for a in report.actions.actions} == {"proposed"}
    assert meta_env.writes() == []
    audit = lake.read(RAW, "_budget_actions").to_pylist()
    assert sorted(r["ad_group_id"] for r in audit) == sorted(spending)

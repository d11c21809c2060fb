"""Attribution marts on real data, read from the session's full lake (tests/shared_lakes.py): the sandbox
world's last FULL_LAKE_DAYS days of pushed events go through a real receiver (``adlake serve-webhooks``, signed,
retried, some twice), the ad platforms, the networks' file drops, AppsFlyer and the CRM are pulled from the
sandbox, then the full ``dbt build``; the marts are read back from the lake's DuckDB file.

Expected paths are rebuilt here in Python from the touches and conversions of ``fct_touchpoints`` and
``fct_conversions`` (the marts the path builder reads, tested against the sandbox elsewhere) with the rules
of field notes 5.1; the true channel shares come from the sandbox's counterfactual runs
(``Journeys.incremental``) - never from the SQL under test.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml

from flows.score import DATA_DRIVEN, SANDBOX_CHANNELS, render_scores, score_lake
from pipelines.duck import connect_file
from pipelines.lake import Lake
from sandbox.world import World
from tests.conftest import REPO
from tests.shared_lakes import SharedLake

pytestmark = pytest.mark.slow
VARS = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
LOOKBACK = timedelta(days=VARS["attribution_lookback_days"])
MODELS = VARS["attribution_models"]


@dataclass
class Built:
    world: World
    lake: Lake
    credits: list[dict[str, Any]]
    touches: dict[str, dict[str, Any]]
    conversions: dict[str, dict[str, Any]]


def _read(lake: Lake, sql: str) -> list[dict[str, Any]]:
    con = connect_file(lake.settings.duckdb_path)
    try:
        con.execute("set TimeZone = 'UTC'")
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(full_lake: SharedLake) -> Built:
    """The session's full lake (every source of the world's last FULL_LAKE_DAYS days, built), read back."""
    lake = full_lake.lake
    return Built(
        full_lake.world, lake,
        credits=_read(lake, "select * from marts.fct_attribution_credits"),
        touches={r["touchpoint_id"]: r for r in _read(
            lake, "select touchpoint_id, person_key, channel, platform, has_journey_consent, touched_at "
                  "from marts.fct_touchpoints")},
        conversions={r["conversion_id"]: r for r in _read(
            lake, "select conversion_id, person_key, conversion_name, has_journey_consent, occurred_at, "
                  "value_reporting from marts.fct_conversions")},
    )


def _expected_paths(built: Built) -> dict[str, set[str]]:
    """conversion_id -> its path's touchpoint ids, by the rules of field notes 5.1, from the fct marts."""
    by_person: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for t in built.touches.values():
        if t["has_journey_consent"] and t["person_key"] is not None:
            by_person[t["person_key"]].append((t["touched_at"], t["touchpoint_id"]))
    paths = {}
    for c in built.conversions.values():
        if (c["conversion_name"] in VARS["attribution_conversion_names"] and c["has_journey_consent"]
                and c["person_key"] is not None):
            at = c["occurred_at"]
            touches = {tid for ts, tid in by_person[c["person_key"]] if at - LOOKBACK <= ts <= at}
            if touches:
                paths[c["conversion_id"]] = touches
    return paths


def test_each_conversion_gets_its_consented_touches_in_the_window_and_credits_summing_to_one(built: Built) -> None:
    expected = _expected_paths(built)
    credited: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in built.credits:
        credited[(row["conversion_id"], row["attribution_model"])].append(row)
    conversions = {c for c, _ in credited}
    lengths = [len(t) for t in expected.values()]
    named = sum(1 for c in built.conversions.values() if c["conversion_name"] in VARS["attribution_conversion_names"])
    print(f"\nconversions {named} of the attributed names, {len(expected)} with a consented path "
          f"(touches per path: mean {sum(lengths) / max(1, len(lengths)):.2f}, max {max(lengths, default=0)}); "
          f"credit rows {len(built.credits)}")
    assert expected, "no attributed conversion: the world's last days should convert"
    assert conversions == set(expected)
    worst = 0.0
    for conversion_id, touches in expected.items():
        conversion = built.conversions[conversion_id]
        value = float(conversion["value_reporting"] or 0)
        for model in MODELS:
            rows = credited[(conversion_id, model)]
            assert {r["touchpoint_id"] for r in rows} == touches, (conversion_id, model)
            total = sum(r["credit"] for r in rows)
            worst = max(worst, abs(total - 1))
            assert abs(total - 1) <= 1e-9, (conversion_id, model, total)
            assert abs(sum(r["credited_value"] for r in rows) - value) <= 1e-6 * max(1.0, value)
            assert all(r["credit"] >= -1e-12 for r in rows)
    print(f"largest |sum of credits - 1| over {len(expected)} conversions x {len(MODELS)} models: {worst:.2e}")


def test_no_credited_touch_is_after_its_conversion_outside_the_window_or_without_consent(built: Built) -> None:
    late = outside = denied = other_person = 0
    for row in built.credits:
        touch, conversion = built.touches[row["touchpoint_id"]], built.conversions[row["conversion_id"]]
        late += touch["touched_at"] > conversion["occurred_at"]
        outside += touch["touched_at"] < conversion["occurred_at"] - LOOKBACK
        denied += not (touch["has_journey_consent"] and conversion["has_journey_consent"])
        other_person += touch["person_key"] != conversion["person_key"]
    denied_touches = sum(1 for t in built.touches.values() if not t["has_journey_consent"])
    print(f"\ncredited touches after their conversion {late}, outside the lookback {outside}, without consent "
          f"{denied} (touches without consent in fct_touchpoints: {denied_touches}), of another person "
          f"{other_person}")
    assert denied_touches > 0
    assert late == outside == denied == other_person == 0


def test_the_reports_reconcile_with_the_credits_and_the_spend(built: Built) -> None:
    lake = built.lake
    totals = {(r["attribution_model"]): r for r in _read(lake, """
        select attribution_model, sum(credit) as conversions, sum(credited_value) as value,
               count(distinct conversion_id) as attributed
        from marts.fct_attribution_credits group by 1""")}
    channel = {r["attribution_model"]: r for r in _read(lake, """
        select attribution_model, sum(attributed_conversions) as conversions, sum(attributed_value) as value,
               sum(spend_reporting) as spend
        from marts.rpt_attribution_channel group by 1""")}
    spend = _read(lake, "select sum(spend_reporting) as spend from marts.rpt_channel_performance_daily")[0]["spend"]
    fact_spend = _read(lake, "select sum(spend_reporting) as spend from marts.fct_ad_performance_daily")[0]["spend"]
    comparison = _read(lake, "select * from marts.rpt_attribution_model_comparison")
    for model in MODELS:
        t, c = totals[model], channel[model]
        assert abs(t["conversions"] - t["attributed"]) <= 1e-6
        assert abs(c["conversions"] - t["attributed"]) <= 1e-6, model
        assert abs(c["value"] - t["value"]) <= 1e-6 * max(1.0, t["value"]), model
        assert c["spend"] == spend == fact_spend, model
        assert abs(sum(r[f"{model}_share"] for r in comparison) - 1) <= 1e-9, model
        assert abs(sum(r[f"{model}_conversions"] for r in comparison) - t["attributed"]) <= 1e-6, model
    print(f"\nper model: {totals['linear']['attributed']} attributed conversions, value "
          f"{totals['linear']['value']:.2f}, spend {spend} (= rpt_channel_performance_daily)")
    cpa = _read(lake, """
        select attribution_model, attribution_channel, sum(spend_reporting) / sum(attributed_conversions) as cpa
        from marts.rpt_attribution_channel where spend_reporting is not null
        group by 1, 2 having sum(attributed_conversions) > 0 order by 2, 1""")
    by_channel: dict[str, list[str]] = defaultdict(list)
    for r in cpa:
        by_channel[r["attribution_channel"]].append(f"{r['attribution_model']} {float(r['cpa']):.0f}")
    print("CPA (PLN) per paid channel and model: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in by_channel.items()))
    campaigns = _read(lake, """
        select count(distinct campaign_id) as campaigns, sum(attributed_conversions) as conversions
        from marts.rpt_attribution_campaign where attribution_model = 'linear'""")[0]
    print(f"rpt_attribution_campaign (linear): {campaigns['campaigns']} campaigns, "
          f"{campaigns['conversions']:.1f} conversions credited to touches that know their campaign")
    assert campaigns["campaigns"] > 0


def test_the_score_against_the_sandboxs_truth(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    from flows.cli import main

    scores, truth = score_lake(built.lake.settings.duckdb_path, built.world.journeys.incremental)
    table = render_scores(scores, truth)
    by_model = {s.model: s for s in scores}
    assert set(by_model) == set(MODELS)
    for s in scores:
        assert abs(sum(s.shares.values()) - 1) <= 1e-9 and 0 <= s.l1 <= 2
    assert set(truth) == set(SANDBOX_CHANNELS) and abs(sum(truth.values()) - 1) <= 1e-9

    assert main(["sandbox", "score", "--duckdb", str(built.lake.settings.duckdb_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == table.strip()
    with capsys.disabled():
        print("\n" + table)
        last = by_model["last_touch"]
        for model in DATA_DRIVEN:
            s = by_model[model]
            print(f"{model}: L1 {s.l1:.3f} vs last_touch {last.l1:.3f}; "
                  f"Spearman {s.spearman:.3f} vs {last.spearman:.3f}")

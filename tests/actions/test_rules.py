"""Bad budget rules are refused with one clear line before anything runs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.actions.apply import run_budget_actions
from flows.actions.rules import BudgetRulesError, load_rules, parse_rules
from flows.cli import main
from pipelines.errors import AdlakeError
from pipelines.lake import Lake

REPO = Path(__file__).resolve().parents[2]
GOOD: dict[str, Any] = {
    "limits": {"max_budget_change_pct": 20, "max_actions_per_run": 5},
    "rules": [
        {"name": "pause", "kind": "pause_when_cpa_above", "metric": "cpa", "days": 3, "above": 100.0},
        {"name": "shift", "kind": "shift_budget", "from_channel": "paid_social", "to_channel": "paid_search",
         "percent": 10, "min_marginal_roas_gap": 0.5},
        {"name": "pace", "kind": "alert_on_spend_pace", "over_percent": 25},
    ],
}


def test_the_shipped_example_is_valid() -> None:
    config = load_rules(REPO / "ops" / "budget_rules.yml")
    assert [r.kind for r in config.rules] == ["pause_when_cpa_above", "shift_budget", "alert_on_spend_pace"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["rules"][0].update(metric="ctr"), "rule 'pause': unknown metric 'ctr' (known: cpa, cpc, cpm)"),
    (lambda d: d["rules"][0].update(above=-5), "rule 'pause': above must not be negative, not -5 (negative bound)"),
    (lambda d: d["rules"][2].update(over_percent=-1), "over_percent must not be negative"),
    (lambda d: d["rules"][1].update(percent=30), "percent 30 is over the per-run cap limits.max_budget_change_pct=20"),
    (lambda d: d["rules"].append({**d["rules"][1], "name": "shift2", "percent": 15}),
     "shift_budget rules move 25 % out of paid_social in one run, over the per-run cap"),
    (lambda d: d["rules"][0].update(kind="pause_everything"), "unknown rule kind 'pause_everything'"),
    (lambda d: d["rules"][0].update(days=0), "days must be positive"),
    (lambda d: d["rules"][0].pop("above"), "missing 'above'"),
    (lambda d: d["rules"][0].update(treshold=3), "unknown key 'treshold'"),
    (lambda d: d["rules"][1].update(to_channel="tv"), "unknown to_channel 'tv'"),
    (lambda d: d["rules"][2].update(name="pause"), "rule name 'pause' is used twice"),
    (lambda d: d["limits"].update(max_budget_change_pct=-10), "max_budget_change_pct must not be negative"),
    (lambda d: d["rules"][0].update(platforms=["myspace"]), "unknown platform 'myspace'"),
])
def test_each_bad_config_names_its_problem(change: Any, message: str) -> None:
    document = copy.deepcopy(GOOD)
    change(document)
    with pytest.raises(BudgetRulesError) as caught:
        parse_rules(document)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


_BAD_VALUES = st.one_of(st.floats(max_value=-1e-9, allow_nan=False), st.integers(max_value=-1), st.text(max_size=5),
                        st.none(), st.booleans(), st.just(float("nan")), st.just(float("inf")))
_NUMERIC_KEYS = [(0, "above"), (0, "days"), (0, "min_spend"), (1, "percent"), (1, "min_marginal_roas_gap"),
                 (1, "days"), (2, "over_percent"), (2, "days")]


@given(st.sampled_from(_NUMERIC_KEYS), _BAD_VALUES)
def test_any_bad_bound_is_a_budget_rules_error(where: tuple[int, str], value: Any) -> None:
    document = copy.deepcopy(GOOD)
    document["rules"][where[0]][where[1]] = value
    with pytest.raises(BudgetRulesError):
        parse_rules(document)


@given(st.text(min_size=1, max_size=20).filter(lambda k: k not in ("pause_when_cpa_above", "shift_budget",
                                                                   "alert_on_spend_pace")),
       st.text(max_size=8).filter(lambda m: m not in ("cpa", "cpc", "cpm")))
def test_unknown_kinds_and_metrics_are_refused(kind: str, metric: str) -> None:
    for change in ({"kind": kind}, {"metric": metric}):
        document = copy.deepcopy(GOOD)
        document["rules"][0].update(change)
        with pytest.raises(BudgetRulesError):
            parse_rules(document)


@given(st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=5), st.integers(min_value=1, max_value=60))
def test_shifts_over_the_cap_in_total_are_refused(percents: list[int], cap: int) -> None:
    rules = [{"name": f"s{i}", "kind": "shift_budget", "from_channel": "paid_social", "to_channel": "paid_search",
              "percent": p, "min_marginal_roas_gap": 0} for i, p in enumerate(percents)]
    document = {"limits": {"max_budget_change_pct": cap}, "rules": rules}
    if max(percents) <= cap and sum(percents) <= cap:
        assert len(parse_rules(document).rules) == len(percents)
    else:
        with pytest.raises(BudgetRulesError, match="per-run cap"):
            parse_rules(document)


def test_a_bad_file_stops_the_run_before_anything_is_read(lake: Lake, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n  - name: x\n    kind: pause_when_cpa_above\n    above: -3\n")
    # No DuckDB file and no catalog exist yet: the rules error must come first.
    with pytest.raises(BudgetRulesError, match="negative bound"):
        run_budget_actions(rules_file=rules, lake=lake)
    assert not lake.settings.home.exists()
    assert main(["budget", "apply", "--rules", str(rules)]) == 1
    assert capsys.readouterr().err.strip() == ("adlake: error: " + str(rules) + ": rule 'x': above must not be "
                                               "negative, not -3 (negative bound)")
    rules.write_text("rules: [")
    with pytest.raises(AdlakeError, match="not valid YAML"):
        load_rules(rules)

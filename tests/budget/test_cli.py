"""``adlake budget plan`` over a DuckDB file holding the budget marts' columns."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from budget.plan import Settings, plan
from flows.budget_plan import budget_plan, render_plan
from flows.cli import build_parser, main
from pipelines.errors import AdlakeError
from tests.budget.test_plan import _rows


@pytest.fixture
def lake_file(tmp_path: Path) -> Path:
    """marts.fct_budget_response_curves and marts.rpt_budget_recommendations as the marts name their columns."""
    curves, recs, _ = plan(_rows(), Settings())
    path = tmp_path / "lake.duckdb"
    con = duckdb.connect(str(path))
    con.register("curves", curves)
    con.register("recs", recs)
    con.execute("create schema marts")
    con.execute("""
        create table marts.fct_budget_response_curves as select
            attribution_channel, 'markov' as attribution_model, 'PLN' as reporting_currency, response_metric,
            status, reason, beta, half_saturation as half_saturation_spend_reporting, shape, decay as adstock_decay,
            spend_max as observed_max_spend_reporting, adstock_max as observed_max_adstock_reporting,
            current_spend as current_spend_reporting
        from curves""")
    con.execute("""
        create table marts.rpt_budget_recommendations as select
            attribution_channel, 'markov' as attribution_model, mode as budget_mode, target as budget_target,
            binding_constraint, reason, 'PLN' as reporting_currency, current_spend as current_spend_reporting,
            recommended_spend as recommended_spend_reporting, expected_value_change as expected_value_change_reporting,
            expected_conversions_change
        from recs""")
    con.close()
    return path


def test_plan_prints_the_built_table(lake_file: Path, capsys: pytest.CaptureFixture[str]):
    rows = budget_plan(lake_file)
    assert len(rows) == 3 and {r["mode"] for r in rows} == {"max_value"}
    assert sum(r["recommended_spend"] for r in rows) == pytest.approx(sum(r["current_spend"] for r in rows))
    console = Console(width=250, record=True)
    render_plan(rows, console)
    text = console.export_text()
    assert "budget plan (max_value)" in text and "total" in text and "attributed, not experimentally" in text
    assert "paid_social:tiktok_ads" in text and "not_fitted" in text


def test_plan_recomputes_in_another_mode(lake_file: Path):
    rows = budget_plan(lake_file, mode="cap_cpa", target=25.0,
                       budget_vars={"down": 0.3, "up": 0.3, "max_extrapolation": 1.5, "step_share": 0.001})
    assert {r["mode"] for r in rows} == {"cap_cpa"} and {r["target"] for r in rows} == {25.0}
    assert sum(r["recommended_spend"] for r in rows) <= sum(r["current_spend"] for r in rows) + 1e-9
    assert "coefficient of variation" in next(r for r in rows if r["attribution_channel"] == "paid_social:tiktok_ads")[
        "reason"]
    same = budget_plan(lake_file, mode="max_value", budget_vars={})
    built = budget_plan(lake_file)
    assert [r["recommended_spend"] for r in same] == pytest.approx([r["recommended_spend"] for r in built])


def test_plan_errors(lake_file: Path, tmp_path: Path):
    with pytest.raises(AdlakeError, match="positive --target"):
        budget_plan(lake_file, mode="target_roas")
    with pytest.raises(AdlakeError, match="--target needs"):
        budget_plan(lake_file, target=2.0)
    with pytest.raises(AdlakeError, match="no DuckDB file"):
        budget_plan(tmp_path / "missing.duckdb")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(AdlakeError, match="run `dbt build`"):
        budget_plan(empty)


def test_cli_parses_the_budget_group(lake_file: Path, capsys: pytest.CaptureFixture[str]):
    args = build_parser().parse_args(["budget", "plan", "--mode", "target_roas", "--target", "2.5"])
    assert (args.command, args.budget_command, args.mode, args.target) == ("budget", "plan", "target_roas", 2.5)
    assert main(["budget", "plan", "--duckdb", str(lake_file)]) == 0
    assert "paid_search:google_ads" in capsys.readouterr().out
    assert main(["budget", "plan", "--duckdb", str(lake_file), "--mode", "cap_cpa"]) == 1
    assert "positive --target" in capsys.readouterr().err

"""``adlake budget plan``: the budget recommendations from the lake's DuckDB file.

Without ``--mode`` it prints ``marts.rpt_budget_recommendations`` as the last ``dbt build`` made it. With
``--mode`` (and ``--target``) it recomputes the allocation from the fitted curves of
``marts.fct_budget_response_curves`` with the same library (``budget.plan``) and the project's ``budget_*`` vars
for the bounds, without a build.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from budget import VALUE_BASIS
from pipelines.errors import AdlakeError

RECOMMENDATIONS_SQL = """
select
    attribution_channel, attribution_model, budget_mode as mode, budget_target as target, binding_constraint, reason,
    reporting_currency, current_spend_reporting as current_spend, recommended_spend_reporting as recommended_spend,
    expected_value_change_reporting as expected_value_change, expected_conversions_change
from marts.rpt_budget_recommendations
order by attribution_channel
"""

CURVES_SQL = """
select
    attribution_channel, attribution_model, reporting_currency, response_metric, status, reason,
    beta, half_saturation_spend_reporting as half_saturation, shape, adstock_decay as decay,
    observed_max_spend_reporting as spend_max, observed_max_adstock_reporting as adstock_max,
    current_spend_reporting as current_spend
from marts.fct_budget_response_curves
order by attribution_channel, response_metric
"""

BOUND_VARS = ("down", "up", "max_extrapolation", "step_share")


def project_budget_vars(project: Path | None = None) -> dict[str, Any]:
    """The ``budget_*`` vars of the dbt project (without the prefix)."""
    import yaml

    from flows.transform import project_dir

    path = (project or project_dir()) / "dbt_project.yml"
    values = yaml.safe_load(path.read_text()).get("vars", {})
    return {k.removeprefix("budget_"): v for k, v in values.items() if k.startswith("budget_")}


def _query(duckdb_path: Path, sql: str) -> list[dict[str, Any]]:
    import duckdb

    from pipelines.duck import connect_file

    con = connect_file(duckdb_path)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.CatalogException as exc:
        raise AdlakeError(f"the budget marts are not in {duckdb_path}: run `dbt build` (or `adlake run`) "
                          "first") from exc
    finally:
        con.close()


def budget_plan(duckdb_path: Path, mode: str | None = None, target: float | None = None,
                budget_vars: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per channel: current and recommended daily spend, expected daily changes, constraint, reason."""
    from budget.allocate import MODES

    if mode is None:
        if target is not None:
            raise AdlakeError("--target needs --mode target_roas or --mode cap_cpa")
        return _query(duckdb_path, RECOMMENDATIONS_SQL)
    if mode not in MODES:
        raise AdlakeError(f"unknown --mode {mode!r}: use one of {', '.join(MODES)}")
    if mode != "max_value" and (target is None or target <= 0):
        raise AdlakeError(f"--mode {mode} needs a positive --target ("
                          f"{'the ROAS to keep' if mode == 'target_roas' else 'the CPA cap'})")
    import pyarrow as pa

    from budget.plan import CURVES_SCHEMA, Settings, recommendations

    curves = _query(duckdb_path, CURVES_SQL)
    if not curves:
        return []
    table = pa.Table.from_pylist([{k: r.get(k) for k in CURVES_SCHEMA.names} for r in curves], schema=CURVES_SCHEMA)
    bounds = {k: v for k, v in (budget_vars if budget_vars is not None else project_budget_vars()).items()
              if k in BOUND_VARS}
    settings = Settings.from_mapping({**bounds, "mode": mode, "target": target if mode != "max_value" else None})
    shared = {k: curves[0][k] for k in ("attribution_model", "reporting_currency")}
    return [{**shared, **row} for row in recommendations(table, settings).to_pylist()]


def render_plan(rows: list[dict[str, Any]], console: Console | None = None) -> None:
    """Print the recommendations with a total row (daily amounts)."""
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)
    if not rows:
        console.print("no budget recommendations: no paid channel with spend in the lake")
        return
    first = rows[0]
    target = f", target {first['target']:g}" if first.get("target") is not None else ""
    table = Table(title=f"adlake · budget plan ({first['mode']}{target}) · daily, {first['reporting_currency']} · "
                        f"curves on {first['attribution_model']} attribution")
    for header in ("channel", "current", "recommended", "change", "Δ conversions", "Δ value", "constraint", "reason"):
        table.add_column(header, justify="left" if header in ("channel", "constraint", "reason") else "right")
    for r in rows:
        change = (r["recommended_spend"] / r["current_spend"] - 1) if r["current_spend"] else None
        table.add_row(r["attribution_channel"], f"{r['current_spend']:,.2f}", f"{r['recommended_spend']:,.2f}",
                      "-" if change is None else f"{change:+.0%}", _signed(r["expected_conversions_change"], 2),
                      _signed(r["expected_value_change"], 2), r["binding_constraint"], r["reason"])
    current = sum(r["current_spend"] for r in rows)
    recommended = sum(r["recommended_spend"] for r in rows)
    table.add_row("total", f"{current:,.2f}", f"{recommended:,.2f}",
                  f"{recommended / current - 1:+.0%}" if current else "-",
                  _signed(sum(r["expected_conversions_change"] or 0.0 for r in rows), 2),
                  _signed(sum(r["expected_value_change"] or 0.0 for r in rows), 2), "", "", end_section=True)
    console.print(table)
    console.print(f"Values are {VALUE_BASIS}: steady-state daily changes predicted by the fitted curves.")


def _signed(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:+,.{digits}f}"

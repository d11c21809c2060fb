"""Response curves per paid channel and metric (attributed value, attributed conversions) with their backtest.

A dbt Python model (dbt-duckdb runs it in the dbt process): it reads ``rpt_attribution_channel`` as Arrow,
keeps the rows of var ``budget_attribution_model`` for channels with spend, takes their response from
``fct_attribution_credits`` by the day of the credited touch (the day the spend bought it:
``budget.plan.touch_day_rows``), and calls ``budget.plan.response_curves`` (the library ``adlake budget plan`` uses
too). Python models cannot call ``var()``: the vars reach it through the model's config (``_budget__models.yml``),
read with ``dbt.config.get``.
Grain: one row per attribution channel and response metric.
"""

from typing import Any

import pyarrow as pa


def model(dbt: Any, session: Any) -> pa.Table:
    from budget.plan import attribution_rows, daily_series, response_curves, settings_from_config, touch_day_rows

    dbt.config(materialized="table")
    # dbt hands a Python model only the config keys it reads with a literal `dbt.config.get("...")` (it parses the
    # file for them): the library's loop over names would read none and silently keep its defaults.
    config = {
        "budget_min_days": dbt.config.get("budget_min_days"),
        "budget_min_spend_cv": dbt.config.get("budget_min_spend_cv"),
        "budget_min_r2": dbt.config.get("budget_min_r2"),
        "budget_current_days": dbt.config.get("budget_current_days"),
        "budget_holdout_days": dbt.config.get("budget_holdout_days"),
        "budget_immature_days": dbt.config.get("budget_immature_days"),
    }
    settings = settings_from_config(config.get)
    attribution_model = str(dbt.config.get("budget_attribution_model"))
    report = dbt.ref("rpt_attribution_channel").to_arrow_table()
    credits = dbt.ref("fct_attribution_credits")
    if hasattr(credits, "project"):  # a DuckDB relation: only the columns needed reach Arrow
        credits = credits.project("attribution_model, attribution_channel, touch_date, credit, credited_value")
    rows = touch_day_rows(attribution_rows(report, attribution_model), credits.to_arrow_table(), attribution_model)
    return response_curves(daily_series(rows), settings)

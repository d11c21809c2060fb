"""Response curves per paid channel and metric (attributed value, attributed conversions) with their backtest.

A dbt Python model (dbt-duckdb runs it in the dbt process): it reads ``rpt_attribution_channel`` as Arrow,
keeps the rows of var ``budget_attribution_model`` for channels with spend, and calls
``budget.plan.response_curves`` (the library ``adlake budget plan`` uses too). Python models cannot call
``var()``: the vars reach it through the model's config (``_budget__models.yml``), read with ``dbt.config.get``.
Grain: one row per attribution channel and response metric.
"""

from typing import Any

import pyarrow as pa


def model(dbt: Any, session: Any) -> pa.Table:
    from budget.plan import attribution_rows, daily_series, response_curves, settings_from_config

    dbt.config(materialized="table")
    settings = settings_from_config(dbt.config.get)
    report = dbt.ref("rpt_attribution_channel").to_arrow_table()
    rows = attribution_rows(report, str(dbt.config.get("budget_attribution_model")))
    return response_curves(daily_series(rows), settings)

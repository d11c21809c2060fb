"""Response curves per paid campaign and metric, as int_budget__response_curves does per channel.

A dbt Python model: the campaign-days of ``rpt_attribution_campaign`` under var ``budget_attribution_model``
keyed ``<platform>:<campaign_id>`` (``budget.plan.campaign_rows``), their response taken from
``fct_attribution_credits`` by the day of the credited touch (``campaign_credits``, ``touch_day_rows``), then
``budget.plan.response_curves`` with the same guards, so a campaign without enough days, spend variation or fit
gets a status and reason instead of a curve. Grain: one row per platform, campaign and response metric.
"""

from typing import Any

import pyarrow as pa


def model(dbt: Any, session: Any) -> pa.Table:
    from budget.plan import (
        campaign_credits,
        campaign_rows,
        daily_series,
        response_curves,
        settings_from_config,
        touch_day_rows,
    )

    dbt.config(materialized="table")
    # Only keys read with a literal `dbt.config.get("...")` reach a Python model (see int_budget__response_curves).
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
    report = dbt.ref("rpt_attribution_campaign").to_arrow_table()
    credits = dbt.ref("fct_attribution_credits")
    if hasattr(credits, "project"):  # a DuckDB relation: only the columns needed reach Arrow
        credits = credits.project("attribution_model, attribution_channel, platform, campaign_id, touch_date, "
                                  "credit, credited_value")
    rows = touch_day_rows(campaign_rows(report, attribution_model), campaign_credits(credits.to_arrow_table()),
                          attribution_model)
    return response_curves(daily_series(rows), settings)

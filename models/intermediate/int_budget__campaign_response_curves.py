"""Response curves per paid campaign and metric, as int_budget__response_curves does per channel.

A dbt Python model: ``rpt_attribution_campaign`` rows of var ``budget_attribution_model`` keyed
``<platform>:<campaign_id>`` (``budget.plan.campaign_rows``), then ``budget.plan.response_curves`` with the
same guards, so a campaign without enough days, spend variation or fit gets a status and reason instead of a
curve. Grain: one row per platform, campaign and response metric.
"""

from typing import Any

import pyarrow as pa


def model(dbt: Any, session: Any) -> pa.Table:
    from budget.plan import campaign_rows, daily_series, response_curves, settings_from_config

    dbt.config(materialized="table")
    settings = settings_from_config(dbt.config.get)
    report = dbt.ref("rpt_attribution_campaign").to_arrow_table()
    rows = campaign_rows(report, str(dbt.config.get("budget_attribution_model")))
    return response_curves(daily_series(rows), settings)

"""The recommended daily spend per channel (greedy on marginal return within bounds; var ``budget_mode``).

A dbt Python model calling ``budget.plan.recommendations`` on the curves of int_budget__response_curves; the
vars come through the model's config (``_budget__models.yml``). Grain: one row per attribution channel.
"""

from typing import Any

import pyarrow as pa


def model(dbt: Any, session: Any) -> pa.Table:
    from budget.plan import recommendations, settings_from_config

    dbt.config(materialized="table")
    # dbt hands a Python model only the config keys it reads with a literal `dbt.config.get("...")` (it parses the
    # file for them): the library's loop over names would read none and silently keep its defaults.
    config = {
        "budget_mode": dbt.config.get("budget_mode"),
        "budget_target": dbt.config.get("budget_target"),
        "budget_down": dbt.config.get("budget_down"),
        "budget_up": dbt.config.get("budget_up"),
        "budget_max_extrapolation": dbt.config.get("budget_max_extrapolation"),
        "budget_step_share": dbt.config.get("budget_step_share"),
    }
    curves = dbt.ref("int_budget__response_curves").to_arrow_table()
    return recommendations(curves, settings_from_config(config.get))

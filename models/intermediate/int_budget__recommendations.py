"""The recommended daily spend per channel (greedy on marginal return within bounds; var ``budget_mode``).

A dbt Python model calling ``budget.plan.recommendations`` on the curves of int_budget__response_curves; the
vars come through the model's config (``_budget__models.yml``). Grain: one row per attribution channel.
"""

from typing import Any

import pyarrow as pa


def model(dbt: Any, session: Any) -> pa.Table:
    from budget.plan import recommendations, settings_from_config

    dbt.config(materialized="table")
    curves = dbt.ref("int_budget__response_curves").to_arrow_table()
    return recommendations(curves, settings_from_config(dbt.config.get))

"""Daily forecasts per fitted channel and metric under the current and the recommended daily spend.

A dbt Python model calling ``budget.plan.forecasts`` on int_budget__response_curves and
int_budget__recommendations; the vars come through the model's config (``_budget__models.yml``). Grain: one row
per attribution channel, response metric, scenario and horizon day.
"""

from typing import Any

import pyarrow as pa


def model(dbt: Any, session: Any) -> pa.Table:
    from budget.plan import forecasts, settings_from_config

    dbt.config(materialized="table")
    curves = dbt.ref("int_budget__response_curves").to_arrow_table()
    recommended = dbt.ref("int_budget__recommendations").to_arrow_table()
    # dbt hands a Python model only the config keys it reads with a literal `dbt.config.get("...")` (it parses the
    # file for them): the library's loop over names would read none and silently keep its defaults.
    config = {
        "budget_horizon_days": dbt.config.get("budget_horizon_days"),
    }
    return forecasts(curves, recommended, settings_from_config(config.get))

"""The dbt Python models int_budget__* as plain Python (dbt unit tests cannot run Python models): vars rendered
into their config as text, rpt_attribution_channel rows of several models, an empty lake."""

from __future__ import annotations

import importlib.util
import re
from datetime import date, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from budget.curves import Curve
from budget.plan import CURVES_SCHEMA, FORECAST_SCHEMA, RECOMMENDATIONS_SCHEMA
from tests.conftest import REPO

# What `"{{ var(...) }}"` renders to in the YAML config: text.
CONFIG = {"budget_attribution_model": "markov", "budget_min_days": "21", "budget_min_spend_cv": "0.1",
          "budget_min_r2": "0.0", "budget_current_days": "7", "budget_holdout_days": "7", "budget_mode": "max_value",
          "budget_target": "None", "budget_down": "0.3", "budget_up": "0.3", "budget_max_extrapolation": "1.5",
          "budget_step_share": "0.001", "budget_horizon_days": "28", "budget_immature_days": "7"}
IMMATURE = 7


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "models" / "intermediate" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Relation:
    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def to_arrow_table(self) -> pa.Table:
        return self.table


class _Config(dict):
    def __call__(self, **kwargs: Any) -> None:
        pass

    def get(self, key: str, default: Any = None) -> Any:  # dbt's config.get
        return super().get(key, default)


class _Dbt:
    def __init__(self, refs: dict[str, pa.Table]) -> None:
        self.refs = refs
        self.config = _Config(CONFIG)

    def ref(self, name: str) -> _Relation:
        return _Relation(self.refs[name])


def _report(days: int = 40) -> pa.Table:
    """rpt_attribution_channel rows: two models, a paid channel, an unpaid one (no spend)."""
    rng = np.random.default_rng(7)
    curve = Curve(3000.0, 800.0, 1.2, 0.3)
    spend = 800.0 * np.exp(rng.normal(0, 0.4, days))
    value = curve.predict(spend)
    rows = []
    for model, scale in (("markov", 1.0), ("last_touch", 2.0)):
        for i in range(days):
            day = date(2026, 10, 1) + timedelta(days=i)
            rows.append({"attribution_model": model, "attribution_channel": "paid_search:google_ads", "date_day": day,
                         "spend_reporting": Decimal(f"{spend[i]:.6f}"), "attributed_conversions": value[i] / 50 * scale,
                         "attributed_value": value[i] * scale})
            rows.append({"attribution_model": model, "attribution_channel": "email", "date_day": day,
                         "spend_reporting": None, "attributed_conversions": 3.0, "attributed_value": 90.0})
        for i in range(1, 11):  # spend loaded further back than the journeys: nothing attributed on those days
            rows.append({"attribution_model": model, "attribution_channel": "paid_search:google_ads",
                         "date_day": date(2026, 10, 1) - timedelta(days=i), "spend_reporting": Decimal("500"),
                         "attributed_conversions": 0.0, "attributed_value": 0.0})
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("attribution_model", pa.string()), ("attribution_channel", pa.string()), ("date_day", pa.date32()),
        ("spend_reporting", pa.decimal128(18, 6)), ("attributed_conversions", pa.float64()),
        ("attributed_value", pa.float64())]))


def _credits(report: pa.Table) -> pa.Table:
    """fct_attribution_credits rows whose touches earned each report day's credit on that day."""
    return pa.table({"attribution_model": report["attribution_model"],
                     "attribution_channel": report["attribution_channel"], "touch_date": report["date_day"],
                     "credit": report["attributed_conversions"], "credited_value": report["attributed_value"]})


def _refs(report: pa.Table) -> dict[str, pa.Table]:
    # The series runs IMMATURE days past the fitted ones: those are left out (their touches are still converting).
    return {"rpt_attribution_channel": report, "fct_attribution_credits": _credits(report)}


def test_models_chain_on_the_chosen_attribution_model():
    curves = _module("int_budget__response_curves").model(_Dbt(_refs(_report(40 + IMMATURE))), None)
    assert curves.schema.equals(CURVES_SCHEMA)
    assert sorted(set(curves["attribution_channel"].to_pylist())) == ["paid_search:google_ads"]  # email: no spend
    value = next(r for r in curves.to_pylist() if r["response_metric"] == "value")
    assert value["status"] == "fitted" and value["r2"] > 0.99
    assert value["n_days"] == 40 and value["first_date"] == date(2026, 10, 1)  # the spend-only days are left out
    assert value["spend_max"] >= value["adstock_max"] >= value["adstock_min"] >= value["spend_min"]
    assert value["beta"] == pytest.approx(3000.0, rel=0.1)  # markov's rows, not last_touch's doubled ones
    recs = _module("int_budget__recommendations").model(_Dbt({"int_budget__response_curves": curves}), None)
    assert recs.schema.equals(RECOMMENDATIONS_SCHEMA) and recs.num_rows == 1
    assert recs["recommended_spend"][0].as_py() == pytest.approx(recs["current_spend"][0].as_py())  # one channel
    forecast = _module("int_budget__forecast").model(
        _Dbt({"int_budget__response_curves": curves, "int_budget__recommendations": recs}), None)
    assert forecast.schema.equals(FORECAST_SCHEMA) and forecast.num_rows == 2 * 2 * 28


def test_an_empty_lake_gives_empty_tables_with_the_schemas():
    empty = _report().slice(0, 0)
    curves = _module("int_budget__response_curves").model(_Dbt(_refs(empty)), None)
    recs = _module("int_budget__recommendations").model(_Dbt({"int_budget__response_curves": curves}), None)
    forecast = _module("int_budget__forecast").model(
        _Dbt({"int_budget__response_curves": curves, "int_budget__recommendations": recs}), None)
    assert curves.num_rows == recs.num_rows == forecast.num_rows == 0
    assert forecast.schema.equals(FORECAST_SCHEMA)


def test_python_models_have_no_jinja():
    # dbt renders .py models through Jinja: a `{{` would be templated (DECISIONLOG, attribution).
    for name in ("int_budget__response_curves", "int_budget__campaign_response_curves", "int_budget__recommendations",
                 "int_budget__forecast"):
        assert "{{" not in (REPO / "models" / "intermediate" / f"{name}.py").read_text()


@pytest.mark.parametrize("name", ["int_budget__response_curves", "int_budget__campaign_response_curves",
                                  "int_budget__recommendations", "int_budget__forecast"])
def test_every_configured_var_is_read_with_a_literal_config_get(name: str) -> None:
    """dbt passes a Python model only the config keys it finds in literal ``dbt.config.get("...")`` calls; a key read
    any other way is None in the build and its var silently ignored."""
    import yaml

    models = yaml.safe_load((REPO / "models" / "intermediate" / "_budget__models.yml").read_text())["models"]
    config = next(m for m in models if m["name"] == name)["config"]
    source = (REPO / "models" / "intermediate" / f"{name}.py").read_text()
    for key in (k for k in config if k.startswith("budget_")):
        assert f'dbt.config.get("{key}")' in source, key
    # And the other way round: a key the model reads that its YAML never sets is None, its var ignored.
    read = set(re.findall(r'dbt\.config\.get\("(budget_[a-z_]+)"\)', source))
    assert read <= set(config), sorted(read - set(config))

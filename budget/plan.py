"""From daily attributed rows to curves, recommendations and forecasts as Arrow tables.

The glue the dbt Python models (``models/marts/budget``) and ``adlake budget plan`` share. Input rows: one per
channel and day with ``attribution_channel``, ``date_day``, ``spend``, ``attributed_conversions`` and
``attributed_value`` (``rpt_attribution_channel`` for one attribution model). Days a channel has no row count
as no spend and no response, over the whole span of days in the input.
"""

from __future__ import annotations

import ast
import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from budget import VALUE_BASIS
from budget.adstock import geometric_adstock
from budget.allocate import ChannelInput, allocate
from budget.curves import Curve, fit_curve
from budget.forecast import backtest, forecast

METRICS = ("value", "conversions")

CURVES_SCHEMA = pa.schema([
    ("attribution_channel", pa.string()),
    ("response_metric", pa.string()),
    ("status", pa.string()),
    ("reason", pa.string()),
    ("value_basis", pa.string()),
    ("n_days", pa.int32()),
    ("first_date", pa.date32()),
    ("last_date", pa.date32()),
    ("spend_min", pa.float64()),
    ("spend_max", pa.float64()),
    ("spend_mean", pa.float64()),
    ("spend_cv", pa.float64()),
    ("adstock_min", pa.float64()),
    ("adstock_max", pa.float64()),
    ("current_spend", pa.float64()),
    ("beta", pa.float64()),
    ("half_saturation", pa.float64()),
    ("shape", pa.float64()),
    ("decay", pa.float64()),
    ("r2", pa.float64()),
    ("residual_sd", pa.float64()),
    ("last_adstock", pa.float64()),
    ("response_at_current", pa.float64()),
    ("marginal_return_at_current", pa.float64()),
    ("backtest_status", pa.string()),
    ("backtest_holdout_days", pa.int32()),
    ("backtest_mape", pa.float64()),
    ("backtest_wape", pa.float64()),
])

RECOMMENDATIONS_SCHEMA = pa.schema([
    ("attribution_channel", pa.string()),
    ("mode", pa.string()),
    ("target", pa.float64()),
    ("binding_constraint", pa.string()),
    ("reason", pa.string()),
    ("value_basis", pa.string()),
    ("current_spend", pa.float64()),
    ("recommended_spend", pa.float64()),
    ("lower_bound", pa.float64()),
    ("upper_bound", pa.float64()),
    ("current_value", pa.float64()),
    ("recommended_value", pa.float64()),
    ("expected_value_change", pa.float64()),
    ("current_conversions", pa.float64()),
    ("recommended_conversions", pa.float64()),
    ("expected_conversions_change", pa.float64()),
    ("marginal_roas", pa.float64()),
    ("marginal_cpa", pa.float64()),
])

FORECAST_SCHEMA = pa.schema([
    ("attribution_channel", pa.string()),
    ("response_metric", pa.string()),
    ("scenario", pa.string()),
    ("horizon_day", pa.int32()),
    ("forecast_date", pa.date32()),
    ("spend", pa.float64()),
    ("predicted", pa.float64()),
    ("predicted_low", pa.float64()),
    ("predicted_high", pa.float64()),
    ("cumulative_spend", pa.float64()),
    ("cumulative_predicted", pa.float64()),
    ("cumulative_low", pa.float64()),
    ("cumulative_high", pa.float64()),
])


@dataclass(frozen=True)
class Settings:
    """The knobs (the dbt vars ``budget_*`` carry them)."""

    min_days: int = 21
    min_spend_cv: float = 0.1
    min_r2: float = 0.3
    current_days: int = 7
    down: float = 0.3
    up: float = 0.3
    max_extrapolation: float = 1.5
    step_share: float = 0.001
    mode: str = "max_value"
    target: float | None = None
    holdout_days: int = 7
    horizon_days: int = 28
    immature_days: int = 0  # the dbt models set 7 (var budget_immature_days): their response is by touch day

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from a mapping, ignoring unknown keys and ``None`` values (the defaults stay)."""
        known = {f.name: f.type for f in fields(cls)}
        out = {}
        for key, value in values.items():
            if key in known and value is not None:
                out[key] = value if key in ("mode",) else (int(value) if known[key] == "int" else float(value))
        return cls(**out)


def settings_from_config(get: Callable[[str], Any]) -> Settings:
    """Settings from a dbt Python model's config (``dbt.config.get``): keys ``budget_<field>``, rendered from
    ``var()`` in the model's YAML, so numbers may come as their text and ``null`` as ``None`` or ``'None'``."""
    values = {}
    for f in fields(Settings):
        value = get(f"budget_{f.name}")
        if isinstance(value, str):
            with contextlib.suppress(ValueError, SyntaxError):
                value = ast.literal_eval(value)
        values[f.name] = None if value in ("None", "none", "null", "") else value
    return Settings.from_mapping(values)


def attribution_rows(report: pa.Table, attribution_model: str) -> pa.Table:
    """The paid channel-days of one attribution model from ``rpt_attribution_channel`` rows, in the input
    columns of :func:`daily_series` (spend in the reporting currency, as double).

    Only the days from the first to the last with anything attributed (any channel) count: spend reported for days
    whose touches and conversions are not in the lake (a source loaded further back than the journeys) would read
    as spend without response.
    """
    rows = report.filter(pc.equal(report["attribution_model"], attribution_model))
    credited = rows.filter(pc.greater(pc.fill_null(rows["attributed_conversions"].cast(pa.float64()), 0.0), 0.0))
    if credited.num_rows == 0:
        rows = rows.slice(0, 0)
    else:
        span = pc.min_max(credited["date_day"])
        rows = rows.filter(pc.and_(pc.greater_equal(rows["date_day"], span["min"]),
                                   pc.less_equal(rows["date_day"], span["max"])))
    paid = pc.unique(rows.filter(pc.greater(rows["spend_reporting"].cast(pa.float64()), 0.0))["attribution_channel"])
    rows = rows.filter(pc.is_in(rows["attribution_channel"], value_set=paid))
    return pa.table({
        "attribution_channel": rows["attribution_channel"].cast(pa.string()),
        "date_day": rows["date_day"].cast(pa.date32()),
        "spend": pc.fill_null(rows["spend_reporting"].cast(pa.float64()), 0.0),
        "attributed_conversions": pc.fill_null(rows["attributed_conversions"].cast(pa.float64()), 0.0),
        "attributed_value": pc.fill_null(rows["attributed_value"].cast(pa.float64()), 0.0),
    })


def campaign_rows(report: pa.Table, attribution_model: str) -> pa.Table:
    """The campaign-days of one attribution model from ``rpt_attribution_campaign`` rows, as
    :func:`attribution_rows` gives them, keyed ``<platform>:<campaign_id>`` in ``attribution_channel`` (only
    credits of touches that know their campaign are there; the same guards then decide which campaigns have
    enough data for a curve)."""
    key = pc.binary_join_element_wise(report["platform"].cast(pa.string()), report["campaign_id"].cast(pa.string()),
                                      ":")
    return attribution_rows(report.append_column("attribution_channel", key), attribution_model)


def campaign_credits(credits: pa.Table) -> pa.Table:
    """``fct_attribution_credits`` rows keyed like :func:`campaign_rows` (``<platform>:<campaign_id>`` in
    ``attribution_channel``), for :func:`touch_day_rows`; credits of touches without a campaign are left out."""
    credits = credits.filter(pc.is_valid(credits["campaign_id"]))
    key = pc.binary_join_element_wise(credits["platform"].cast(pa.string()), credits["campaign_id"].cast(pa.string()),
                                      ":")
    return credits.set_column(credits.schema.get_field_index("attribution_channel"), "attribution_channel", key)


def touch_day_rows(rows: pa.Table, credits: pa.Table, attribution_model: str) -> pa.Table:
    """``rows`` (:func:`attribution_rows`) with the response moved to the day of the credited touch.

    Spend on a day buys that day's touches, so the credits those touches earn (``fct_attribution_credits`` by
    ``touch_date``) respond to it; credits by conversion day mix the touches of the whole lookback window, and in a
    lake that starts mid-journey they ramp up over its first weeks whatever the spend (left-censored paths), which a
    curve with long carry-over then "explains". The touches of the last days have not had the time to convert yet
    (their credit is still growing): the curves leave them out of the fit (``Settings.immature_days``).
    """
    credits = credits.filter(pc.equal(credits["attribution_model"], attribution_model))
    by_touch = pa.table({
        "attribution_channel": credits["attribution_channel"].cast(pa.string()),
        "date_day": credits["touch_date"].cast(pa.date32()),
        "credit": pc.fill_null(credits["credit"].cast(pa.float64()), 0.0),
        "credited_value": pc.fill_null(credits["credited_value"].cast(pa.float64()), 0.0),
    }).group_by(["attribution_channel", "date_day"]).aggregate([("credit", "sum"), ("credited_value", "sum")])
    joined = rows.select(["attribution_channel", "date_day", "spend"]).join(
        by_touch, keys=["attribution_channel", "date_day"], join_type="left outer")
    return pa.table({
        "attribution_channel": joined["attribution_channel"],
        "date_day": joined["date_day"],
        "spend": joined["spend"],
        "attributed_conversions": pc.fill_null(joined["credit_sum"], 0.0),
        "attributed_value": pc.fill_null(joined["credited_value_sum"], 0.0),
    })


@dataclass(frozen=True)
class Series:
    """One channel's daily series over the input's days."""

    first_date: date
    spend: np.ndarray
    conversions: np.ndarray
    value: np.ndarray


def daily_series(rows: pa.Table) -> dict[str, Series]:
    """Channel -> its daily series (missing days as 0), over the span of days in ``rows``."""
    if rows.num_rows == 0:
        return {}
    data = rows.select(["attribution_channel", "date_day", "spend", "attributed_conversions",
                        "attributed_value"]).to_pylist()
    first = min(r["date_day"] for r in data)
    days = (max(r["date_day"] for r in data) - first).days + 1
    out: dict[str, Series] = {}
    for r in data:
        channel = r["attribution_channel"]
        if channel not in out:
            out[channel] = Series(first, np.zeros(days), np.zeros(days), np.zeros(days))
        i = (r["date_day"] - first).days
        out[channel].spend[i] += float(r["spend"] or 0.0)
        out[channel].conversions[i] += float(r["attributed_conversions"] or 0.0)
        out[channel].value[i] += float(r["attributed_value"] or 0.0)
    return dict(sorted(out.items()))


def response_curves(series: Mapping[str, Series], settings: Settings) -> pa.Table:
    """One row per channel and response metric: the fit (or why none), current spend, backtest.

    The fit and its backtest leave out the last ``settings.immature_days`` days (a response still growing: see
    :func:`touch_day_rows`); current spend and the adstock the forecasts start from take every day.
    """
    rows = []
    options = {"min_days": settings.min_days, "min_spend_cv": settings.min_spend_cv, "min_r2": settings.min_r2}
    for channel, s in series.items():
        current = float(s.spend[-settings.current_days:].mean())
        mature = max(len(s.spend) - max(settings.immature_days, 0), 0)
        for metric in METRICS:
            y = (s.value if metric == "value" else s.conversions)[:mature]
            fit = fit_curve(s.spend[:mature], y, **options)
            # The backtest runs whenever the data guards pass, even on a poor fit: it shows how poor.
            test = backtest(s.spend[:mature], y, settings.holdout_days, **{**options, "min_r2": -math.inf})
            row = fit.as_row()
            row.update(
                attribution_channel=channel, response_metric=metric, value_basis=VALUE_BASIS,
                first_date=s.first_date, last_date=s.first_date + timedelta(days=len(s.spend) - 1),
                current_spend=current,
                response_at_current=fit.curve.response(current) if fit.fitted else None,
                marginal_return_at_current=fit.curve.marginal(current) if fit.fitted else None,
                backtest_status=test.status, backtest_holdout_days=test.holdout_days,
                backtest_mape=test.mape, backtest_wape=test.wape,
            )
            if fit.fitted:
                row.update(last_adstock=float(geometric_adstock(s.spend, fit.curve.decay)[-1]))
            else:
                row.update(residual_sd=None, last_adstock=None, adstock_min=None, adstock_max=None)
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=CURVES_SCHEMA) if rows else CURVES_SCHEMA.empty_table()


def _curve(row: Mapping[str, Any]) -> Curve | None:
    if row["status"] != "fitted" or row.get("beta") is None:
        return None
    return Curve(beta=row["beta"], half_saturation=row["half_saturation"], shape=row["shape"], decay=row["decay"])


def channel_inputs(curves: pa.Table) -> dict[str, ChannelInput]:
    """The allocator's inputs from a curves table (fitted rows give curves; the rest keep current spend)."""
    by_channel: dict[str, dict[str, Any]] = {}
    for row in curves.to_pylist():
        entry = by_channel.setdefault(row["attribution_channel"], {"current": row["current_spend"], "max": None,
                                                                   "notes": []})
        entry[row["response_metric"]] = _curve(row)
        if entry[row["response_metric"]] is None and row.get("reason"):
            entry["notes"].append(f"{row['response_metric']}: {row['reason']}")
        # The extrapolation cap: the highest adstock of a fitted curve (the steady-state spend the data show),
        # else the highest daily spend; the lower of the two metrics'.
        observed = row["adstock_max"] if entry[row["response_metric"]] and row.get("adstock_max") else row["spend_max"]
        if observed is not None:
            entry["max"] = observed if entry["max"] is None else min(entry["max"], observed)
    return {c: ChannelInput(e["current"] or 0.0, e.get("value"), e.get("conversions"), e["max"],
                            "; ".join(e["notes"]) or None)
            for c, e in sorted(by_channel.items())}


def recommendations(curves: pa.Table, settings: Settings) -> pa.Table:
    """One row per channel: current and recommended daily spend, expected daily change, the reason."""
    inputs = channel_inputs(curves)
    if not inputs:
        return RECOMMENDATIONS_SCHEMA.empty_table()
    result = allocate(inputs, mode=settings.mode, target=settings.target, down=settings.down, up=settings.up,
                      max_extrapolation=settings.max_extrapolation, step_share=settings.step_share)
    rows = [{
        "attribution_channel": a.channel, "mode": settings.mode, "target": settings.target,
        "binding_constraint": a.binding, "reason": a.reason, "value_basis": VALUE_BASIS,
        "current_spend": a.current_spend, "recommended_spend": a.recommended_spend,
        "lower_bound": a.lower_bound, "upper_bound": a.upper_bound,
        "current_value": a.current_value, "recommended_value": a.recommended_value,
        "expected_value_change": a.value_change,
        "current_conversions": a.current_conversions, "recommended_conversions": a.recommended_conversions,
        "expected_conversions_change": a.conversions_change,
        "marginal_roas": a.marginal_roas, "marginal_cpa": a.marginal_cpa,
    } for a in result]
    return pa.Table.from_pylist(rows, schema=RECOMMENDATIONS_SCHEMA)


def forecasts(curves: pa.Table, recommended: pa.Table, settings: Settings) -> pa.Table:
    """Channel x metric x scenario (current, recommended) x horizon day, for fitted curves only."""
    planned = {r["attribution_channel"]: r["recommended_spend"] for r in recommended.to_pylist()}
    rows = []
    for row in curves.to_pylist():
        curve = _curve(row)
        if curve is None:
            continue
        scenarios = {"current": row["current_spend"], "recommended": planned.get(row["attribution_channel"])}
        for scenario, spend in scenarios.items():
            if spend is None:
                continue
            for day in forecast(curve, spend, settings.horizon_days, last_adstock=row["last_adstock"],
                                residual_sd=row["residual_sd"] or 0.0):
                rows.append({
                    "attribution_channel": row["attribution_channel"], "response_metric": row["response_metric"],
                    "scenario": scenario, "horizon_day": day.horizon_day,
                    "forecast_date": row["last_date"] + timedelta(days=day.horizon_day),
                    "spend": day.spend, "predicted": day.response, "predicted_low": day.low,
                    "predicted_high": day.high, "cumulative_spend": day.spend * day.horizon_day,
                    "cumulative_predicted": day.cumulative_response, "cumulative_low": day.cumulative_low,
                    "cumulative_high": day.cumulative_high,
                })
    return pa.Table.from_pylist(rows, schema=FORECAST_SCHEMA) if rows else FORECAST_SCHEMA.empty_table()


def plan(rows: pa.Table, settings: Settings) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Curves, recommendations and forecasts for the input rows."""
    curves = response_curves(daily_series(rows), settings)
    recommended = recommendations(curves, settings)
    return curves, recommended, forecasts(curves, recommended, settings)


def totals(recommended: pa.Table) -> dict[str, float]:
    """Sums of the recommendation table's daily spends and expected changes (NULLs as 0)."""
    out = {}
    for name in ("current_spend", "recommended_spend", "expected_value_change", "expected_conversions_change"):
        out[name] = math.fsum(v or 0.0 for v in recommended[name].to_pylist())
    return out


__all__: Sequence[str] = ("CURVES_SCHEMA", "FORECAST_SCHEMA", "RECOMMENDATIONS_SCHEMA", "Settings", "attribution_rows",
                          "daily_series", "forecasts", "plan", "recommendations", "response_curves",
                          "settings_from_config", "totals", "touch_day_rows")

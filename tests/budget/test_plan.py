"""The Arrow glue the dbt models and the CLI share: curves, recommendations, forecasts from daily rows."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest

from budget import VALUE_BASIS
from budget.curves import Curve
from budget.plan import (
    CURVES_SCHEMA,
    FORECAST_SCHEMA,
    RECOMMENDATIONS_SCHEMA,
    Settings,
    channel_inputs,
    plan,
    recommendations,
    totals,
    touch_day_rows,
)

TRUE = {
    "paid_search:google_ads": (Curve(4000.0, 900.0, 1.2, 0.2), Curve(40.0, 900.0, 1.2, 0.2), 900.0, 0.4),
    "paid_social:meta_ads": (Curve(1500.0, 1500.0, 0.9, 0.4), Curve(30.0, 1500.0, 0.9, 0.4), 1200.0, 0.5),
    "paid_social:tiktok_ads": (Curve(900.0, 400.0, 1.0, 0.0), Curve(20.0, 400.0, 1.0, 0.0), 500.0, 0.03),  # flat
}


def _rows(days: int = 60, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    out = []
    for channel, (value, conversions, level, sd) in TRUE.items():
        spend = level * np.exp(rng.normal(0, sd, days))
        v = value.predict(spend) * (1 + rng.normal(0, 0.03, days))
        c = conversions.predict(spend) * (1 + rng.normal(0, 0.03, days))
        for i in range(days):
            if channel == "paid_social:meta_ads" and i == 10:
                continue  # a missing day counts as nothing spent
            out.append({"attribution_channel": channel, "date_day": date(2026, 1, 1) + timedelta(days=i),
                        "spend": float(spend[i]), "attributed_conversions": float(c[i]),
                        "attributed_value": float(v[i])})
    return pa.Table.from_pylist(out)


def test_plan_end_to_end():
    curves, recommended, forecast = plan(_rows(), Settings())
    assert curves.schema.equals(CURVES_SCHEMA) and recommended.schema.equals(RECOMMENDATIONS_SCHEMA)
    assert forecast.schema.equals(FORECAST_SCHEMA)
    by = {(r["attribution_channel"], r["response_metric"]): r for r in curves.to_pylist()}
    assert len(by) == 6
    assert by["paid_social:tiktok_ads", "value"]["status"] == "flat_spend"
    assert by["paid_social:tiktok_ads", "value"]["beta"] is None
    google = by["paid_search:google_ads", "value"]
    assert google["status"] == "fitted" and google["r2"] > 0.9 and google["value_basis"] == VALUE_BASIS
    assert google["backtest_wape"] < 0.1 and google["n_days"] == 60
    assert google["last_date"] == date(2026, 3, 1)
    # Same total, tiktok kept, bounds respected.
    t = totals(recommended)
    assert t["recommended_spend"] == pytest.approx(t["current_spend"], rel=1e-12)
    rec = {r["attribution_channel"]: r for r in recommended.to_pylist()}
    assert rec["paid_social:tiktok_ads"]["binding_constraint"] == "not_fitted"
    assert "coefficient of variation" in rec["paid_social:tiktok_ads"]["reason"]  # the guard's words
    assert rec["paid_social:tiktok_ads"]["recommended_spend"] == rec["paid_social:tiktok_ads"]["current_spend"]
    assert t["expected_value_change"] >= 0
    # Forecasts: 2 fitted channels x 2 metrics x 2 scenarios x 28 days.
    assert forecast.num_rows == 2 * 2 * 2 * 28
    first = next(r for r in forecast.to_pylist() if r["horizon_day"] == 1)
    assert first["forecast_date"] == date(2026, 3, 2)
    assert first["predicted_low"] <= first["predicted"] <= first["predicted_high"]


def test_other_modes_from_the_curves_table():
    curves, _, _ = plan(_rows(), Settings())
    inputs = channel_inputs(curves)
    assert inputs["paid_social:tiktok_ads"].value_curve is None
    # The extrapolation cap is the highest adstock (steady-state spend the data show), below the highest spend.
    google = next(r for r in curves.to_pylist() if r["attribution_channel"] == "paid_search:google_ads")
    assert inputs["paid_search:google_ads"].max_observed_spend <= google["spend_max"]
    assert inputs["paid_social:tiktok_ads"].max_observed_spend == pytest.approx(
        next(r for r in curves.to_pylist() if r["attribution_channel"] == "paid_social:tiktok_ads")["spend_max"])
    capped = recommendations(curves, Settings(mode="cap_cpa", target=30.0))
    assert set(capped["mode"].to_pylist()) == {"cap_cpa"}
    t = totals(capped)
    assert t["recommended_spend"] <= t["current_spend"] + 1e-9


def test_empty_input_gives_empty_tables_with_schema():
    empty = pa.table({"attribution_channel": pa.array([], pa.string()), "date_day": pa.array([], pa.date32()),
                      "spend": pa.array([], pa.float64()), "attributed_conversions": pa.array([], pa.float64()),
                      "attributed_value": pa.array([], pa.float64())})
    curves, recommended, forecast = plan(empty, Settings())
    assert curves.num_rows == recommended.num_rows == forecast.num_rows == 0
    assert recommended.schema.equals(RECOMMENDATIONS_SCHEMA)


def test_settings_from_config_strings():
    s = Settings.from_mapping({"min_days": "14", "down": 0.2, "mode": "target_roas", "target": "2.5", "x": 1,
                               "up": None})
    assert (s.min_days, s.down, s.mode, s.target, s.up) == (14, 0.2, "target_roas", 2.5, 0.3)


def test_campaign_rows_key_each_campaign_and_keep_the_credited_span():
    from budget.plan import campaign_rows, daily_series

    d = date(2026, 10, 1)
    report = pa.Table.from_pylist([
        # (model, platform, campaign, day, spend, conversions, value)
        dict(zip(("attribution_model", "platform", "campaign_id", "date_day", "spend_reporting",
                  "attributed_conversions", "attributed_value"), row, strict=True))
        for row in [
            ("markov", "google_ads", "1", d, 10.0, 0.0, 0.0),  # before the first credited day: left out
            ("markov", "google_ads", "1", d + timedelta(days=1), 20.0, 1.5, 30.0),
            ("markov", "meta_ads", "1", d + timedelta(days=1), 5.0, 0.0, 0.0),
            ("markov", "meta_ads", "1", d + timedelta(days=3), 7.0, 0.5, 10.0),
            ("markov", "meta_ads", "2", d + timedelta(days=2), 0.0, 0.0, 0.0),  # never spent: no curve
            ("linear", "meta_ads", "1", d + timedelta(days=2), 99.0, 9.0, 99.0),  # another model
        ]])
    series = daily_series(campaign_rows(report, "markov"))
    assert set(series) == {"google_ads:1", "meta_ads:1"}
    assert series["google_ads:1"].first_date == d + timedelta(days=1)
    assert series["google_ads:1"].spend.tolist() == [20.0, 0.0, 0.0]
    assert series["meta_ads:1"].spend.tolist() == [5.0, 0.0, 7.0]
    assert series["meta_ads:1"].value.tolist() == [0.0, 0.0, 10.0]


def test_touch_day_rows_take_the_response_from_the_day_of_the_touch():
    first = date(2026, 1, 1)
    rows = pa.table({"attribution_channel": ["paid_search:google_ads"] * 10,
                     "date_day": pa.array([first + timedelta(days=i) for i in range(10)], pa.date32()),
                     "spend": [100.0] * 10, "attributed_conversions": [9.0] * 10, "attributed_value": [900.0] * 10})
    credits = pa.Table.from_pylist([
        {"attribution_model": "markov", "attribution_channel": "paid_search:google_ads", "touch_date": first,
         "credit": 0.5, "credited_value": 50.0},
        {"attribution_model": "markov", "attribution_channel": "paid_search:google_ads", "touch_date": first,
         "credit": 0.25, "credited_value": None},
        {"attribution_model": "last_touch", "attribution_channel": "paid_search:google_ads", "touch_date": first,
         "credit": 1.0, "credited_value": 100.0},
        {"attribution_model": "markov", "attribution_channel": "paid_search:google_ads",
         "touch_date": first + timedelta(days=9), "credit": 1.0, "credited_value": 100.0},
    ])
    out = {r["date_day"]: r for r in touch_day_rows(rows, credits, "markov").to_pylist()}
    assert sorted(out) == [first + timedelta(days=i) for i in range(10)]
    assert out[first]["attributed_conversions"] == 0.75 and out[first]["attributed_value"] == 50.0
    assert out[first + timedelta(days=9)]["attributed_conversions"] == 1.0
    assert all(out[first + timedelta(days=i)]["attributed_conversions"] == 0.0 for i in range(1, 9))  # no credit
    assert {r["spend"] for r in out.values()} == {100.0}


def test_immature_days_are_left_out_of_the_fit_not_out_of_current_spend():
    rows = _rows()
    settings = Settings(min_r2=0.0, immature_days=7)
    curves = {(r["attribution_channel"], r["response_metric"]): r for r in plan(rows, settings)[0].to_pylist()}
    google = curves[("paid_search:google_ads", "value")]
    spend = [r["spend"] for r in rows.to_pylist() if r["attribution_channel"] == "paid_search:google_ads"]
    assert google["n_days"] == 60 - 7 and google["last_date"] == date(2026, 3, 1)
    assert google["current_spend"] == pytest.approx(float(np.mean(spend[-7:])))
    assert google["spend_max"] == pytest.approx(max(spend[:-7]))

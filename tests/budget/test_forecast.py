"""Forecasts under a spend plan, their band, and the backtest on held-out days."""

from __future__ import annotations

import math

import numpy as np
import pytest

from budget.curves import Curve
from budget.forecast import Z90, backtest, forecast

# Stated tolerance: on a known curve with 5 % noise, the 7-day held-out WAPE stays under 10 %.
BACKTEST_WAPE_TOL = 0.10


def test_forecast_at_steady_state_and_its_band():
    curve = Curve(beta=100.0, half_saturation=50.0, shape=1.0, decay=0.5)
    days = forecast(curve, 50.0, 28, last_adstock=50.0, residual_sd=2.0)
    assert len(days) == 28 and [d.horizon_day for d in days] == list(range(1, 29))
    assert all(d.response == pytest.approx(50.0) for d in days)
    assert days[-1].cumulative_response == pytest.approx(28 * 50.0)
    assert days[0].high - days[0].response == pytest.approx(Z90 * 2.0)
    assert days[-1].cumulative_high - days[-1].cumulative_response == pytest.approx(Z90 * 2.0 * math.sqrt(28))
    assert all(d.low >= 0 for d in forecast(curve, 1.0, 7, last_adstock=1.0, residual_sd=50.0))


def test_forecast_carries_over_towards_the_new_spend():
    curve = Curve(beta=100.0, half_saturation=50.0, shape=1.0, decay=0.7)
    days = forecast(curve, 100.0, 28, last_adstock=50.0, residual_sd=0.0)
    responses = [d.response for d in days]
    assert responses == sorted(responses)  # rises from yesterday's adstock towards the new steady state
    assert responses[0] < curve.response(100.0) and responses[-1] == pytest.approx(curve.response(100.0), rel=1e-3)
    with pytest.raises(ValueError, match="horizon"):
        forecast(curve, 1.0, 0, last_adstock=None, residual_sd=0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backtest_error_on_a_known_curve(seed):
    rng = np.random.default_rng(seed)
    curve = Curve(beta=800.0, half_saturation=300.0, shape=1.3, decay=0.3)
    spend = 300.0 * np.exp(rng.normal(0, 0.5, 60))
    response = curve.predict(spend) * (1 + rng.normal(0, 0.05, 60))
    result = backtest(spend, response, holdout_days=7)
    assert result.status == "fitted" and result.holdout_days == 7
    assert result.wape < BACKTEST_WAPE_TOL and result.mape < BACKTEST_WAPE_TOL
    assert result.actual == pytest.approx(response[-7:].sum())


def test_backtest_guards():
    assert backtest(np.ones(5), np.ones(5), holdout_days=7).status == "too_few_days"
    assert backtest(np.full(40, 10.0), np.ones(40), holdout_days=7).status == "flat_spend"

"""Forecasts of response under a daily spend plan, with a band from the fit's residuals, and a backtest."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from budget.curves import Curve, fit_curve

Z90 = 1.6448536269514722  # two-sided 90 % normal band


@dataclass(frozen=True)
class ForecastDay:
    """One future day under one scenario."""

    horizon_day: int  # 1 = tomorrow
    spend: float
    response: float
    low: float
    high: float
    cumulative_response: float
    cumulative_low: float
    cumulative_high: float


def forecast(curve: Curve, daily_spend: float, horizon: int, *, last_adstock: float | None,
             residual_sd: float, z: float = Z90) -> list[ForecastDay]:
    """The next ``horizon`` days at a constant ``daily_spend``, carrying over from ``last_adstock``.

    The band is ``response +- z * residual_sd`` per day (floored at 0) and ``+- z * residual_sd * sqrt(h)`` on
    the cumulative sum of ``h`` days (residuals taken as independent). It covers the noise around the
    curve, not the uncertainty of the curve itself nor the gap between attributed and incremental value.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 day, not {horizon}")
    spend = np.full(horizon, float(daily_spend))
    response = curve.predict(spend, initial=last_adstock)
    cumulative = np.cumsum(response)
    out = []
    for h in range(1, horizon + 1):
        band, cband = z * residual_sd, z * residual_sd * math.sqrt(h)
        r, c = float(response[h - 1]), float(cumulative[h - 1])
        out.append(ForecastDay(h, float(daily_spend), r, max(0.0, r - band), r + band, c, max(0.0, c - cband),
                               c + cband))
    return out


@dataclass(frozen=True)
class Backtest:
    """Fit on all days but the last ``holdout_days``, predict those from their actual spend."""

    status: str
    holdout_days: int
    mape: float | None  # mean |error| / actual over held-out days with a positive actual
    wape: float | None  # sum |error| / sum actual
    actual: float | None  # held-out total
    predicted: float | None


def backtest(spend: Sequence[float] | np.ndarray, response: Sequence[float] | np.ndarray, holdout_days: int = 7,
             **fit_options: float) -> Backtest:
    """Hold out the last ``holdout_days``, fit on the rest (same guards), and score the held-out prediction."""
    x = np.asarray(spend, dtype=np.float64)
    y = np.asarray(response, dtype=np.float64)
    if holdout_days < 1 or len(x) <= holdout_days:
        return Backtest("too_few_days", holdout_days, None, None, None, None)
    fit = fit_curve(x[:-holdout_days], y[:-holdout_days], **fit_options)
    if not fit.fitted:
        return Backtest(fit.status, holdout_days, None, None, None, None)
    predicted = fit.curve.predict(x[-holdout_days:], initial=fit.last_adstock)
    actual = y[-holdout_days:]
    errors = np.abs(predicted - actual)
    positive = actual > 0
    mape = float((errors[positive] / actual[positive]).mean()) if positive.any() else None
    wape = float(errors.sum() / actual.sum()) if actual.sum() > 0 else None
    return Backtest("fitted", holdout_days, mape, wape, float(actual.sum()), float(predicted.sum()))

"""Hill + adstock fits on synthetic series with known curves, and the guards."""

from __future__ import annotations

import numpy as np
import pytest

from budget.adstock import geometric_adstock, half_life_days
from budget.curves import FITTED, FLAT_SPEND, NO_RESPONSE, NO_SPEND, TOO_FEW_DAYS, Curve, fit_curve

# Stated tolerance: 120 days, spend log-normal around the half-saturation (sd 0.8 in logs), 2 % noise.
BETA_TOL, HALF_SATURATION_TOL, SHAPE_TOL, DECAY_TOL = 0.10, 0.20, 0.10, 0.03
# Whatever the parameters, the fitted curve stays within 5 % of the true one over the observed adstock range.
CURVE_TOL = 0.05


def _series(curve: Curve, seed: int, days: int = 120, noise: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spend = curve.half_saturation * np.exp(rng.normal(0.0, 0.8, days))
    return spend, curve.predict(spend) * (1.0 + rng.normal(0.0, noise, days))


def test_adstock_recursion_and_steady_state():
    a = geometric_adstock(np.array([10.0, 0.0, 0.0]), 0.5, initial=0.0)
    np.testing.assert_allclose(a, [5.0, 2.5, 1.25])
    np.testing.assert_allclose(geometric_adstock(np.full(5, 7.0), 0.6), np.full(5, 7.0))
    np.testing.assert_allclose(geometric_adstock(np.array([1.0, 2.0]), 0.0), [1.0, 2.0])
    assert half_life_days(0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="decay"):
        geometric_adstock(np.ones(3), 1.0)


def test_marginal_is_the_derivative():
    curve = Curve(beta=100.0, half_saturation=50.0, shape=1.7)
    for x in (5.0, 50.0, 300.0):
        h = 1e-4
        numeric = (curve.response(x + h) - curve.response(x - h)) / (2 * h)
        assert curve.marginal(x) == pytest.approx(numeric, rel=1e-5)


@pytest.mark.parametrize("true", [
    Curve(beta=5000.0, half_saturation=1000.0, shape=1.5, decay=0.5),
    Curve(beta=300.0, half_saturation=800.0, shape=0.8, decay=0.2),
    Curve(beta=2000.0, half_saturation=500.0, shape=2.5, decay=0.0),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_recovers_parameters(true, seed):
    spend, response = _series(true, seed)
    fit = fit_curve(spend, response)
    assert fit.status == FITTED and fit.r2 > 0.9
    c = fit.curve
    assert c.beta == pytest.approx(true.beta, rel=BETA_TOL)
    assert c.half_saturation == pytest.approx(true.half_saturation, rel=HALF_SATURATION_TOL)
    assert c.shape == pytest.approx(true.shape, rel=SHAPE_TOL)
    assert c.decay == pytest.approx(true.decay, abs=DECAY_TOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_recovers_the_curve_when_parameters_trade_off(seed):
    # Strong carry-over smooths the adstock: beta and the half-saturation trade off, the curve does not.
    true = Curve(beta=1000.0, half_saturation=1500.0, shape=1.0, decay=0.7)
    spend, response = _series(true, seed)
    fit = fit_curve(spend, response)
    assert fit.curve.decay == pytest.approx(true.decay, abs=DECAY_TOL)
    # The steady-state curve is seen over the range of the adstock (narrower than daily spend's when it carries).
    adstock = geometric_adstock(spend, fit.curve.decay)
    grid = np.linspace(adstock.min(), adstock.max(), 50)
    np.testing.assert_allclose(fit.curve.response(grid), true.response(grid), rtol=CURVE_TOL)


def test_fit_reports_observed_range():
    spend, response = _series(Curve(100.0, 50.0, 1.2, 0.3), 4, days=40)
    fit = fit_curve(spend, response)
    assert fit.n_days == 40
    assert (fit.spend_min, fit.spend_max) == (spend.min(), spend.max())
    assert fit.spend_mean == pytest.approx(spend.mean())
    assert fit.residual_sd > 0 and fit.last_adstock > 0


def test_flat_spend_is_not_fitted():
    rng = np.random.default_rng(0)
    spend = 100.0 * (1.0 + rng.normal(0, 0.02, 60))
    fit = fit_curve(spend, rng.uniform(10, 20, 60))
    assert fit.status == FLAT_SPEND and fit.curve is None and not fit.fitted
    assert "coefficient of variation" in fit.reason
    assert fit.as_row()["beta"] is None


def test_too_few_days_no_spend_no_response():
    spend, response = _series(Curve(100.0, 50.0, 1.2), 0, days=10)
    assert fit_curve(spend, response).status == TOO_FEW_DAYS
    assert fit_curve(np.zeros(60), np.ones(60)).status == NO_SPEND
    spend, _ = _series(Curve(100.0, 50.0, 1.2), 0, days=60)
    assert fit_curve(spend, np.zeros(60)).status == NO_RESPONSE


def test_min_r2_flags_poor_fit():
    rng = np.random.default_rng(3)
    spend = 100.0 * np.exp(rng.normal(0, 0.5, 60))
    fit = fit_curve(spend, rng.uniform(0, 100, 60), min_r2=0.5)
    assert fit.status == "poor_fit" and not fit.fitted

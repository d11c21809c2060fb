"""Hill response curves on adstocked daily spend, fitted without SciPy.

``response(a) = beta * a^shape / (a^shape + half_saturation^shape)`` on the adstock ``a`` of daily spend
(:func:`budget.adstock.geometric_adstock`). The fit is a grid over decay, half-saturation and shape with the
scale ``beta`` in closed form (least squares through the origin) at every grid point, then a compass search
around the best point. Guards give a status and a reason instead of a curve: too few days, spend that barely
varies (coefficient of variation), no spend, no response.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from budget.adstock import geometric_adstock

DECAYS = tuple(round(0.1 * i, 1) for i in range(10))  # 0 .. 0.9
SHAPES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
HALF_SATURATION_POINTS = 17  # geometric grid from 0.2x to 5x the median adstock
MAX_DECAY = 0.95
SHAPE_RANGE = (0.3, 3.0)  # Robyn's alpha range is 0.5-3; beyond 3 a Hill curve is a step

FITTED = "fitted"
TOO_FEW_DAYS = "too_few_days"
FLAT_SPEND = "flat_spend"
NO_SPEND = "no_spend"
NO_RESPONSE = "no_response"
POOR_FIT = "poor_fit"


@dataclass(frozen=True)
class Curve:
    """A fitted (or given) Hill curve on adstocked daily spend."""

    beta: float
    half_saturation: float
    shape: float
    decay: float = 0.0

    def response(self, spend: float | np.ndarray) -> float | np.ndarray:
        """Daily response at steady state under a constant daily spend (adstock = spend)."""
        a = np.maximum(np.asarray(spend, dtype=np.float64), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(a > 0, (a / self.half_saturation) ** self.shape, 0.0)
        out = self.beta * ratio / (1.0 + ratio)
        return float(out) if np.ndim(out) == 0 else out

    def marginal(self, spend: float | np.ndarray) -> float | np.ndarray:
        """d response / d spend at steady state: ``beta*s*K^s*x^(s-1) / (x^s + K^s)^2``."""
        x = np.maximum(np.asarray(spend, dtype=np.float64), 1e-12)
        k, s = self.half_saturation, self.shape
        r = (x / k) ** s
        out = self.beta * s * r / (x * (1.0 + r) ** 2)
        return float(out) if np.ndim(out) == 0 else out

    def predict(self, spend: np.ndarray, initial: float | None = None) -> np.ndarray:
        """Daily response to a spend series (with carry-over from ``initial`` adstock)."""
        return np.asarray(self.response(geometric_adstock(spend, self.decay, initial)), dtype=np.float64)


@dataclass(frozen=True)
class FitResult:
    """A curve fit: the curve when ``status == 'fitted'``, otherwise the reason there is none."""

    status: str
    reason: str
    n_days: int
    spend_min: float
    spend_max: float
    spend_mean: float
    spend_cv: float
    curve: Curve | None = None
    r2: float | None = None
    residual_sd: float | None = None
    last_adstock: float | None = None
    # The adstock's range under the fitted decay: at steady state a daily spend x is an adstock x, so this is the
    # range of daily spend whose response the data actually show (narrower than spend's when it carries over).
    adstock_min: float | None = None
    adstock_max: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        return self.status == FITTED and self.curve is not None

    def as_row(self) -> dict[str, Any]:
        """Flat columns (the curve's parameters NULL when not fitted)."""
        row = {k: v for k, v in asdict(self).items() if k not in ("curve", "extra")}
        curve = self.curve if self.fitted else None
        for name in ("beta", "half_saturation", "shape", "decay"):
            row[name] = getattr(curve, name) if curve else None
        return row


def _hill_matrix(a: np.ndarray, ks: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """h[k, s, t] = a_t^s / (a_t^s + k^s)."""
    ratio = (np.maximum(a, 0.0)[None, None, :] / ks[:, None, None]) ** shapes[None, :, None]
    return ratio / (1.0 + ratio)


def _scale_and_sse(h: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares scale (>= 0, through the origin) and the SSE, along the last axis."""
    hy = h @ y
    hh = np.einsum("...t,...t->...", h, h)
    beta = np.where(hh > 0, np.maximum(hy, 0.0) / np.where(hh > 0, hh, 1.0), 0.0)
    sse = y @ y - 2.0 * beta * hy + beta * beta * hh
    return beta, sse


def _evaluate(spend: np.ndarray, y: np.ndarray, decay: float, k: float, s: float) -> tuple[float, float]:
    a = geometric_adstock(spend, decay)
    h = _hill_matrix(a, np.array([k]), np.array([s]))[0, 0]
    beta, sse = _scale_and_sse(h, y)
    return float(beta), float(sse)


def _not_fitted(status: str, reason: str, x: np.ndarray, cv: float) -> FitResult:
    n = len(x)
    return FitResult(status, reason, n, float(x.min()) if n else 0.0, float(x.max()) if n else 0.0,
                     float(x.mean()) if n else 0.0, cv)


def fit_curve(spend: Sequence[float] | np.ndarray, response: Sequence[float] | np.ndarray, *,
              min_days: int = 21, min_spend_cv: float = 0.1, min_r2: float = 0.0,
              decays: Sequence[float] = DECAYS, shapes: Sequence[float] = SHAPES,
              refine: bool = True) -> FitResult:
    """Fit a Hill curve with geometric adstock to daily ``spend`` -> ``response`` (value or conversions).

    Args:
        spend: Daily spend, oldest first (missing days as 0).
        response: Daily attributed value or conversions, aligned with ``spend``.
        min_days: Fewer days (with spend) give ``too_few_days``.
        min_spend_cv: Spend whose coefficient of variation (sd / mean) is below this gives ``flat_spend``: the
            data cannot show how response changes with spend.
        min_r2: A fit explaining less of the variance gives ``poor_fit`` (the curve is still returned).
        decays: Adstock decays tried on the grid (0 = no carry-over).
        shapes: Hill shapes tried on the grid (< 1: concave, > 1: S-shaped).
        refine: Compass-search around the best grid point.

    Returns:
        The fit, or a status and reason when the guards refuse to fit.
    """
    x = np.asarray(spend, dtype=np.float64)
    y = np.asarray(response, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError("spend and response must have the same length")
    spend_days = int((x > 0).sum())
    mean = float(x.mean()) if len(x) else 0.0
    cv = float(x.std() / mean) if mean > 0 else 0.0
    if spend_days == 0:
        return _not_fitted(NO_SPEND, "no spend in the period", x, cv)
    if spend_days < min_days:
        return _not_fitted(TOO_FEW_DAYS, f"{spend_days} days with spend, fewer than the {min_days} needed", x, cv)
    if cv < min_spend_cv:
        return _not_fitted(FLAT_SPEND, f"spend barely varies (coefficient of variation {cv:.3f} < {min_spend_cv:g}): "
                                       "its effect cannot be told from the data", x, cv)
    if not np.any(y > 0):
        return _not_fitted(NO_RESPONSE, "nothing attributed in the period", x, cv)

    best = (math.inf, 0.0, 0.0, 1.0, 0.0)  # sse, decay, k, s, beta
    shape_grid = np.asarray(shapes, dtype=np.float64)
    for decay in decays:
        a = geometric_adstock(x, float(decay))
        median = float(np.median(a[a > 0])) if np.any(a > 0) else 1.0
        ks = median * np.geomspace(0.2, 5.0, HALF_SATURATION_POINTS)
        beta, sse = _scale_and_sse(_hill_matrix(a, ks, shape_grid), y)
        i, j = np.unravel_index(int(np.argmin(sse)), sse.shape)
        if sse[i, j] < best[0]:
            best = (float(sse[i, j]), float(decay), float(ks[i]), float(shape_grid[j]), float(beta[i, j]))
    sse, decay, k, s, beta = best
    if refine:
        sse, decay, k, s, beta = _refine(x, y, sse, decay, k, s, beta)

    curve = Curve(beta=beta, half_saturation=k, shape=s, decay=decay)
    fitted = curve.predict(x)
    residuals = y - fitted
    sst = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residuals ** 2).sum()) / sst if sst > 0 else 0.0
    dof = max(len(x) - 4, 1)
    residual_sd = float(math.sqrt((residuals ** 2).sum() / dof))
    adstock = geometric_adstock(x, decay)
    status, reason = FITTED, f"Hill curve fitted on {len(x)} days (R2 {r2:.2f})"
    if r2 < min_r2:
        status, reason = POOR_FIT, f"the curve explains too little (R2 {r2:.2f} < {min_r2:g})"
    return FitResult(status, reason, len(x), float(x.min()), float(x.max()), mean, cv, curve=curve, r2=r2,
                     residual_sd=residual_sd, last_adstock=float(adstock[-1]), adstock_min=float(adstock.min()),
                     adstock_max=float(adstock.max()))


def _refine(x: np.ndarray, y: np.ndarray, sse: float, decay: float, k: float, s: float,
            beta: float) -> tuple[float, float, float, float, float]:
    """Compass search on (decay, ln k, ln s), the scale in closed form, steps halving until small."""
    point = np.array([decay, math.log(k), math.log(s)])
    steps = np.array([0.05, 0.1, 0.1])
    lower = np.array([0.0, math.log(k) - 3.0, math.log(SHAPE_RANGE[0])])
    upper = np.array([MAX_DECAY, math.log(k) + 3.0, math.log(SHAPE_RANGE[1])])
    best = (sse, beta)
    for _ in range(12):
        improved = True
        while improved:
            improved = False
            for dim in range(3):
                for sign in (1.0, -1.0):
                    trial = point.copy()
                    trial[dim] = min(max(trial[dim] + sign * steps[dim], lower[dim]), upper[dim])
                    if np.array_equal(trial, point):
                        continue
                    b, e = _evaluate(x, y, float(trial[0]), math.exp(trial[1]), math.exp(trial[2]))
                    if e < best[0] - 1e-12 * max(best[0], 1.0):
                        point, best, improved = trial, (e, b), True
        steps /= 2.0
    return best[0], float(point[0]), math.exp(point[1]), math.exp(point[2]), best[1]

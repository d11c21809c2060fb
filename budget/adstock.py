"""Geometric adstock (carry-over), normalised so that a constant daily spend is its own steady state."""

from __future__ import annotations

import numpy as np


def geometric_adstock(spend: np.ndarray, decay: float, initial: float | None = None) -> np.ndarray:
    """``a_t = decay * a_{t-1} + (1 - decay) * x_t`` (Robyn's recursion scaled by ``1 - decay``).

    The scaling keeps the curves in spend units: a constant spend ``x`` gives ``a = x`` at steady state, so a
    curve's half-saturation is a daily spend and the observed spend range bounds it directly.

    Args:
        spend: Daily spend, oldest first.
        decay: Share of yesterday's adstock carried to today, in ``[0, 1)``; half-life ``ln 0.5 / ln decay``.
        initial: Adstock before the first day; ``None`` starts at steady state (the first day's spend).

    Returns:
        The adstocked series, same length as ``spend``.
    """
    x = np.asarray(spend, dtype=np.float64)
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"adstock decay must be in [0, 1), not {decay}")
    out = np.empty_like(x)
    if len(x) == 0:
        return out
    state = float(x[0]) if initial is None else float(initial)
    for t, value in enumerate(x):
        state = decay * state + (1.0 - decay) * value
        out[t] = state
    return out


def half_life_days(decay: float) -> float:
    """Days for carry-over to halve (``inf`` never, 0 when there is none)."""
    if decay <= 0.0:
        return 0.0
    return float(np.log(0.5) / np.log(decay))

"""Rule-based models: each returns ``credit: float64[m]`` per touch, summing to 1 over every converted
journey's touches and 0 on non-converted journeys (field notes 5.2)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from attribution.paths import MICROS_PER_DAY, ROLES, JourneysError, Paths

W_SHAPED: Mapping[str, float] = {"first": 0.3, "lead_creation": 0.3, "last": 0.3, "middle": 0.1}
"""Default role weights of :func:`custom`: a W-shaped B2B model (tasman-dbt-mta), renormalised per journey."""


def _per_journey_sum(paths: Paths, values: np.ndarray) -> np.ndarray:
    if paths.n_touches == 0:
        return np.zeros(0)
    return np.add.reduceat(values, paths.offsets[:-1])


def _only_converted(paths: Paths, credit: np.ndarray) -> np.ndarray:
    return np.where(np.repeat(paths.converted, paths.lengths), credit, 0.0)


def _normalized(paths: Paths, weights: np.ndarray) -> np.ndarray:
    """Weights divided by their journey's total; a journey whose weights are all 0 is split equally."""
    total = _per_journey_sum(paths, weights)
    zero = total <= 0
    lengths = paths.lengths
    weights = np.where(np.repeat(zero, lengths), 1.0, weights)
    total = np.where(zero, lengths, total)
    return _only_converted(paths, weights / np.repeat(total, lengths))


def _at(paths: Paths, index: np.ndarray) -> np.ndarray:
    credit = np.zeros(paths.n_touches)
    credit[index] = 1.0
    return _only_converted(paths, credit)


def first_touch(paths: Paths) -> np.ndarray:
    """All credit to the first touch."""
    return _at(paths, paths.offsets[:-1])


def last_touch(paths: Paths) -> np.ndarray:
    """All credit to the last touch."""
    return _at(paths, paths.offsets[1:] - 1)


def last_non_direct(paths: Paths, direct_channel: str = "direct") -> np.ndarray:
    """All credit to the last touch whose channel is not ``direct_channel``; an all-direct path: last touch."""
    if direct_channel not in paths.channels or paths.n_touches == 0:
        return last_touch(paths)
    direct = paths.channels.index(direct_channel)
    index = np.where(paths.channel != direct, np.arange(paths.n_touches), -1)
    last_other = np.maximum.reduceat(index, paths.offsets[:-1])
    return _at(paths, np.where(last_other >= 0, last_other, paths.offsets[1:] - 1))


def linear(paths: Paths) -> np.ndarray:
    """Equal credit to every touch (repeats count)."""
    return _only_converted(paths, 1.0 / np.repeat(paths.lengths, paths.lengths).astype(np.float64))


def time_decay(paths: Paths, half_life_days: float = 7.0) -> np.ndarray:
    """Weight ``2^(-dt / half_life)``, dt = conversion time - touch time, normalised per journey.

    The weights are taken relative to each journey's last touch (the same after normalisation), so a
    journey whose touches are all far older than its conversion never underflows to 0/0.
    """
    if not np.isfinite(half_life_days) or half_life_days <= 0:
        raise JourneysError(f"half_life_days must be positive, not {half_life_days}")
    if paths.n_touches == 0:
        return np.zeros(0)
    last_ts = np.repeat(paths.touch_ts[paths.offsets[1:] - 1], paths.lengths)
    age_days = (last_ts - paths.touch_ts) / MICROS_PER_DAY
    return _normalized(paths, np.exp2(-age_days / half_life_days))


def position_based(paths: Paths, first: float = 0.4, last: float = 0.4) -> np.ndarray:
    """U-shaped: ``first`` to the first touch, ``last`` to the last, the rest spread over the middle ones.

    One touch gets 100 %, two touches ``first/(first+last)`` and ``last/(first+last)`` (50/50 by default).
    """
    if not (first >= 0 and last >= 0 and first + last <= 1 + 1e-12):
        raise JourneysError(f"position weights must be >= 0 with first + last <= 1, not {first} and {last}")
    n = np.repeat(paths.lengths, paths.lengths)
    pos = paths.position
    two = first / (first + last) if first + last > 0 else 0.5
    middle = (1.0 - first - last) / np.maximum(n - 2, 1)
    credit = np.where(pos == 0, first, np.where(pos == n - 1, last, middle))
    credit = np.where(n == 2, np.where(pos == 0, two, 1.0 - two), credit)
    credit = np.where(n == 1, 1.0, credit)
    return _only_converted(paths, credit)


def touch_roles(paths: Paths) -> np.ndarray:
    """``bool[m, len(ROLES)]``: the roles every touch holds.

    A one-touch journey's touch is first and last; otherwise the first touch is first, the last is last
    and the others middle. A role given in the input (``Paths.role``) is held in addition.
    """
    held = np.zeros((paths.n_touches, len(ROLES)), dtype=bool)
    n = np.repeat(paths.lengths, paths.lengths)
    pos = paths.position
    held[:, ROLES.index("first")] = pos == 0
    held[:, ROLES.index("last")] = pos == n - 1
    held[:, ROLES.index("middle")] = (pos > 0) & (pos < n - 1)
    if paths.role is not None:
        given = paths.role >= 0
        held[np.flatnonzero(given), paths.role[given].astype(np.int64)] = True
    return held


def custom(paths: Paths, role_weights: Mapping[str, float] | None = None,
           channel_weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Weights by touch role and by channel, normalised per journey.

    A role's weight is its share of the conversion, split equally among the touches holding it in the
    journey (so ``{"first": .4, "middle": .2, "last": .4}`` is :func:`position_based`); roles nobody
    holds drop out by renormalisation. A touch's weight is the sum of its roles' shares times its
    channel's weight (1.0 when not listed). A journey whose weights are all 0 is split equally.

    Args:
        paths: The paths.
        role_weights: Weight per role name from :data:`ROLES` (default :data:`W_SHAPED`; missing roles 0).
        channel_weights: Weight per channel name (default 1.0 for every channel).
    """
    role_weights = W_SHAPED if role_weights is None else role_weights
    channel_weights = channel_weights or {}
    unknown = sorted(set(role_weights) - set(ROLES))
    if unknown:
        raise JourneysError(f"custom: unknown role {unknown[0]!r} (known: {', '.join(ROLES)})")
    weights_list = [*role_weights.values(), *channel_weights.values()]
    if any(not np.isfinite(w) or w < 0 for w in weights_list):
        raise JourneysError("custom: role and channel weights must be finite and >= 0")
    if paths.n_touches == 0:
        return np.zeros(0)
    held = touch_roles(paths)
    holders = np.add.reduceat(held.astype(np.int64), paths.offsets[:-1], axis=0)  # per journey and role
    role_w = np.array([role_weights.get(r, 0.0) for r in ROLES], dtype=np.float64)
    share = np.where(holders > 0, role_w / np.maximum(holders, 1), 0.0)
    touch_w = (held * np.repeat(share, paths.lengths, axis=0)).sum(axis=1)
    chan_w = np.array([channel_weights.get(c, 1.0) for c in paths.channels], dtype=np.float64)
    return _normalized(paths, touch_w * chan_w[paths.channel])

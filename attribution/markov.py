"""First-order Markov attribution with exact removal effects (field notes 5.3).

States: ``start`` (0), the channels (1..C), then the absorbing ``conversion`` and ``null``. Every journey
adds one to each of its transitions ``start -> c1 -> ... -> cn -> conversion | null``; rows are normalised.
With Q the transient block and r the one-step conversion column, the conversion probability from every
state solves ``(I - Q) x = r`` and P = x[start]. Removing channel k redirects every transition into k to
``null`` (column k of Q set to 0) and re-solves: RE_k = 1 - P_k / P. All C removals are solved at once
as a stacked linear system: no simulation, no Python loop per touch.
"""

from __future__ import annotations

import numpy as np

from attribution.paths import Paths, channel_repeats


def transition_counts(paths: Paths, *, collapse_repeats: bool = False) -> np.ndarray:
    """``float64[C + 3, C + 3]`` transition counts between start, the channels, conversion and null.

    Args:
        paths: The paths.
        collapse_repeats: Drop the transitions from a channel to itself (consecutive repeats). Self-loops
            do not change absorption probabilities, so the removal effects are the same either way.
    """
    n_channels = len(paths.channels)
    size = n_channels + 3
    conversion, null = n_channels + 1, n_channels + 2
    state = paths.channel.astype(np.int64) + 1
    is_last = np.zeros(paths.n_touches, dtype=bool)
    is_last[paths.offsets[1:] - 1] = True
    following = np.empty(paths.n_touches, dtype=np.int64)
    following[:-1] = state[1:]
    ends = np.where(paths.converted, conversion, null)
    following[is_last] = ends
    sources = np.r_[np.zeros(paths.n_journeys, dtype=np.int64), state]
    targets = np.r_[state[paths.offsets[:-1]], following]
    if collapse_repeats:
        moved = sources != targets
        sources, targets = sources[moved], targets[moved]
    counts = np.bincount(sources * size + targets, minlength=size * size)
    return counts.reshape(size, size).astype(np.float64)


def removal_effects(paths: Paths, *, collapse_repeats: bool = False) -> tuple[float, np.ndarray]:
    """The conversion probability P of the chain and the removal effect of every channel.

    Returns:
        ``(P, RE)`` with ``RE: float64[C]`` in [0, 1]; all zero when nothing converts.
    """
    counts = transition_counts(paths, collapse_repeats=collapse_repeats)
    n_channels = len(paths.channels)
    transient = n_channels + 1
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    q = probs[:transient, :transient]
    r = probs[:transient, transient]  # one step into conversion
    identity = np.eye(transient)
    base = np.linalg.solve(identity - q, r)[0]
    if base <= 0 or n_channels == 0:
        return float(max(base, 0.0)), np.zeros(n_channels)
    # One system per removed channel: column k of Q zeroed (the flow into k goes to null instead).
    removed = np.broadcast_to(q, (n_channels, transient, transient)).copy()
    removed[np.arange(n_channels), :, np.arange(n_channels) + 1] = 0.0
    x = np.linalg.solve(identity - removed, np.broadcast_to(r, (n_channels, transient))[..., None])
    without = x[:, 0, 0]
    return float(base), np.clip(1.0 - without / base, 0.0, 1.0)


def channel_shares(effects: np.ndarray) -> np.ndarray:
    """The usual global convention (ChannelAttribution, DP6): channel k's share of all conversions is
    RE_k / sum RE (zero when every effect is zero)."""
    total = effects.sum()
    return effects / total if total > 0 else np.zeros_like(effects)


def split_by_channel_weight(paths: Paths, weight_of_touch: np.ndarray) -> np.ndarray:
    """Credit per touch: each converted journey's conversion split over its distinct channels in proportion
    to their weight (given per touch as the weight of its channel in its journey), equally when they all
    weigh 0; a channel's credit spread evenly over its touches in the journey."""
    if paths.n_touches == 0:
        return np.zeros(0)
    repeats = channel_repeats(paths)
    starts = paths.offsets[:-1]
    total = np.add.reduceat(weight_of_touch / repeats, starts)
    distinct = np.add.reduceat(1.0 / repeats, starts)
    zero = np.repeat(total <= 0, paths.lengths)
    share = np.where(zero, 1.0 / np.repeat(distinct, paths.lengths),
                     weight_of_touch / np.repeat(np.where(total > 0, total, 1.0), paths.lengths))
    return np.where(np.repeat(paths.converted, paths.lengths), share / repeats, 0.0)


def markov(paths: Paths, *, collapse_repeats: bool = False) -> np.ndarray:
    """``credit: float64[m]``: each conversion split over its journey's channels in proportion to their
    removal effects (per journey, so credits stay per touch and a channel gets nothing from journeys it is
    not in; the global convention is :func:`channel_shares`)."""
    _, effects = removal_effects(paths, collapse_repeats=collapse_repeats)
    return split_by_channel_weight(paths, effects[paths.channel] if len(effects) else np.zeros(paths.n_touches))

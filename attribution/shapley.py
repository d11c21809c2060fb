"""Shapley attribution over observed channel sets (issue F item 2, field notes 5.4).

p(S) = converting journeys whose channel set is exactly S / all journeys with exactly S (0 when unseen).
A converting journey with set T splits its conversion among T's channels in proportion to their Shapley
values in the game v(U) = p(U), U subset of T; negatives are clipped to 0 and an all-zero result is an
equal split. Sets are bitmasks (at most 62 channels); the values are computed once per distinct set with
vectorised sums over its 2^|T| subsets.
"""

from __future__ import annotations

import math

import numpy as np

from attribution.markov import split_by_channel_weight
from attribution.paths import JourneysError, Paths

MAX_CHANNELS = 62


def channel_sets(paths: Paths) -> np.ndarray:
    """``int64[n]`` every journey's channel set as a bitmask over channel codes.

    Raises:
        JourneysError: More than :data:`MAX_CHANNELS` channels.
    """
    if len(paths.channels) > MAX_CHANNELS:
        raise JourneysError(f"shapley: {len(paths.channels)} channels, at most {MAX_CHANNELS} are supported "
                            "(group channels more coarsely)")
    if paths.n_touches == 0:
        return np.zeros(0, dtype=np.int64)
    bits = np.left_shift(np.int64(1), paths.channel.astype(np.int64))
    return np.bitwise_or.reduceat(bits, paths.offsets[:-1])


def set_conversion_rates(paths: Paths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct channel sets (sorted), p(S) of each, and each journey's index into them."""
    masks = channel_sets(paths)
    sets, inverse, counts = np.unique(masks, return_inverse=True, return_counts=True)
    conversions = np.bincount(inverse, weights=paths.converted.astype(np.float64), minlength=len(sets))
    return sets, conversions / np.maximum(counts, 1), inverse


def shapley_values(members: list[int], sets: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Shapley values of the game v(U) = p(U) over the subsets of ``members`` (channel codes).

    Subset s (an integer whose bit i means ``members[i]``) has value p of the matching bitmask, 0 when that
    set was never observed. phi_i = sum over s without i of |s|! (k - |s| - 1)! / k! (v(s + i) - v(s)).
    """
    k = len(members)
    subsets = np.arange(1 << k, dtype=np.int64)
    masks = np.zeros(1 << k, dtype=np.int64)
    for i, channel in enumerate(members):
        masks |= ((subsets >> i) & 1) << channel
    where = np.searchsorted(sets, masks)
    where = np.minimum(where, len(sets) - 1)
    value = np.where(sets[where] == masks, rates[where], 0.0)
    size = np.bitwise_count(subsets).astype(np.int64)
    weight = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) if s < k else 0.0
                       for s in range(k + 1)])
    phi = np.empty(k)
    for i in range(k):
        without = subsets[((subsets >> i) & 1) == 0]
        phi[i] = np.sum(weight[size[without]] * (value[without | (1 << i)] - value[without]))
    return phi


def shapley(paths: Paths, *, max_set_size: int = 20) -> np.ndarray:
    """``credit: float64[m]``: each conversion split over its channels by clipped Shapley values.

    Raises:
        JourneysError: More than 62 channels, or a converting journey with more than ``max_set_size``
            distinct channels (2^size subsets).
    """
    if paths.n_touches == 0:
        return np.zeros(0)
    sets, rates, inverse = set_conversion_rates(paths)
    converting = np.unique(inverse[paths.converted])
    sizes = np.bitwise_count(sets[converting]).astype(np.int64)
    if len(sizes) and sizes.max() > max_set_size:
        raise JourneysError(f"shapley: a converting journey has {sizes.max()} distinct channels, at most "
                            f"{max_set_size} are supported (raise max_set_size or group channels)")
    weights = np.zeros((len(sets), len(paths.channels)))
    for index in converting:
        members = [c for c in range(len(paths.channels)) if (int(sets[index]) >> c) & 1]
        weights[index, members] = np.clip(shapley_values(members, sets, rates), 0.0, None)
    jot = paths.journey_of_touch
    return split_by_channel_weight(paths, weights[inverse[jot], paths.channel])

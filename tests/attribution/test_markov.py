"""Markov removal effects against a hand computation and an independent exact solve in fractions."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import numpy as np
import pytest

from attribution.markov import channel_shares, markov, removal_effects, transition_counts
from tests.attribution.helpers import credits_by_journey, paths_of


def test_hand_computed_removal_effects():
    # start -> A 2/3, -> B 1/3; A -> B 1/2, -> null 1/2; B -> conv 1.  P = 2/3 * 1/2 + 1/3 = 2/3.
    # Without A: P = 1/3, RE_A = 1/2.  Without B: P = 0, RE_B = 1.
    paths = paths_of({"ab": ([(0, "A"), (1, "B")], 2, 9.0), "a": ([(0, "A")], None, None),
                      "b": ([(0, "B")], 1, 3.0)})
    base, effects = removal_effects(paths)
    assert base == pytest.approx(2 / 3)
    assert effects == pytest.approx([0.5, 1.0])
    credit = credits_by_journey(paths, markov(paths))
    assert credit == {"a": [0.0], "ab": pytest.approx([1 / 3, 2 / 3]), "b": [1.0]}
    assert channel_shares(effects) == pytest.approx([1 / 3, 2 / 3])


def test_repeated_channel_spreads_its_credit_and_self_loops_change_nothing():
    paths = paths_of({"j": ([(0, "A"), (1, "A"), (2, "B")], 3, 1.0), "k": ([(0, "B")], None, None),
                      "l": ([(0, "A"), (1, "B"), (2, "A")], 3, 1.0)})
    _, kept = removal_effects(paths)
    _, collapsed = removal_effects(paths, collapse_repeats=True)
    np.testing.assert_allclose(kept, collapsed)
    counts = transition_counts(paths)
    assert counts[1, 1] == 1 and transition_counts(paths, collapse_repeats=True)[1, 1] == 0
    credit = credits_by_journey(paths, markov(paths))
    a_share = kept[0] / kept.sum()
    assert credit["j"] == pytest.approx([a_share / 2, a_share / 2, 1 - a_share])


def test_nothing_converts_gives_no_credit():
    paths = paths_of({"j": ([(0, "A")], None, None)})
    base, effects = removal_effects(paths)
    assert base == 0 and effects.tolist() == [0.0]
    assert markov(paths).tolist() == [0.0]


def _fraction_absorption(edges: dict[tuple[str, str], int], removed: str | None) -> Fraction:
    """P(start reaches conv), exact: Gauss-Jordan over Fractions on x_s = sum_t p(s,t) x_t, x_conv = 1."""
    states = sorted({s for s, _ in edges} | {t for _, t in edges} - {"conv", "null"})
    out: dict[str, dict[str, int]] = {}
    for (s, to), count in edges.items():
        t = "null" if removed is not None and to == removed else to
        out.setdefault(s, {}).setdefault(t, 0)
        out[s][t] += count
    index = {s: i for i, s in enumerate(states)}
    size = len(states)
    rows = []
    for s in states:
        row = [Fraction(0)] * (size + 1)
        row[index[s]] += 1
        total = sum(out.get(s, {}).values())
        for t, count in out.get(s, {}).items():
            p = Fraction(count, total)
            if t == "conv":
                row[size] += p
            elif t != "null":
                row[index[t]] -= p
        rows.append(row)
    for col in range(size):
        pivot = next(r for r in range(col, size) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        rows[col] = [v / rows[col][col] for v in rows[col]]
        for r in range(size):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return rows[index["start"]][size]


@pytest.mark.parametrize("seed", range(25))
def test_agrees_with_exact_fraction_solve_on_small_graphs(seed):
    rng = random.Random(seed)
    names = [f"c{i}" for i in range(rng.randint(1, 5))]
    spec, edges = {}, {}
    for j in range(rng.randint(1, 30)):
        touches = [rng.choice(names) for _ in range(rng.randint(1, 6))]
        converted = rng.random() < 0.4
        spec[f"j{j}"] = ([(d, c) for d, c in enumerate(touches)], len(touches) if converted else None,
                         1.0 if converted else None)
        walk = ["start", *touches, "conv" if converted else "null"]
        for s, t in itertools.pairwise(walk):
            edges[(s, t)] = edges.get((s, t), 0) + 1
    paths = paths_of(spec)
    base, effects = removal_effects(paths)
    exact = _fraction_absorption(edges, None)
    assert base == pytest.approx(float(exact), abs=1e-12)
    for code, name in enumerate(paths.channels):
        expected = 0.0 if exact == 0 else float(1 - _fraction_absorption(edges, name) / exact)
        assert effects[code] == pytest.approx(expected, abs=1e-12)

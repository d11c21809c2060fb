"""Shapley credits against a hand computation and a brute-force permutation average."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from attribution.paths import JourneysError
from attribution.shapley import MAX_CHANNELS, shapley
from tests.attribution.helpers import credits_by_journey, paths_of


def test_hand_computed_two_channels():
    # p({A}) = 1/2, p({B}) = 0, p({A,B}) = 1.  phi_A = (1/2 + (1 - 0)) / 2 = 3/4, phi_B = (0 + 1/2) / 2 = 1/4.
    paths = paths_of({
        "a1": ([(0, "A")], 1, 1.0), "a2": ([(0, "A")], None, None), "b": ([(0, "B")], None, None),
        "ab": ([(0, "B"), (1, "A"), (2, "B")], 3, 4.0),
    })
    credit = credits_by_journey(paths, shapley(paths))
    assert credit["ab"] == pytest.approx([1 / 8, 3 / 4, 1 / 8])  # B's 1/4 spread over its two touches
    assert credit["a1"] == [1.0] and credit["a2"] == [0.0] and credit["b"] == [0.0]


def test_negative_values_are_clipped_and_all_zero_splits_equally():
    # p({A}) = 1, p({B}) = 1, p({A,B}) = 1/2: phi_A = phi_B = (1 + (1/2 - 1)) / 2 = 1/4 each.
    # p({C}) = 1, p({D}) unseen, p({C,D}) = 1/3: phi_D = (0 + 1/3 - 1) / 2 < 0 -> clipped: C gets it all.
    paths = paths_of({
        "a": ([(0, "A")], 1, 1.0), "b": ([(0, "B")], 1, 1.0),
        "ab1": ([(0, "A"), (1, "B")], 2, 1.0), "ab2": ([(0, "A"), (1, "B")], None, None),
        "c": ([(0, "C")], 1, 1.0),
        "cd1": ([(0, "C"), (1, "D")], 2, 1.0), "cd2": ([(0, "D"), (1, "C")], None, None),
        "cd3": ([(0, "D"), (1, "C")], None, None),
    })
    credit = credits_by_journey(paths, shapley(paths))
    assert credit["ab1"] == pytest.approx([0.5, 0.5])
    assert credit["cd1"] == pytest.approx([1.0, 0.0])


def _brute_force(spec: dict) -> dict[str, dict[str, float]]:
    """Per converting journey, its channels' shares by the textbook permutation-average Shapley value."""
    seen, conv = {}, {}
    for touches, conv_day, _ in spec.values():
        s = frozenset(c for _, c in touches)
        seen[s] = seen.get(s, 0) + 1
        conv[s] = conv.get(s, 0) + (conv_day is not None)

    def v(u: frozenset) -> float:
        return conv[u] / seen[u] if u in seen else 0.0

    shares = {}
    for jid, (touches, conv_day, _) in spec.items():
        if conv_day is None:
            continue
        members = sorted({c for _, c in touches})
        phi = dict.fromkeys(members, 0.0)
        for order in itertools.permutations(members):
            before: frozenset = frozenset()
            for c in order:
                phi[c] += v(before | {c}) - v(before)
                before = before | {c}
        phi = {c: max(p / math.factorial(len(members)), 0.0) for c, p in phi.items()}
        total = sum(phi.values())
        shares[jid] = {c: (p / total if total > 0 else 1 / len(members)) for c, p in phi.items()}
    return shares


@pytest.mark.parametrize("seed", range(30))
def test_agrees_with_brute_force_permutations(seed):
    rng = random.Random(seed)
    names = [f"c{i}" for i in range(rng.randint(1, 6))]
    spec = {}
    for j in range(rng.randint(1, 60)):
        touches = [(d, rng.choice(names)) for d in range(rng.randint(1, 5))]
        converted = rng.random() < 0.5
        spec[f"j{j:03d}"] = (touches, len(touches) if converted else None, 1.0 if converted else None)
    paths = paths_of(spec)
    credit = shapley(paths)
    expected = _brute_force(spec)
    for j, jid in enumerate(paths.journey_ids):
        got: dict[str, float] = {}
        for t in range(paths.offsets[j], paths.offsets[j + 1]):
            name = paths.channels[paths.channel[t]]
            got[name] = got.get(name, 0.0) + credit[t]
        if jid in expected:
            assert got == pytest.approx(expected[jid], abs=1e-12)
        else:
            assert set(got.values()) == {0.0}


def test_limits_are_clear_errors():
    many = paths_of({"j": ([(d, f"c{d}") for d in range(5)], 5, 1.0)})
    with pytest.raises(JourneysError, match="5 distinct channels, at most 4"):
        shapley(many, max_set_size=4)
    wide = paths_of({f"j{i}": ([(0, f"c{i}")], 1, 1.0) for i in range(MAX_CHANNELS + 1)})
    with pytest.raises(JourneysError, match="63 channels, at most 62"):
        shapley(wide)

"""Rule-based models on hand-computed paths (field notes 5.2)."""

from __future__ import annotations

import numpy as np
import pytest

from attribution import rules
from attribution.paths import JourneysError
from tests.attribution.helpers import credits_by_journey, paths_of

SPEC = {
    "single": ([(0, "search")], 1, 10.0),
    "two": ([(0, "social"), (2, "search")], 3, 20.0),
    "repeat": ([(0, "email"), (1, "email"), (2, "search"), (3, "email")], 3, 40.0),
    "direct_only": ([(0, "direct"), (1, "direct")], 2, 5.0),
    "direct_last": ([(0, "social"), (1, "search"), (2, "direct")], 2, 5.0),
    "lost": ([(0, "social"), (1, "display")], None, None),
}


@pytest.fixture
def paths():
    return paths_of(SPEC)


def test_first_and_last_touch(paths):
    first = credits_by_journey(paths, rules.first_touch(paths))
    last = credits_by_journey(paths, rules.last_touch(paths))
    assert first["single"] == last["single"] == [1.0]
    assert first["two"] == [1.0, 0.0] and last["two"] == [0.0, 1.0]
    assert first["repeat"] == [1.0, 0, 0, 0] and last["repeat"] == [0, 0, 0, 1.0]
    assert first["lost"] == last["lost"] == [0.0, 0.0]


def test_last_non_direct(paths):
    credit = credits_by_journey(paths, rules.last_non_direct(paths))
    assert credit["direct_only"] == [0.0, 1.0]  # all direct: the last touch
    assert credit["direct_last"] == [0.0, 1.0, 0.0]  # direct passed over
    assert credit["repeat"] == [0, 0, 0, 1.0]
    other = credits_by_journey(paths, rules.last_non_direct(paths, direct_channel="email"))
    assert other["repeat"] == [0, 0, 1.0, 0]
    assert credits_by_journey(paths, rules.last_non_direct(paths, "nowhere")) == \
        credits_by_journey(paths, rules.last_touch(paths))


def test_linear(paths):
    credit = credits_by_journey(paths, rules.linear(paths))
    assert credit["single"] == [1.0]
    assert credit["two"] == [0.5, 0.5]
    assert credit["repeat"] == [0.25] * 4  # repeats count
    assert credit["lost"] == [0.0, 0.0]


def test_time_decay_half_life():
    # Touches 14, 7 and 0 days before the conversion with a 7-day half-life weigh 1/4, 1/2, 1.
    paths = paths_of({"j": ([(0, "a"), (7, "b"), (14, "c")], 14, 7.0),
                      "far": ([(0, "a"), (1, "b")], 10_000, 1.0)})
    credit = credits_by_journey(paths, rules.time_decay(paths, 7.0))
    assert credit["j"] == pytest.approx([0.25 / 1.75, 0.5 / 1.75, 1 / 1.75])
    # Touches 10,000 days old would underflow 2^-x: the weights stay relative (1/2 and 1 with h = 1).
    assert credits_by_journey(paths, rules.time_decay(paths, 1.0))["far"] == pytest.approx([1 / 3, 2 / 3])
    with pytest.raises(JourneysError, match="half_life_days"):
        rules.time_decay(paths, 0)


def test_position_based(paths):
    credit = credits_by_journey(paths, rules.position_based(paths))
    assert credit["single"] == [1.0]
    assert credit["two"] == [0.5, 0.5]
    assert credit["repeat"] == pytest.approx([0.4, 0.1, 0.1, 0.4])
    assert credit["direct_last"] == pytest.approx([0.4, 0.2, 0.4])
    skewed = credits_by_journey(paths, rules.position_based(paths, first=0.3, last=0.6))
    assert skewed["two"] == pytest.approx([1 / 3, 2 / 3])
    assert skewed["direct_last"] == pytest.approx([0.3, 0.1, 0.6])
    with pytest.raises(JourneysError, match="position weights"):
        rules.position_based(paths, 0.7, 0.7)


def test_custom_as_position_based_and_with_channel_weights(paths):
    u_shape = rules.custom(paths, {"first": 0.4, "middle": 0.2, "last": 0.4})
    np.testing.assert_allclose(u_shape, rules.position_based(paths))
    weighted = credits_by_journey(paths, rules.custom(paths, {"first": 1, "last": 1}, {"social": 3}))
    assert weighted["two"] == pytest.approx([0.75, 0.25])
    zero = credits_by_journey(paths, rules.custom(paths, {"middle": 1.0}))
    assert zero["two"] == [0.5, 0.5]  # nobody holds the role: equal split
    with pytest.raises(JourneysError, match="unknown role"):
        rules.custom(paths, {"opportunity": 1.0})


def test_custom_w_shaped_with_lead_creation_role():
    import pyarrow as pa

    from attribution.paths import Paths
    from tests.attribution.helpers import journeys

    table = journeys({"deal": ([(0, "social"), (1, "webinar"), (2, "email"), (3, "search"), (4, "sales")], 5, 100.0)})
    table = table.append_column("touch_role", pa.array([None, None, "lead_creation", None, None], pa.string()))
    paths = Paths.from_arrow(table, role_col="touch_role")
    credit = credits_by_journey(paths, rules.custom(paths))  # W: first .3, lead .3, last .3, middle .1 split
    assert credit["deal"] == pytest.approx([0.3, 0.1 / 3, 0.3 + 0.1 / 3, 0.1 / 3, 0.3])

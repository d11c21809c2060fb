"""The greedy allocator: brute-force agreement on small cases, bounds and the exact total, the modes."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.allocate import ChannelInput, allocate
from budget.curves import Curve

CURRENT = (100.0, 200.0, 300.0)  # total 600; at +-30 % and 0.5 % steps (3.0) every bound is a whole number of steps
STEP_SHARE = 0.005


def _channels(curves, current=CURRENT, max_observed=None):
    return {f"c{i}": ChannelInput(x, value_curve=c, conversions_curve=c, max_observed_spend=max_observed)
            for i, (x, c) in enumerate(zip(current, curves, strict=True))}


def _brute_force(curves, current=CURRENT, share=0.3):
    """Best value over every allocation on the step lattice within the bounds, with the same total."""
    step = sum(current) * STEP_SHARE
    lo = [x * (1 - share) for x in current]
    steps = [round(2 * share * x / step) for x in current]
    free = round((sum(current) - sum(lo)) / step)
    best = -math.inf
    for k0, k1 in itertools.product(range(steps[0] + 1), range(steps[1] + 1)):
        k2 = free - k0 - k1
        if 0 <= k2 <= steps[2]:
            ks = (k0, k1, k2)
            best = max(best, sum(c.response(lo[i] + ks[i] * step) for i, c in enumerate(curves)))
    return best


def _value(result, curves):
    return sum(c.response(a.recommended_spend) for a, c in zip(result, curves, strict=True))


CONCAVE_CASES = [
    (Curve(300.0, 120.0, 1.0), Curve(500.0, 400.0, 0.8), Curve(400.0, 150.0, 0.6)),
    (Curve(50.0, 1000.0, 1.0), Curve(900.0, 100.0, 1.0), Curve(600.0, 300.0, 0.9)),
    (Curve(200.0, 90.0, 0.5), Curve(200.0, 90.0, 0.5), Curve(200.0, 90.0, 0.5)),
]


@pytest.mark.parametrize("curves", CONCAVE_CASES)
def test_greedy_matches_brute_force_on_concave_curves(curves):
    result = allocate(_channels(curves), step_share=STEP_SHARE)
    assert _value(result, curves) == pytest.approx(_brute_force(curves), rel=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_greedy_close_to_brute_force_on_s_shaped_curves(seed):
    # S-shaped curves are not concave: greedy is not guaranteed optimal; stated tolerance 1 % of the value.
    import numpy as np

    rng = np.random.default_rng(seed)
    curves = tuple(Curve(float(rng.uniform(100, 1000)), float(rng.uniform(50, 400)), float(rng.uniform(0.5, 3.0)))
                   for _ in range(3))
    result = allocate(_channels(curves), step_share=STEP_SHARE)
    assert _value(result, curves) >= _brute_force(curves) * (1 - 0.01)


def test_money_moves_to_the_better_channel():
    good, poor = Curve(1000.0, 500.0, 1.0), Curve(100.0, 500.0, 1.0)
    result = {a.channel: a for a in allocate({"good": ChannelInput(100.0, good), "poor": ChannelInput(100.0, poor)})}
    assert result["good"].recommended_spend == pytest.approx(130.0)
    assert result["poor"].recommended_spend == pytest.approx(70.0)
    assert result["good"].binding == "upper_bound" and result["poor"].binding == "lower_bound"
    assert result["good"].value_change > 0 > result["poor"].value_change
    assert result["good"].reason.startswith("up 30%") and result["poor"].reason.startswith("down 30%")


def test_unfitted_channels_keep_their_spend_and_extrapolation_is_capped():
    good = Curve(1000.0, 500.0, 1.0)
    channels = {"capped": ChannelInput(100.0, good, max_observed_spend=80.0),
                "free": ChannelInput(100.0, Curve(300.0, 500.0, 1.0)), "unknown": ChannelInput(50.0)}
    result = {a.channel: a for a in allocate(channels)}
    assert result["unknown"].recommended_spend == 50.0 and result["unknown"].binding == "not_fitted"
    assert result["capped"].upper_bound == pytest.approx(120.0)  # 1.5 x 80, under +30 %
    assert result["capped"].recommended_spend == pytest.approx(120.0)
    assert result["capped"].binding == "extrapolation_cap"
    assert sum(a.recommended_spend for a in result.values()) == pytest.approx(250.0, abs=1e-9)


curve_strategy = st.builds(Curve, st.floats(1.0, 1e5), st.floats(1.0, 1e4), st.floats(0.3, 4.0),
                           st.floats(0.0, 0.9))
channel_strategy = st.builds(
    ChannelInput, st.floats(0.0, 1e4), st.one_of(st.none(), curve_strategy), st.one_of(st.none(), curve_strategy),
    st.one_of(st.none(), st.floats(1.0, 2e4)),
)


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=3), channel_strategy, min_size=1, max_size=6),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(1.0, 3.0))
def test_bounds_and_total_hold(channels, down, up, cap):
    result = allocate(channels, down=down, up=up, max_extrapolation=cap, step_share=0.01)
    total = sum(c.current_spend for c in channels.values())
    assert math.fsum(a.recommended_spend for a in result) == pytest.approx(total, rel=1e-12, abs=1e-9)
    for a in result:
        slack = 1e-9 * max(total, 1.0)
        assert a.lower_bound - slack <= a.recommended_spend <= a.upper_bound + slack
        assert a.lower_bound >= a.current_spend * (1 - down) - slack
        assert a.upper_bound <= a.current_spend * (1 + up) + slack
        observed = channels[a.channel].max_observed_spend
        if observed is not None:
            assert a.upper_bound <= max(a.current_spend, cap * observed) + slack


@given(st.dictionaries(st.text("abc", min_size=1, max_size=2), channel_strategy, min_size=1, max_size=4),
       st.sampled_from(["target_roas", "cap_cpa"]), st.floats(0.01, 100.0))
def test_target_modes_never_spend_more_than_now(channels, mode, target):
    result = allocate(channels, mode=mode, target=target, step_share=0.01)
    total = sum(c.current_spend for c in channels.values())
    assert math.fsum(a.recommended_spend for a in result) <= total * (1 + 1e-12) + 1e-9
    for a in result:
        assert a.lower_bound - 1e-9 <= a.recommended_spend <= a.upper_bound + 1e-9


def test_target_roas_keeps_blended_roas():
    curves = (Curve(300.0, 120.0, 1.0), Curve(500.0, 400.0, 0.8), Curve(400.0, 150.0, 0.6))
    assert sum(c.response(x) for c, x in zip(curves, CURRENT, strict=True)) / sum(CURRENT) < 1.12
    result = allocate(_channels(curves), mode="target_roas", target=1.12, step_share=STEP_SHARE)
    spend = sum(a.recommended_spend for a in result)
    assert _value(result, curves) / spend >= 1.12
    assert spend < sum(CURRENT)  # at current spends the blended ROAS is below 1.12: some budget is not spent
    assert any(a.binding == "target" for a in result)
    # Out of reach: 1.2 is missed even at the lower bounds.
    result = allocate(_channels(curves), mode="target_roas", target=1.2, step_share=STEP_SHARE)
    assert all(a.binding == "target_unreachable" and a.recommended_spend == a.lower_bound for a in result)
    assert "out of reach" in result[0].reason


def test_cap_cpa_stops_channels_at_the_cap():
    # Conversions curves: marginal CPA = 1 / marginal conversions per unit of spend.
    cheap, dear = Curve(10.0, 100.0, 1.0), Curve(2.0, 100.0, 1.0)
    channels = {"cheap": ChannelInput(100.0, conversions_curve=cheap),
                "dear": ChannelInput(100.0, conversions_curve=dear)}
    result = {a.channel: a for a in allocate(channels, mode="cap_cpa", target=60.0)}
    assert result["dear"].recommended_spend == pytest.approx(70.0)  # marginal CPA > 60 everywhere: lower bound
    assert result["cheap"].recommended_spend > 100.0
    assert result["cheap"].marginal_cpa <= 60.0 * 1.01


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown budget mode"):
        allocate({}, mode="max_clicks")
    with pytest.raises(ValueError, match="positive target"):
        allocate({}, mode="target_roas")
    with pytest.raises(ValueError, match="bounds"):
        allocate({}, down=-0.1)

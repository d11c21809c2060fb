"""Reallocation on response curves: a greedy fill on marginal return in small steps, within per-channel bounds.

Field notes 7.3 and Meridian's ``BudgetOptimizer``: every channel starts at its lower bound and the rest of the
budget goes, one step at a time, to the channel whose next step returns the most (``(R(x + d) - R(x)) / d``),
a channel frozen at its upper bound. For concave curves this is the optimum up to one step; for S-shaped ones it
is the greedy answer (tests check it against a brute-force grid). Bounds: ``[1 - down, 1 + up] x`` current spend,
the upper one never past ``max_extrapolation x`` the highest spend observed (``budget.plan`` passes the highest
adstock: the highest steady-state spend the data show). Channels without a fitted
curve keep their current spend.

Modes:
    ``max_value``: the same total budget, exactly, for the most predicted value.
    ``target_roas``: at most the current total; steps are taken while the blended predicted ROAS stays at or
        above the target: the least spend that keeps the target (the rest of the budget is not spent). When
        even the lower bounds miss the target, every channel stays at its lower bound, marked unreachable.
    ``cap_cpa``: at most the current total, on the conversions curves; a channel stops when its next step's
        marginal CPA would exceed the cap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from budget.curves import Curve

MODES = ("max_value", "target_roas", "cap_cpa")


@dataclass(frozen=True)
class ChannelInput:
    """What the allocator knows about one channel."""

    current_spend: float  # daily
    value_curve: Curve | None = None
    conversions_curve: Curve | None = None
    max_observed_spend: float | None = None
    note: str | None = None  # why there is no curve (the fit's reason), for the recommendation's words


@dataclass(frozen=True)
class Allocation:
    """One channel's recommendation (daily amounts)."""

    channel: str
    current_spend: float
    recommended_spend: float
    lower_bound: float
    upper_bound: float
    current_value: float | None
    recommended_value: float | None
    current_conversions: float | None
    recommended_conversions: float | None
    marginal_roas: float | None  # at the recommended spend
    marginal_cpa: float | None
    binding: str  # lower_bound, upper_bound, extrapolation_cap, target, target_unreachable, cap, balanced,
    # not_fitted
    reason: str

    @property
    def value_change(self) -> float | None:
        if self.current_value is None or self.recommended_value is None:
            return None
        return self.recommended_value - self.current_value

    @property
    def conversions_change(self) -> float | None:
        if self.current_conversions is None or self.recommended_conversions is None:
            return None
        return self.recommended_conversions - self.current_conversions


def bounds(current: float, max_observed: float | None, down: float, up: float,
           max_extrapolation: float) -> tuple[float, float, bool]:
    """Lower and upper daily spend and whether the extrapolation cap (not the ``up`` share) is the upper one."""
    lower = max(0.0, current * (1.0 - down))
    upper = current * (1.0 + up)
    capped = False
    if max_observed is not None and upper > max_extrapolation * max_observed:
        upper, capped = max(current, max_extrapolation * max_observed), True
    return lower, upper, capped


def allocate(channels: Mapping[str, ChannelInput], *, mode: str = "max_value", target: float | None = None,
             down: float = 0.3, up: float = 0.3, max_extrapolation: float = 1.5,
             step_share: float = 0.001) -> list[Allocation]:
    """Recommend daily spend per channel.

    Args:
        channels: Channel name -> current daily spend and curves.
        mode: ``max_value``, ``target_roas`` or ``cap_cpa``.
        target: The ROAS target (``target_roas``) or the CPA cap (``cap_cpa``).
        down: Lowest recommended spend as a share below current (0.3 = -30 %).
        up: Highest recommended spend as a share above current.
        max_extrapolation: Never recommend more than this times the channel's ``max_observed_spend``.
        step_share: Step size as a share of the total current budget.

    Returns:
        One allocation per channel, in the order given. In ``max_value`` mode the recommended spends sum to
        the current total (to floating-point rounding).
    """
    _validate(mode, target, down, up, max_extrapolation, step_share)
    names = list(channels)
    metric = "conversions_curve" if mode == "cap_cpa" else "value_curve"
    curves = {n: getattr(channels[n], metric) for n in names}
    total = math.fsum(max(0.0, channels[n].current_spend) for n in names)
    lo, hi, capped = {}, {}, {}
    for n in names:
        current = max(0.0, channels[n].current_spend)
        if curves[n] is None:
            lo[n], hi[n], capped[n] = current, current, False
        else:
            lo[n], hi[n], capped[n] = bounds(current, channels[n].max_observed_spend, down, up, max_extrapolation)
    spend = dict(lo)
    stopped = _fill(channels, curves, spend, hi, total, mode, target, max(total * step_share, 1e-9))
    if mode == "max_value" and names:
        # Absorb floating-point rounding so the total is exact: on the channel with the most room.
        gap = total - math.fsum(spend.values())
        room = max(names, key=lambda n: (hi[n] - spend[n]) if gap > 0 else (spend[n] - lo[n]))
        spend[room] += gap
    if mode == "target_roas":
        fitted = [n for n in names if curves[n] is not None]
        spent = math.fsum(spend[n] for n in fitted)
        value = math.fsum(curves[n].response(spend[n]) for n in fitted)
        if spent > 0 and value / spent < target:
            stopped = dict.fromkeys(fitted, "unreachable")
    return [_result(n, channels[n], spend[n], lo[n], hi[n], capped[n], stopped.get(n), mode, target)
            for n in names]


def _validate(mode: str, target: float | None, down: float, up: float, max_extrapolation: float,
              step_share: float) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown budget mode {mode!r}: use one of {', '.join(MODES)}")
    if mode != "max_value" and (target is None or not target > 0):
        raise ValueError(f"mode {mode} needs a positive target, not {target}")
    if min(down, up) < 0 or down > 1 or max_extrapolation < 1 or not 0 < step_share <= 1:
        raise ValueError("bounds must be 0 <= down <= 1, up >= 0, max_extrapolation >= 1, 0 < step_share <= 1")


def _fill(channels: Mapping[str, ChannelInput], curves: Mapping[str, Curve | None], spend: dict[str, float],
          hi: Mapping[str, float], total: float, mode: str, target: float | None, step: float) -> dict[str, str]:
    """Greedy steps from the lower bounds (``spend``, updated in place); the channels the CPA cap stopped."""
    names = list(channels)
    remaining = total - math.fsum(spend.values())
    tiny = 1e-12 * max(total, 1.0)
    stopped: dict[str, str] = {}
    blended_value = math.fsum(curves[n].response(spend[n]) for n in names if curves[n] is not None)
    while remaining > tiny:
        best, best_gain, best_d = None, -math.inf, 0.0
        for n in names:
            d = min(step, remaining, hi[n] - spend[n])
            if n in stopped or curves[n] is None or d <= tiny:
                continue
            g = (curves[n].response(spend[n] + d) - curves[n].response(spend[n])) / d
            if mode == "cap_cpa" and (g <= 0 or 1.0 / g > target):
                stopped[n] = "cap"
                continue
            if g > best_gain:
                best, best_gain, best_d = n, g, d
        if best is None:
            break
        if mode == "target_roas":
            new_value = blended_value + best_gain * best_d
            # Blended over the channels with a curve (the others' value is unknown; they keep their spend).
            if new_value / (math.fsum(spend[n] for n in names if curves[n] is not None) + best_d) < target:
                break
            blended_value = new_value
        spend[best] += best_d
        remaining -= best_d
    return stopped


def _result(name: str, channel: ChannelInput, spend: float, lo: float, hi: float, capped: bool,
            stopped: str | None, mode: str, target: float | None) -> Allocation:
    current = max(0.0, channel.current_spend)
    vc, cc = channel.value_curve, channel.conversions_curve
    curve = cc if mode == "cap_cpa" else vc
    tol = 1e-9 * max(current, 1.0)
    if curve is None:
        binding = "not_fitted"
        reason = f"kept at current spend: no usable response curve ({channel.note})" if channel.note else (
            "kept at current spend: no usable response curve")
    elif spend >= hi - tol:
        binding = "extrapolation_cap" if capped else "upper_bound"
        reason = ("raised to the cap of the observed spend range: never extrapolated further" if capped
                  else "raised to its upper bound: its marginal return there still beats the other channels'")
    elif stopped == "unreachable":
        binding = "target_unreachable"
        reason = f"cut to its lower bound: the ROAS target {target:g} is out of reach even at the lower bounds"
    elif spend <= lo + tol:
        binding = "lower_bound"
        reason = "cut to its lower bound: its marginal return there is still below the other channels'"
        if stopped == "cap":
            reason = f"cut to its lower bound: marginal CPA above the cap {target:g}"
    elif stopped == "cap":
        binding, reason = "cap", f"raised until its marginal CPA reached the cap {target:g}"
    elif mode == "target_roas":
        binding, reason = "target", f"spend stops where the blended ROAS would fall below {target:g}"
    else:
        binding, reason = "balanced", "marginal return balanced with the other channels"
    if curve is not None and abs(spend - current) <= tol and binding not in ("upper_bound", "lower_bound"):
        reason = "kept: " + reason
    direction = "up" if spend > current + tol else "down" if spend < current - tol else "unchanged"
    if curve is not None:
        reason = f"{direction} {abs(spend - current) / current:.0%}: {reason}" if current > 0 else reason
    return Allocation(
        channel=name, current_spend=current, recommended_spend=spend, lower_bound=lo, upper_bound=hi,
        current_value=vc.response(current) if vc else None, recommended_value=vc.response(spend) if vc else None,
        current_conversions=cc.response(current) if cc else None,
        recommended_conversions=cc.response(spend) if cc else None,
        marginal_roas=vc.marginal(spend) if vc else None,
        marginal_cpa=(1.0 / cc.marginal(spend) if cc and cc.marginal(spend) > 0 else None),
        binding=binding, reason=reason,
    )

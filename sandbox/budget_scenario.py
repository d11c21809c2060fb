"""The next simulated period under a budget plan: true conversions when each platform's delivery is scaled.

The sandbox knows its response curves because it simulates people: :func:`next_period` runs the world's calendar
extended by ``days`` days (:class:`ScenarioWorld`), where each paid platform's budgets are its business-as-usual
ones times the plan's multiplier, and counts the true conversions of those days. Business as usual holds each
platform at its current flight (the mean flight factor of the last ``CURRENT_DAYS`` days, what the budget marts
call current spend): the flights that make curves identifiable stop when the plan starts, so flat and plan differ
only by the multipliers.

Every scenario draws from the same seeds (common random numbers): the history is identical, a person-day converts
on the same uniform draw, and the people a channel reaches are a prefix of that channel's own stream
(``sandbox.journeys._touches``), so ``plan - flat`` is an exact comparison, not two noisy samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import numpy as np

from sandbox.journeys import PAID
from sandbox.world import FX_FROM_PLN, World

CURRENT_DAYS = 7  # the budget marts' current spend: the mean of the last 7 days (var budget_current_days)


@dataclass(frozen=True)
class PeriodOutcome:
    """What really happened over the extension days of one scenario."""

    first_day: date
    days: int
    multipliers: dict[str, float]
    conversions: int  # true conversions (every type) on the extension days
    expected_conversions: float  # their expectation (every person-day's probability summed): the truth without draws
    value_pln: float  # their value (purchases; leads have none until a deal closes)
    spend_pln: dict[str, float]  # per paid platform, over the extension days

    @property
    def total_spend_pln(self) -> float:
        return sum(self.spend_pln.values())


@dataclass
class ScenarioWorld(World):
    """A world whose calendar runs ``extra_days`` past its configured end, the platforms' budgets scaled there.

    The configuration is the base world's, so every entity, id, budget revision and past day stays as it was.
    """

    extra_days: int = 14
    multipliers: Mapping[str, float] = field(default_factory=dict)

    @property
    def calendar_end(self) -> date:
        return self.config.end_date + timedelta(days=self.extra_days)

    def flight(self, platform: str, day: date) -> float:
        if day <= self.config.end_date:
            return super().flight(platform, day)
        return self._current_flight[platform] * float(self.multipliers.get(platform, 1.0))

    @cached_property
    def _current_flight(self) -> dict[str, float]:
        end = self.config.end_date
        return {platform: float(np.mean([super(ScenarioWorld, self).flight(platform, end - timedelta(days=i))
                                         for i in range(CURRENT_DAYS)]))
                for platform in PAID}


def _check(multipliers: Mapping[str, float], days: int) -> dict[str, float]:
    if days <= 0:
        raise ValueError(f"the next period needs at least one day, not {days}")
    unknown = sorted(set(multipliers) - set(PAID))
    if unknown:
        raise ValueError(f"no paid platform {', '.join(map(repr, unknown))} in the sandbox (it has "
                          f"{', '.join(PAID)})")
    bad = {p: m for p, m in multipliers.items() if not (m > 0 and np.isfinite(m))}
    if bad:
        raise ValueError(f"budget multipliers must be positive: {bad}")
    return {p: float(multipliers.get(p, 1.0)) for p in PAID}


def next_period(world: World, multipliers: Mapping[str, float], days: int = 14) -> PeriodOutcome:
    """True conversions and spend over the ``days`` days after the world's calendar, each paid platform's
    business-as-usual delivery scaled by its multiplier (missing platforms 1.0)."""
    scaled = _check(multipliers, days)
    scenario = ScenarioWorld(world.config, extra_days=days, multipliers=scaled)
    journeys = scenario.journeys
    first = world.config.days
    on_period = journeys.conversions["day"] >= first
    spend = dict.fromkeys(PAID, 0.0)
    period = [world.config.end_date + timedelta(days=i + 1) for i in range(days)]
    for ad in scenario.paid_ads():
        account = ad.ad_group.campaign.account
        cents = sum(d.spend_cents for day in period if (d := scenario.delivery(ad, day)) is not None)
        spend[account.platform] += cents / 100 / FX_FROM_PLN[account.currency]
    return PeriodOutcome(
        first_day=period[0], days=days, multipliers=scaled, conversions=int(on_period.sum()),
        expected_conversions=float(journeys.expected_by_day[first:].sum()),
        value_pln=float(journeys.conversions["value_cents"][on_period].sum()) / 100, spend_pln=spend)

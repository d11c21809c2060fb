"""The next simulated period under budget multipliers: common random numbers make flat vs plan exact."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from flows.budget_check import ChannelPlan, multipliers, sandbox_platform
from pipelines.errors import AdlakeError
from sandbox.budget_scenario import ScenarioWorld, next_period
from sandbox.journeys import EFFECTS, PAID
from sandbox.world import FX_FROM_PLN, World, WorldConfig

DAYS = 10


@pytest.fixture(scope="module")
def small() -> World:
    return World(WorldConfig(seed=11, scale=0.5, days=35))


@pytest.fixture(scope="module")
def flat(small: World):
    return next_period(small, {}, DAYS)


def test_flights_make_every_paid_platforms_spend_vary(small: World) -> None:
    for platform in PAID:
        daily = np.zeros(small.config.days)
        for account in small.accounts[platform]:
            for ad in small.all_ads(account):
                for i, day in enumerate(small.config.dates()):
                    if (d := small.delivery(ad, day)) is not None:
                        daily[i] += d.spend_cents / FX_FROM_PLN[account.currency]
        assert daily.std() / daily.mean() > 0.2, platform


def test_multipliers_of_one_are_business_as_usual_and_leave_the_past_alone(small: World, flat) -> None:
    ones = next_period(small, dict.fromkeys(PAID, 1.0), DAYS)
    assert ones == flat
    assert flat.first_day == small.config.end_date + timedelta(days=1) and flat.days == DAYS
    assert flat.conversions > 0 and all(s > 0 for s in flat.spend_pln.values())
    # The extended calendar simulates the same history as the plain world, conversion by conversion.
    extended = ScenarioWorld(small.config, extra_days=DAYS).journeys.conversions
    plain = small.journeys.conversions
    past = extended["day"] < small.config.days
    for name, values in plain.items():
        assert np.array_equal(extended[name][past], values), name
    assert int((~past).sum()) == flat.conversions
    assert flat.expected_conversions == pytest.approx(flat.conversions, rel=0.15)


def test_a_channel_without_effect_changes_nothing(small: World, flat) -> None:
    assert EFFECTS["programmatic"] == 0
    doubled = next_period(small, {"programmatic": 2.0}, DAYS)
    assert doubled.conversions == flat.conversions and doubled.value_pln == flat.value_pln
    assert doubled.expected_conversions == flat.expected_conversions
    assert doubled.spend_pln["programmatic"] == pytest.approx(2 * flat.spend_pln["programmatic"], rel=0.02)
    assert {p: s for p, s in doubled.spend_pln.items() if p != "programmatic"} == {
        p: s for p, s in flat.spend_pln.items() if p != "programmatic"}


def test_more_budget_on_search_buys_more_conversions(small: World, flat) -> None:
    more, less = next_period(small, {"google_ads": 2.0}, DAYS), next_period(small, {"google_ads": 0.5}, DAYS)
    assert more.conversions > flat.conversions > less.conversions
    assert more.expected_conversions > flat.expected_conversions > less.expected_conversions


@pytest.mark.parametrize(("plan", "message"), [
    ({"myspace": 1.2}, "no paid platform 'myspace'"),
    ({"meta": -1.0}, "must be positive"),
    ({"meta": float("nan")}, "must be positive"),
])
def test_bad_multipliers_are_rejected(small: World, plan: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        next_period(small, plan, DAYS)


def test_attribution_channels_map_to_sandbox_platforms() -> None:
    assert sandbox_platform("paid_social:meta_ads") == "meta"
    assert sandbox_platform("paid_search:google_ads") == "google_ads"
    assert sandbox_platform("display:programmatic") == "programmatic"
    with pytest.raises(AdlakeError, match="no paid platform"):
        sandbox_platform("email")
    plans = [ChannelPlan("paid_social:meta_ads", "meta", 100.0, 130.0, 1.0, "fitted", 0.5, 0.5, 0.3, 0.2),
             ChannelPlan("display:programmatic", "programmatic", 50.0, 35.0, -1.0, "fitted", 0.4, 0.4, 0.3, 0.2),
             ChannelPlan("affiliate:affiliate", "affiliate", 0.0, 0.0, 0.0, "no_spend", None, None, None, None)]
    assert multipliers(plans) == {"meta": pytest.approx(1.3), "programmatic": pytest.approx(0.7)}

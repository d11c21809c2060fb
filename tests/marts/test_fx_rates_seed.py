"""The shipped FX seed holds the sandbox's demo rates for every simulated day, so the demo's
reporting-currency amounts are the sandbox's own conversions."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sandbox.world import FX_FROM_PLN, WorldConfig
from tests.conftest import REPO

SEED = REPO / "seeds" / "fx_rates_daily.csv"


def _rates() -> dict[date, dict[str, Decimal]]:
    out: dict[date, dict[str, Decimal]] = defaultdict(dict)
    with SEED.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            assert row["base_currency"] == "PLN", row
            day = date.fromisoformat(row["rate_date"])
            assert row["quote_currency"] not in out[day], f"two rates for {row['quote_currency']} on {day}"
            out[day][row["quote_currency"]] = Decimal(row["rate"])
    return out


def test_the_seed_has_the_sandbox_rates_for_every_simulated_day() -> None:
    rates = _rates()
    wanted = {currency: Decimal(str(rate)) for currency, rate in FX_FROM_PLN.items() if currency != "PLN"}
    for day in WorldConfig().dates():
        assert rates.get(day) == wanted, day


def test_the_seed_has_no_gaps_between_its_first_and_last_day() -> None:
    days = sorted(_rates())
    assert (days[-1] - days[0]).days + 1 == len(days)

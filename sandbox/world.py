"""The simulated world: advertisers' accounts, their campaign hierarchies and daily delivery.

Everything is a pure function of ``(seed, scale, keys)``: each entity and each (ad, day) draws
from its own random stream seeded by a stable hash of its keys, so any slice of delivery can be
generated on demand, in any order, and the same seed always gives byte-identical output. The
people's journeys (``sandbox.journeys``) are simulated once per world, on first use, in memory
bounded by the population.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import numpy as np

from sandbox.journeys import CLICK, Journeys

DEFAULT_SEED = 7
DEFAULT_START = date(2026, 9, 1)
DEFAULT_DAYS = 60


def stream(seed: int, *keys: object) -> random.Random:
    """A random stream of its own for one entity or event, stable across processes and runs."""
    digest = hashlib.sha256("|".join(map(str, (seed, *keys))).encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


@dataclass(frozen=True)
class WorldConfig:
    """The knobs of a world: seed, size and the simulated calendar."""

    seed: int = DEFAULT_SEED
    scale: float = 1.0
    start_date: date = DEFAULT_START
    days: int = DEFAULT_DAYS

    @property
    def end_date(self) -> date:
        """Last simulated day (inclusive)."""
        return self.start_date + timedelta(days=self.days - 1)

    def dates(self) -> list[date]:
        """Every simulated day."""
        return [self.start_date + timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True)
class AdAccount:
    platform: str
    account_id: str
    name: str
    currency: str
    timezone: str
    business_id: str


@dataclass(frozen=True)
class Campaign:
    account: AdAccount
    campaign_id: str
    name: str
    objective: str
    created_day: date


@dataclass(frozen=True)
class AdGroup:
    campaign: Campaign
    ad_group_id: str
    name: str
    daily_budget_cents: int
    start_day: date


@dataclass(frozen=True)
class Ad:
    ad_group: AdGroup
    ad_id: str
    name: str
    start_day: date
    end_day: date | None


@dataclass(frozen=True)
class Delivery:
    """What really happened for one ad on one local day (before any platform's reporting)."""

    ad: Ad
    day: date
    spend_cents: int
    impressions: int
    reach: int
    clicks: int
    link_clicks: int


@dataclass(frozen=True)
class Reported:
    """What a platform reports for one ad and local day as of a date.

    Delivery is final at once; conversions are the platform's own claims (see
    ``sandbox.journeys``) of conversions that happened by ``as_of``, attributed to the day of
    the claimed touch, so a day's numbers grow until the platform's window closes. Purchases
    are counted in ``click_conversions`` (within the platform's default click window) and
    ``view_conversions`` (default view window); leads apart. Money in the account currency.
    """

    delivery: Delivery
    click_conversions: int
    view_conversions: int
    leads: int
    conversion_value_cents: int
    click_1d: int = 0
    click_7d: int = 0
    click_28d: int = 0


# Account templates per platform: (name, currency, report time zone).
_ACCOUNT_TEMPLATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "meta": (
        ("Nordlys Home PL", "PLN", "Europe/Warsaw"),
        ("Nordlys Home US", "USD", "America/New_York"),
    ),
    "google_ads": (
        ("Nordlys Search ES", "EUR", "Europe/Madrid"),
        ("Nordlys Search PL", "PLN", "Europe/Warsaw"),
    ),
    "linkedin_ads": (("Nordlys B2B EU", "EUR", "UTC"),),
    "tiktok_ads": (("Nordlys Video PL", "PLN", "Europe/Warsaw"),),
    "microsoft_ads": (("Nordlys Bing DE", "EUR", "Europe/Berlin"),),
    "programmatic": (("Nordlys Display", "USD", "UTC"),),
    "affiliate": (("Nordlys Partners", "PLN", "Europe/Warsaw"),),
}
PLATFORMS = tuple(_ACCOUNT_TEMPLATES)
# Default reporting windows (click days, view days): Meta's 7d_click/1d_view setting, Google's 30-day
# click-through conversions, and so on. Claims are made within the wider CLAIM_WINDOWS.
REPORT_WINDOWS = {
    "meta": (7, 1), "google_ads": (30, 0), "linkedin_ads": (30, 7), "tiktok_ads": (7, 1),
    "microsoft_ads": (30, 0), "programmatic": (7, 7), "affiliate": (30, 0),
}
# Fixed demo exchange rates: order values are simulated in PLN.
FX_FROM_PLN = {"PLN": 1.0, "EUR": 0.23, "USD": 0.25}
BUDGET_PERIOD_DAYS = 14
# Advertisers flight each platform's budgets: in blocks of 3 to 7 days every ad group of the platform runs at a
# factor of its budget drawn from FLIGHT_RANGE. Without it a channel's daily spend barely varies (the revisions are
# per ad group and average out over many), so no response curve could be told from the data (issue G).
FLIGHT_RANGE = (0.5, 1.6)
FLIGHT_BLOCK_DAYS = (3, 7)
FLIGHT_HORIZON_DAYS = 366  # flights are drawn this far past the calendar (a scenario may extend it)
_OBJECTIVES = ("OUTCOME_SALES", "OUTCOME_LEADS", "OUTCOME_TRAFFIC")
_CAMPAIGN_THEMES = ("Prospecting", "Retargeting", "Brand", "Seasonal", "Catalog", "Lookalike")
# Typical cost per thousand impressions, in the account currency's main unit.
_CPM = {"PLN": (18.0, 45.0), "USD": (6.0, 14.0), "EUR": (5.0, 12.0)}
_BUDGET = {"PLN": (80, 600), "USD": (20, 150), "EUR": (20, 150)}


@dataclass
class World:
    """A deterministic world for one configuration."""

    config: WorldConfig = field(default_factory=WorldConfig)

    def _id(self, *keys: object, digits: int = 15) -> str:
        rng = stream(self.config.seed, "id", *keys)
        return str(rng.randrange(10 ** (digits - 1), 10**digits))

    @cached_property
    def accounts(self) -> dict[str, list[AdAccount]]:
        """Ad accounts per platform."""
        out: dict[str, list[AdAccount]] = {}
        for platform, templates in _ACCOUNT_TEMPLATES.items():
            business = self._id(platform, "business", digits=15)
            out[platform] = [
                AdAccount(platform, self._id(platform, "account", i, digits=10), name, currency, tz, business)
                for i, (name, currency, tz) in enumerate(templates)
            ]
        return out

    def account(self, platform: str, account_id: str) -> AdAccount | None:
        """One account by id, or None when the platform has no such account."""
        return next((a for a in self.accounts.get(platform, []) if a.account_id == account_id), None)

    def campaigns(self, account: AdAccount) -> list[Campaign]:
        """Campaigns of an account; their number grows with the scale."""
        count = max(1, round(3 * self.config.scale))
        out = []
        for i in range(count):
            rng = stream(self.config.seed, "campaign", account.account_id, i)
            theme = _CAMPAIGN_THEMES[i % len(_CAMPAIGN_THEMES)]
            out.append(Campaign(
                account=account,
                campaign_id=self._id("campaign", account.account_id, i, digits=18),
                name=f"{theme} {account.currency} {i + 1:02d}",
                objective=_OBJECTIVES[rng.randrange(len(_OBJECTIVES))],
                created_day=self.config.start_date - timedelta(days=rng.randrange(5, 40)),
            ))
        return out

    def ad_groups(self, campaign: Campaign) -> list[AdGroup]:
        """Two ad groups (Meta ad sets) per campaign, each with its own daily budget."""
        low, high = _BUDGET[campaign.account.currency]
        out = []
        for i in range(2):
            rng = stream(self.config.seed, "ad_group", campaign.campaign_id, i)
            out.append(AdGroup(
                campaign=campaign,
                ad_group_id=self._id("ad_group", campaign.campaign_id, i, digits=18),
                name=f"{campaign.name} / {('Broad', 'Interest', 'Custom audience')[rng.randrange(3)]} {i + 1}",
                daily_budget_cents=rng.randrange(low, high) * 100,
                start_day=self.config.start_date + timedelta(days=rng.randrange(0, 5)),
            ))
        return out

    def ads(self, ad_group: AdGroup) -> list[Ad]:
        """Two ads per ad group; some stop before the end of the simulated period."""
        out = []
        for i in range(2):
            rng = stream(self.config.seed, "ad", ad_group.ad_group_id, i)
            start = ad_group.start_day + timedelta(days=rng.randrange(0, 3))
            stops = rng.random() < 0.25
            end = self.config.end_date - timedelta(days=rng.randrange(5, 25)) if stops else None
            out.append(Ad(ad_group, self._id("ad", ad_group.ad_group_id, i, digits=18),
                          f"{ad_group.name} / Creative {chr(65 + i)}", start, end))
        return out

    def all_ads(self, account: AdAccount) -> list[Ad]:
        """Every ad of an account, in hierarchy order."""
        return [ad for c in self.campaigns(account) for g in self.ad_groups(c) for ad in self.ads(g)]

    def delivery(self, ad: Ad, day: date) -> Delivery | None:
        """What the ad delivered on a local day, or None when it did not run."""
        if day < ad.start_day or (ad.end_day is not None and day > ad.end_day):
            return None
        if not self.config.start_date <= day <= self.calendar_end:
            return None
        rng = stream(self.config.seed, "delivery", ad.ad_id, day.isoformat())
        currency = ad.ad_group.campaign.account.currency
        weekday = 1.15 if day.weekday() < 5 else 0.8
        # Each ad of the ad set takes a share of the ad set's budget.
        spend_cents = int(self.daily_budget_cents(ad.ad_group, day) * 0.5 * weekday * rng.uniform(0.55, 1.0))
        if spend_cents <= 0:
            return None
        cpm = rng.uniform(*_CPM[currency])
        impressions = max(1, int(spend_cents / 100 / cpm * 1000))
        frequency = rng.uniform(1.05, 1.9)
        reach = max(1, int(impressions / frequency))
        clicks = int(impressions * rng.uniform(0.006, 0.025))
        link_clicks = int(clicks * rng.uniform(0.55, 0.85))
        return Delivery(ad, day, spend_cents, impressions, reach, clicks, link_clicks)

    def daily_budget_cents(self, ad_group: AdGroup, day: date) -> int:
        """The ad group's daily budget on a day: revised every two weeks (±25 %), times the platform's flight."""
        period = max(0, (day - self.config.start_date).days) // BUDGET_PERIOD_DAYS
        budget = ad_group.daily_budget_cents
        for step in range(1, period + 1):
            change = stream(self.config.seed, "budget", ad_group.ad_group_id, step).uniform(-0.25, 0.25)
            budget = int(budget * (1 + change)) // 100 * 100
        flight = self.flight(ad_group.campaign.account.platform, day)
        return max(100, int(budget * flight) // 100 * 100)

    def budget_changed_on(self, ad_group: AdGroup, day: date) -> date:
        """The day the budget in force on ``day`` was set (the ad group's start, the last revision or flight)."""
        number = max(0, (day - self.config.start_date).days)
        revised = number // BUDGET_PERIOD_DAYS * BUDGET_PERIOD_DAYS
        flown = self._flight_start(ad_group.campaign.account.platform, number)
        return max(ad_group.start_day, self.config.start_date + timedelta(days=max(revised, flown)))

    def flight(self, platform: str, day: date) -> float:
        """The platform's budget flight factor on a day (1 outside the drawn flights)."""
        number = (day - self.config.start_date).days
        starts, factors = self._flights.get(platform, ((), ()))
        if number < 0 or not starts or number >= starts[-1]:
            return 1.0
        return factors[bisect.bisect_right(starts, number) - 1]

    def _flight_start(self, platform: str, number: int) -> int:
        starts = self._flights.get(platform, ((0,), ()))[0]
        return starts[max(0, min(bisect.bisect_right(starts, number), len(starts) - 1) - 1)] if number >= 0 else 0

    @cached_property
    def _flights(self) -> dict[str, tuple[tuple[int, ...], tuple[float, ...]]]:
        """Per platform: the first day number of each flight block (and the end of the last) and its factor."""
        out = {}
        for platform in PLATFORMS:
            starts, factors = [0], []
            while starts[-1] < self.config.days + FLIGHT_HORIZON_DAYS:
                rng = stream(self.config.seed, "flight", platform, len(factors))
                starts.append(starts[-1] + rng.randint(*FLIGHT_BLOCK_DAYS))
                factors.append(rng.uniform(*FLIGHT_RANGE))
            out[platform] = (tuple(starts), tuple(factors))
        return out

    @property
    def calendar_end(self) -> date:
        """The last day anything is delivered and simulated (a scenario extends it past the configured end)."""
        return self.config.end_date

    def calendar(self) -> list[date]:
        """Every delivered and simulated day."""
        return [self.config.start_date + timedelta(days=i)
                for i in range((self.calendar_end - self.config.start_date).days + 1)]

    def paid_ads(self) -> list[Ad]:
        """Every ad of every paid platform, in a fixed order (the journeys' ad index)."""
        return [ad for platform in PLATFORMS for account in self.accounts.get(platform, [])
                for ad in self.all_ads(account)]

    @cached_property
    def journeys(self) -> Journeys:
        """The people's simulated behaviour (computed once per world, on first use)."""
        return Journeys.simulate(self)

    @cached_property
    def _claim_slices(self) -> tuple[dict[tuple[int, int], slice], dict[str, np.ndarray]]:
        claims = self.journeys.claims
        order = np.lexsort((claims["touch_day"], claims["ad"]))
        ordered = {name: values[order] for name, values in claims.items()}
        keys = ordered["ad"] * 10_000 + ordered["touch_day"]
        if len(keys) == 0:
            return {}, ordered
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        ends = np.r_[starts[1:], len(keys)]
        index = {(int(ordered["ad"][a]), int(ordered["touch_day"][a])): slice(int(a), int(b))
                 for a, b in zip(starts, ends, strict=True)}
        return index, ordered

    def reported(self, ad: Ad, day: date, as_of: date) -> Reported | None:
        """What the ad's platform reports for a local day when asked on ``as_of`` (None: nothing, or the future)."""
        if day > as_of:
            return None
        delivery = self.delivery(ad, day)
        if delivery is None:
            return None
        index, claims = self._claim_slices
        day_number = (day - self.config.start_date).days
        where = index.get((self.journeys.ad_index[ad.ad_id], day_number))
        platform = ad.ad_group.campaign.account.platform
        if where is None:
            return Reported(delivery, 0, 0, 0, 0)
        known = claims["conversion_day"][where] <= (as_of - self.config.start_date).days
        lag = (claims["conversion_day"][where] - claims["touch_day"][where])[known]
        is_click = (claims["kind"][where] == CLICK)[known]
        is_lead = claims["is_lead"][where][known]
        value = claims["value_cents"][where][known]
        click_window, view_window = REPORT_WINDOWS[platform]
        purchase_click = is_click & ~is_lead
        counted_click = purchase_click & (lag <= click_window)
        counted_view = ~is_click & ~is_lead & (lag <= view_window)
        rate = FX_FROM_PLN[ad.ad_group.campaign.account.currency]
        return Reported(
            delivery,
            click_conversions=int(counted_click.sum()),
            view_conversions=int(counted_view.sum()),
            leads=int((is_lead & (is_click | (lag <= view_window))).sum()),
            conversion_value_cents=round(float(value[counted_click | counted_view].sum()) * rate),
            click_1d=int((purchase_click & (lag <= 1)).sum()),
            click_7d=int((purchase_click & (lag <= 7)).sum()),
            click_28d=int((purchase_click & (lag <= 28)).sum()),
        )

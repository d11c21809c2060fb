"""People, their touches across channels and their conversions, with known causal effects.

The simulation runs day by day over the whole population with NumPy (no per-person Python
loop), so memory is bounded by the population (O(people x channels)), not by the number of
touches: touches and conversions are handed to a sink as each day is simulated.

Causal model. Each person has a static purchase intent and per-channel affinities. Paid
touches come from the platforms' delivery (a share of each ad-day's link clicks and
impressions is tied to identified people), plus email and SMS sends, organic and direct
visits. Touches build a geometric adstock per person and channel; the daily conversion
probability is ``sigmoid(base + intent + sum_c beta_c * (1 - exp(-adstock_c)))``: every
channel has diminishing returns, and ``beta_c`` is its true effect (0 for programmatic and
direct, which touch people but cause nothing). The same uniform draw decides a person-day in
every scenario ("common random numbers"), so the counterfactual world without channel c is
exact: ``incremental_c = conversions(all) - conversions(without c)``.

Platforms then claim conversions by their own rules (last click within their click window,
else last view within their view window), on the day of the touch: their claims overlap, so
their sum exceeds the true conversions, and a day's numbers grow until its window closes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sandbox.world import Ad, World

PAID = ("meta", "google_ads", "linkedin_ads", "tiktok_ads", "microsoft_ads", "programmatic", "affiliate")
OWNED = ("email", "sms", "organic", "direct")
CHANNELS = PAID + OWNED
# True effect of each channel at saturation (log-odds). Programmatic and direct have none.
EFFECTS = {
    "meta": 1.4, "google_ads": 1.7, "linkedin_ads": 1.2, "tiktok_ads": 0.8, "microsoft_ads": 0.9,
    "programmatic": 0.0, "affiliate": 1.0, "email": 0.8, "sms": 0.5, "organic": 0.6, "direct": 0.0,
}
ADSTOCK_DECAY = 0.7  # per day; half-life of about two days
VIEW_WEIGHT = 0.25  # a view counts a quarter of a click in the adstock
BASE_LOGIT = -7.0
PEOPLE_PER_SCALE = 20_000
# Share of delivered link clicks and impressions tied to an identified person of the world.
CLICK_ID_RATE = 0.3
VIEW_ID_RATE = 0.003
# Platform attribution rules: (click window days, view window days) — what each one claims.
CLAIM_WINDOWS = {
    "meta": (28, 1), "google_ads": (30, 0), "linkedin_ads": (30, 7), "tiktok_ads": (7, 1),
    "microsoft_ads": (30, 0), "programmatic": (7, 7), "affiliate": (30, 0),
}
CONVERSION_TYPES = ("web_purchase", "lead", "app_purchase")

CLICK, VIEW = 1, 0


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A NumPy generator of its own for one (day, channel...) slice; stable across processes."""
    digest = hashlib.sha256("|".join(map(str, (seed, *keys))).encode()).digest()
    return np.random.default_rng(np.frombuffer(digest[:16], dtype=np.uint32))


@dataclass
class Population:
    """Static attributes of every person, as arrays indexed by person number."""

    intent: np.ndarray  # log-odds shift of the daily conversion probability
    affinity: np.ndarray  # people x channels: how likely each channel reaches the person
    is_b2b: np.ndarray  # works at one of the companies LinkedIn targets
    has_app: np.ndarray  # has the mobile app (a mobile advertising id)
    email_optin: np.ndarray
    sms_optin: np.ndarray
    ad_user_data: np.ndarray  # Consent Mode v2: may their data be used for ads measurement
    order_value: np.ndarray  # typical basket, in PLN cents

    @property
    def size(self) -> int:
        return len(self.intent)

    @classmethod
    def generate(cls, seed: int, size: int) -> Population:
        rng = rng_for(seed, "population")
        return cls(
            intent=rng.normal(0.0, 0.8, size).astype(np.float32),
            affinity=rng.lognormal(0.0, 1.0, (size, len(CHANNELS))).astype(np.float32),
            is_b2b=rng.random(size) < 0.15,
            has_app=rng.random(size) < 0.35,
            email_optin=rng.random(size) < 0.4,
            sms_optin=rng.random(size) < 0.2,
            ad_user_data=rng.random(size) < 0.82,
            order_value=(rng.lognormal(np.log(25_000), 0.5, size)).astype(np.int64),
        )


@dataclass
class DayTouches:
    """Touches of one day: parallel arrays."""

    person: np.ndarray
    channel: np.ndarray  # index into CHANNELS
    ad: np.ndarray  # index into Journeys.ads, -1 for owned channels
    kind: np.ndarray  # CLICK or VIEW
    second: np.ndarray  # seconds after midnight UTC


@dataclass
class DayConversions:
    person: np.ndarray
    second: np.ndarray
    value_cents: np.ndarray  # PLN cents
    kind: np.ndarray  # index into CONVERSION_TYPES


@dataclass
class Claims:
    """Platform claims of conversions, attributed to the claimed touch's ad and day."""

    platform: list[np.ndarray] = field(default_factory=list)
    ad: list[np.ndarray] = field(default_factory=list)
    touch_day: list[np.ndarray] = field(default_factory=list)
    conversion_day: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    is_lead: list[np.ndarray] = field(default_factory=list)
    value_cents: list[np.ndarray] = field(default_factory=list)

    def add(self, **parts: np.ndarray) -> None:
        for name, values in parts.items():
            getattr(self, name).append(values)

    def concat(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(getattr(self, name)) if getattr(self, name) else np.empty(0, np.int64)
                for name in ("platform", "ad", "touch_day", "conversion_day", "kind", "is_lead", "value_cents")}


@dataclass
class Journeys:
    """The simulated behaviour of the world's people over its calendar."""

    world: World
    population: Population
    ads: list[Ad]
    ad_index: dict[str, int]
    claims: dict[str, np.ndarray]
    conversions_total: int
    incremental: dict[str, int]
    # Every true conversion (small: thousands per scale unit): day, person, second, value_cents (PLN),
    # kind, conversion_id, and whether the web pixel / the server reported it.
    conversions: dict[str, np.ndarray]
    # B2B deals closed in the CRM: the lead's conversion row, close day and second, value (PLN cents).
    deals: dict[str, np.ndarray]
    # Per day, the expected number of conversions (the sum of every person's probability): the same truth without
    # the draw's noise, for comparing scenarios whose differences are a few conversions.
    expected_by_day: np.ndarray = field(default_factory=lambda: np.empty(0))

    @classmethod
    def simulate(cls, world: World, sink: Callable[[int, date, DayTouches, DayConversions], None] | None = None
                 ) -> Journeys:
        """Run the whole calendar; ``sink`` receives each day's touches and conversions (for the truth files)."""
        config = world.config
        population = Population.generate(config.seed, max(100, round(PEOPLE_PER_SCALE * config.scale)))
        ads = world.paid_ads()
        ad_index = {ad.ad_id: i for i, ad in enumerate(ads)}
        ad_platform = np.array([CHANNELS.index(ad.ad_group.campaign.account.platform) for ad in ads])
        state = _State.start(population.size)
        claims = Claims()
        effects = np.array([EFFECTS[c] for c in CHANNELS], dtype=np.float32)
        cumulative = _cumulative_affinity(population)
        totals = np.zeros(len(CHANNELS) + 1, dtype=np.int64)  # factual, then without each channel
        converted: list[DayConversions] = []
        expected: list[float] = []
        for day_number, day in enumerate(world.calendar()):
            touches = _touches(world, population, cumulative, ads, day_number, day)
            # Today's conversions respond to touches up to yesterday, and platforms can only claim
            # them with earlier touches: a click later in the day never causes or claims a purchase.
            conversions, counts, probability = _convert(config.seed, population, state.adstock, effects, day_number)
            totals += counts
            expected.append(probability)
            _claim(claims, state, touches, conversions, ad_platform, day_number, population)
            state.absorb(touches, day_number, ad_platform, population.size)
            converted.append(conversions)
            if sink is not None:
                sink(day_number, day, touches, conversions)
        incremental = {c: int(totals[0] - totals[i + 1]) for i, c in enumerate(CHANNELS)}
        table = _conversion_table(config.seed, converted)
        return cls(world, population, ads, ad_index, claims.concat(), int(totals[0]), incremental, table,
                   _deals(config.seed, table), np.array(expected))


@dataclass
class _State:
    adstock: np.ndarray  # people x channels
    last_click_day: np.ndarray  # people x paid platforms, -10_000 when never
    last_click_ad: np.ndarray
    last_view_day: np.ndarray
    last_view_ad: np.ndarray

    @classmethod
    def start(cls, size: int) -> _State:
        never = np.full((size, len(PAID)), -10_000, dtype=np.int32)
        return cls(np.zeros((size, len(CHANNELS)), dtype=np.float32), never.copy(),
                   np.full((size, len(PAID)), -1, dtype=np.int32), never.copy(),
                   np.full((size, len(PAID)), -1, dtype=np.int32))

    def absorb(self, t: DayTouches, day_number: int, ad_platform: np.ndarray, size: int) -> None:
        """Decay yesterday's adstock and add today's touches (they act from tomorrow on)."""
        self.adstock *= ADSTOCK_DECAY
        weight = np.where(t.kind == CLICK, 1.0, VIEW_WEIGHT).astype(np.float32)
        np.add.at(self.adstock, (t.person, t.channel), weight)
        paid = t.ad >= 0
        for kind, days, ads in ((CLICK, self.last_click_day, self.last_click_ad),
                                (VIEW, self.last_view_day, self.last_view_ad)):
            sel = np.flatnonzero(paid & (t.kind == kind))
            if len(sel) == 0:
                continue
            # The last touch of the day per (person, platform), resolved explicitly: NumPy leaves
            # the winner of repeated fancy-index assignments unspecified.
            order = sel[np.lexsort((t.second[sel], ad_platform[t.ad[sel]], t.person[sel]))]
            person, platform = t.person[order], ad_platform[t.ad[order]]
            is_last = np.r_[(person[1:] != person[:-1]) | (platform[1:] != platform[:-1]), True]
            days[person[is_last], platform[is_last]] = day_number
            ads[person[is_last], platform[is_last]] = t.ad[order[is_last]]


def _cumulative_affinity(population: Population) -> np.ndarray:
    """Per channel, the cumulative distribution used to pick who a touch reaches."""
    weights = population.affinity.astype(np.float64)
    return np.cumsum(weights, axis=0) / weights.sum(axis=0)


def _pick(rng: np.random.Generator, cumulative: np.ndarray, channel: int, count: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cumulative[:, channel], rng.random(count)), len(cumulative) - 1)


def _touches(world: World, population: Population, cumulative: np.ndarray, ads: list[Ad], day_number: int,
             day: date) -> DayTouches:
    seed = world.config.seed
    parts: list[tuple[np.ndarray, ...]] = []
    clicks = np.zeros(len(ads), dtype=np.int64)
    views = np.zeros(len(ads), dtype=np.int64)
    for i, ad in enumerate(ads):
        delivery = world.delivery(ad, day)
        if delivery is not None:
            clicks[i], views[i] = delivery.link_clicks, delivery.impressions
    ad_channel = np.array([CHANNELS.index(ad.ad_group.campaign.account.platform) for ad in ads], dtype=np.int64)
    for kind, volume, rate in ((CLICK, clicks, CLICK_ID_RATE), (VIEW, views, VIEW_ID_RATE)):
        for c in np.unique(ad_channel).tolist():
            # Each (day, kind, channel) has streams of its own, and the people a channel reaches are a prefix of
            # its stream: a scenario that changes one channel's delivery leaves every other channel's touches as
            # they were and only adds or drops people at the end of its own (common random numbers, see
            # sandbox.budget_scenario).
            of_channel = np.flatnonzero(ad_channel == c)
            per_ad = rng_for(seed, "touch_counts", day_number, kind, c).binomial(volume[of_channel], rate)
            ad_of_touch = np.repeat(of_channel, per_ad)
            person = _pick(rng_for(seed, "touch_people", day_number, kind, c), cumulative, c, len(ad_of_touch))
            parts.append((person, np.full(len(person), c), ad_of_touch, np.full(len(person), kind)))
    parts.extend(_owned_touches(seed, population, cumulative, day_number, day))
    person = np.concatenate([p[0] for p in parts]).astype(np.int64)
    second = rng_for(seed, "touches", day_number).integers(0, 86_400, len(person))
    return DayTouches(person, np.concatenate([p[1] for p in parts]).astype(np.int64),
                      np.concatenate([p[2] for p in parts]).astype(np.int64),
                      np.concatenate([p[3] for p in parts]).astype(np.int64), second)


def _owned_touches(seed: int, population: Population, cumulative: np.ndarray, day_number: int,
                   day: date) -> list[tuple[np.ndarray, ...]]:
    """Email (Tuesdays and Fridays), SMS (Thursdays), organic and direct visits."""
    rng = rng_for(seed, "owned", day_number)
    size = population.size
    out = []
    for name, weekdays, optin, click_rate in (("email", (1, 4), population.email_optin, 0.03),
                                              ("sms", (3,), population.sms_optin, 0.02)):
        if day.weekday() in weekdays:
            clicked = np.flatnonzero(optin & (rng.random(size) < click_rate))
            out.append((clicked, np.full(len(clicked), CHANNELS.index(name)), np.full(len(clicked), -1),
                        np.full(len(clicked), CLICK)))
    organic = _pick(rng, cumulative, CHANNELS.index("organic"), rng.poisson(size * 0.002))
    out.append((organic, np.full(len(organic), CHANNELS.index("organic")), np.full(len(organic), -1),
                np.full(len(organic), CLICK)))
    # Direct visits follow intent: they go with conversions without causing them.
    direct_p = 0.003 * np.exp(population.intent)
    direct = np.flatnonzero(rng.random(size) < direct_p)
    out.append((direct, np.full(len(direct), CHANNELS.index("direct")), np.full(len(direct), -1),
                np.full(len(direct), CLICK)))
    return out


def _convert(seed: int, population: Population, adstock: np.ndarray, effects: np.ndarray,
             day_number: int) -> tuple[DayConversions, np.ndarray, float]:
    """Who converts today, how many would have without each channel (same draws), and how many were expected."""
    rng = rng_for(seed, "convert", day_number)
    u = rng.random(population.size)
    lift = effects * (1.0 - np.exp(-adstock))  # people x channels
    logit = BASE_LOGIT + population.intent + lift.sum(axis=1)
    probability = _sigmoid(logit)
    converted = u < probability
    counts = np.empty(len(CHANNELS) + 1, dtype=np.int64)
    counts[0] = converted.sum()
    for c in range(len(CHANNELS)):
        counts[c + 1] = (u < _sigmoid(logit - lift[:, c])).sum()
    person = np.flatnonzero(converted)
    kind = np.where(population.is_b2b[person], 1, np.where(population.has_app[person] & (rng.random(len(person)) < 0.3),
                                                         2, 0))
    value = (population.order_value[person] * rng.uniform(0.6, 1.4, len(person))).astype(np.int64)
    value[kind == 1] = 0  # a lead has no value until the CRM closes a deal
    return DayConversions(person, rng.integers(0, 86_400, len(person)), value, kind), counts, float(probability.sum())


def _conversion_table(seed: int, days: list[DayConversions]) -> dict[str, np.ndarray]:
    """All conversions in one table, with how the pixel and the server reported them."""
    day = np.concatenate([np.full(len(d.person), i) for i, d in enumerate(days)]) if days else np.empty(0, np.int64)
    table = {
        "day": day.astype(np.int64),
        "person": np.concatenate([d.person for d in days]).astype(np.int64),
        "second": np.concatenate([d.second for d in days]).astype(np.int64),
        "value_cents": np.concatenate([d.value_cents for d in days]).astype(np.int64),
        "kind": np.concatenate([d.kind for d in days]).astype(np.int64),
    }
    rng = rng_for(seed, "reporting")
    web = table["kind"] == CONVERSION_TYPES.index("web_purchase")
    table["pixel_reported"] = web & (rng.random(len(day)) < 0.85)  # ad blockers drop some pixels
    table["server_reported"] = web | (table["kind"] == CONVERSION_TYPES.index("app_purchase"))
    return table


def conversion_ids(table: dict[str, np.ndarray]) -> list[str]:
    """Stable conversion ids: day and rank within the day."""
    ids, previous, rank = [], -1, 0
    for day in table["day"].tolist():
        rank = rank + 1 if day == previous else 0
        previous = day
        ids.append(f"conv-{day:03d}-{rank:06d}")
    return ids


def _deals(seed: int, conversions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """30 % of leads close as deals 7 to 40 days later (the CRM reports them only then)."""
    rng = rng_for(seed, "deals")
    leads = np.flatnonzero(conversions["kind"] == CONVERSION_TYPES.index("lead"))
    closes = leads[rng.random(len(leads)) < 0.3]
    return {
        "conversion": closes,
        "close_day": conversions["day"][closes] + rng.integers(7, 41, len(closes)),
        "close_second": rng.integers(0, 86_400, len(closes)),
        "value_cents": np.round(rng.lognormal(np.log(4_000_000), 0.6, len(closes))).astype(np.int64),
    }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _claim(claims: Claims, state: _State, touches: DayTouches, conversions: DayConversions,
           ad_platform: np.ndarray, day_number: int, population: Population) -> None:
    """Each platform claims today's conversions by its own last-touch rule."""
    person = conversions.person
    for p, platform in enumerate(PAID):
        click_window, view_window = CLAIM_WINDOWS[platform]
        click_lag = day_number - state.last_click_day[person, p]
        view_lag = day_number - state.last_view_day[person, p]
        by_click = click_lag <= click_window
        by_view = ~by_click & (view_lag <= view_window)
        for mask, kind, days, ads in ((by_click, CLICK, state.last_click_day, state.last_click_ad),
                                      (by_view, VIEW, state.last_view_day, state.last_view_ad)):
            who = person[mask]
            if len(who) == 0:
                continue
            claims.add(platform=np.full(len(who), p), ad=ads[who, p].astype(np.int64),
                       touch_day=days[who, p].astype(np.int64), conversion_day=np.full(len(who), day_number),
                       kind=np.full(len(who), kind), is_lead=conversions.kind[mask] == 1,
                       value_cents=conversions.value_cents[mask])

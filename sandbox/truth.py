"""Ground truth as Parquet: who the people are, every touch, every true conversion, and each
channel's true incremental conversions (from the counterfactual runs).

Files (under ``--out``): ``people.parquet``, ``touches.parquet``, ``conversions.parquet``,
``deals.parquet``, ``platform_claims.parquet``, ``incrementality.parquet``. Touches and
conversions are written day by day as the simulation runs, so memory stays bounded.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sandbox.journeys import (
    CHANNELS,
    CONVERSION_TYPES,
    EFFECTS,
    PAID,
    DayConversions,
    DayTouches,
    Journeys,
    conversion_ids,
    rng_for,
)
from sandbox.world import World

_FIRST = ("anna", "jan", "zofia", "piotr", "lena", "marek", "élise", "jürgen", "iñigo", "maría", "john", "emily",
          "łukasz", "ana", "noah", "sofía")
_LAST = ("kowalski", "nowak", "müller", "garcía", "smith", "wiśniewska", "lópez", "schmidt", "brown", "dubois")
_DOMAINS = ("gmail.com", "wp.pl", "onet.pl", "gmx.de", "yahoo.es", "outlook.com", "example.org")
# Country, dialling code, national number length, share of people.
_COUNTRIES = (("PL", "48", 9, 0.45), ("DE", "49", 10, 0.2), ("ES", "34", 9, 0.15), ("US", "1", 10, 0.2))
_CHUNK = 100_000
_PARQUET = {"compression": "zstd", "use_dictionary": True, "write_statistics": False}


def write_truth(world: World, out: Path) -> dict[str, int]:
    """Simulate the world and write its truth under ``out``; returns rows per file."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with _DayWriter(world, out) as days:
        journeys = Journeys.simulate(world, days.write)
    counts.update(days.counts)
    counts["conversions"] = _write_conversions(world, journeys, out / "conversions.parquet")
    counts["deals"] = _write_deals(world, journeys, out / "deals.parquet")
    counts["people"] = _write_people(world, journeys, out / "people.parquet")
    counts["platform_claims"] = _write_claims(world, journeys, out / "platform_claims.parquet")
    counts["incrementality"] = _write_incrementality(journeys, out / "incrementality.parquet")
    return counts


class _DayWriter:
    """Streams each simulated day's touches to Parquet."""

    def __init__(self, world: World, out: Path) -> None:
        self.world = world
        self.out = out
        self.counts = {"touches": 0}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.ad_ids: list[str] | None = None

    def __enter__(self) -> _DayWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        for writer in self.writers.values():
            writer.close()

    def _append(self, name: str, table: pa.Table) -> None:
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(self.out / f"{name}.parquet", table.schema, **_PARQUET)
        self.writers[name].write_table(table)
        self.counts[name] += table.num_rows

    def write(self, day_number: int, day: date, touches: DayTouches, conversions: DayConversions) -> None:
        if self.ad_ids is None:
            self.ad_ids = [ad.ad_id for ad in self.world.paid_ads()]
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        ad_ids = np.array([*self.ad_ids, None], dtype=object)
        self._append("touches", pa.table({
            "person_id": pa.array(touches.person, pa.int64()),
            "touched_at": _timestamps(midnight, touches.second),
            "channel": pa.array(np.array(CHANNELS)[touches.channel]),
            "ad_id": pa.array(ad_ids[touches.ad]),
            "kind": pa.array(np.where(touches.kind == 1, "click", "view")),
        }))


def _timestamps(midnight: datetime, seconds: np.ndarray) -> pa.Array:
    micros = int(midnight.timestamp()) * 1_000_000 + seconds.astype(np.int64) * 1_000_000
    return pa.array(micros, pa.timestamp("us", tz="UTC"))


def _moments(world: World, day: np.ndarray, second: np.ndarray) -> pa.Array:
    start = world.config.start_date
    epoch = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    return pa.array((epoch + day * 86_400 + second) * 1_000_000, pa.timestamp("us", tz="UTC"))


def _write_conversions(world: World, journeys: Journeys, path: Path) -> int:
    c = journeys.conversions
    ids = conversion_ids(c)
    table = pa.table({
        "conversion_id": pa.array(ids, pa.string()),
        # The order id is the event id both the pixel and the server event carry.
        "event_id": pa.array([f"order-{i}" for i in ids], pa.string()),
        "person_id": pa.array(c["person"], pa.int64()),
        "converted_at": _moments(world, c["day"], c["second"]),
        "conversion_type": pa.array(np.array(CONVERSION_TYPES)[c["kind"]].tolist(), pa.string()),
        "value": pa.array(c["value_cents"] / 100.0),
        "currency": pa.array(["PLN"] * len(ids), pa.string()),
        "pixel_reported": pa.array(c["pixel_reported"]),
        "server_reported": pa.array(c["server_reported"]),
    })
    pq.write_table(table, path, **_PARQUET)
    return table.num_rows


def _write_deals(world: World, journeys: Journeys, path: Path) -> int:
    d = journeys.deals
    ids = np.array(conversion_ids(journeys.conversions), dtype=object)
    table = pa.table({
        "deal_id": pa.array([f"deal-{i}" for i in ids[d["conversion"]]], pa.string()),
        "lead_conversion_id": pa.array(ids[d["conversion"]].tolist(), pa.string()),
        "person_id": pa.array(journeys.conversions["person"][d["conversion"]], pa.int64()),
        "closed_at": _moments(world, d["close_day"], d["close_second"]),
        "value": pa.array(d["value_cents"] / 100.0),
        "currency": pa.array(["PLN"] * len(ids[d["conversion"]]), pa.string()),
    })
    pq.write_table(table, path, **_PARQUET)
    return table.num_rows


def _write_people(world: World, journeys: Journeys, path: Path) -> int:
    population = journeys.population
    writer: pq.ParquetWriter | None = None
    for start in range(0, population.size, _CHUNK):
        stop = min(population.size, start + _CHUNK)
        table = _people_chunk(world.config.seed, population, start, stop)
        writer = writer or pq.ParquetWriter(path, table.schema, **_PARQUET)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return population.size


def _people_chunk(seed: int, population: object, start: int, stop: int) -> pa.Table:
    rng = rng_for(seed, "identifiers", start)
    n = stop - start
    ids = np.arange(start, stop)
    first = np.array(_FIRST)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST)[rng.integers(0, len(_LAST), n)]
    domain = np.array(_DOMAINS)[rng.integers(0, len(_DOMAINS), n)]
    country_at = np.searchsorted(np.cumsum([c[3] for c in _COUNTRIES]), rng.random(n) * 0.9999)
    phones = []
    for i in range(n):
        _, code, digits, _ = _COUNTRIES[country_at[i]]
        phones.append(f"+{code}{rng.integers(10 ** (digits - 1), 10**digits)}")
    devices = rng.integers(1, 5, n)
    consent_data = population.ad_user_data[start:stop]
    consent_personalization = consent_data & (rng.random(n) < 0.9)
    country = np.array([c[0] for c in _COUNTRIES])[country_at]
    company = np.where(population.is_b2b[start:stop], ids // 5, -1)
    return pa.table({
        "person_id": pa.array(ids, pa.int64()),
        "email": pa.array([f"{f}.{la}{i}@{d}" for f, la, i, d in zip(first, last, ids, domain, strict=True)]),
        "phone_e164": pa.array(phones),
        "country": pa.array(country),
        "cookie_ids": pa.array([[f"ck.{i}.{k}.{rng.integers(1 << 30)}" for k in range(dev)]
                                for i, dev in zip(ids, devices, strict=True)]),
        "mobile_ad_id": pa.array([_uuid(rng) if has else None for has in population.has_app[start:stop]]),
        "crm_contact_id": pa.array([f"crm_{i}" if b2b else None for i, b2b in zip(ids, company >= 0, strict=True)]),
        "company_id": pa.array([f"company_{c}" if c >= 0 else None for c in company]),
        "consent_ad_user_data": pa.array(consent_data),
        "consent_ad_personalization": pa.array(consent_personalization),
        "tcf_string": pa.array([tcf_string(bool(d), bool(p)) if c != "US" else None
                                for c, d, p in zip(country, consent_data, consent_personalization, strict=True)]),
    })


def _uuid(rng: np.random.Generator) -> str:
    h = rng.bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def tcf_string(ad_data: bool, personalization: bool) -> str:
    """A TCF v2.2 core string (base64url, no padding) with purposes consented as the person chose.

    Purposes 1 (storage), 7 (measure ads) and 9 follow ``ad_data``; 3 and 4 (ad profiles)
    follow ``personalization``. Google (vendor 755) is consented when ``ad_data`` is.
    """
    bits: list[str] = []

    def put(value: int, width: int) -> None:
        bits.append(format(value, f"0{width}b"))

    deciseconds = int(datetime(2026, 8, 1, tzinfo=UTC).timestamp() * 10)
    purposes = ["0"] * 24
    for p in (1, 7, 9):
        purposes[p - 1] = "1" if ad_data else "0"
    for p in (3, 4):
        purposes[p - 1] = "1" if personalization else "0"
    put(2, 6)
    put(deciseconds, 36)
    put(deciseconds, 36)
    put(300, 12)  # CMP id
    put(1, 12)  # CMP version
    put(1, 6)  # consent screen
    for letter in "EN":
        put(ord(letter) - ord("A"), 6)
    put(150, 12)  # vendor list version
    put(4, 6)  # TCF policy version (v2.2)
    put(1, 1)  # service specific
    put(0, 1)  # non-standard texts
    put(0, 12)  # special feature opt-ins
    bits.append("".join(purposes))
    bits.append("0" * 24)  # legitimate interests: none for purposes 3-6 under v2.2
    put(0, 1)  # purpose one treatment
    for letter in "PL":
        put(ord(letter) - ord("A"), 6)
    put(755, 16)  # max vendor id
    put(0, 1)  # bit field
    bits.append("0" * 754 + ("1" if ad_data else "0"))
    put(0, 16)  # vendor legitimate interests: none
    put(0, 1)
    put(0, 12)  # no publisher restrictions
    raw = "".join(bits)
    raw += "0" * (-len(raw) % 8)
    data = int(raw, 2).to_bytes(len(raw) // 8, "big")
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _write_claims(world: World, journeys: Journeys, path: Path) -> int:
    claims = journeys.claims
    start = world.config.start_date
    days = np.array([start + timedelta(days=i) for i in range(world.config.days)], dtype=object)
    ad_ids = np.array([ad.ad_id for ad in journeys.ads], dtype=object)
    table = pa.table({
        "platform": pa.array(np.array(PAID)[claims["platform"]]),
        "ad_id": pa.array(ad_ids[claims["ad"]]),
        "touch_date": pa.array(days[claims["touch_day"]], pa.date32()),
        "conversion_date": pa.array(days[claims["conversion_day"]], pa.date32()),
        "kind": pa.array(np.where(claims["kind"] == 1, "click", "view")),
        "is_lead": pa.array(claims["is_lead"].astype(bool)),
        "value_pln": pa.array(claims["value_cents"] / 100.0),
    })
    pq.write_table(table, path, **_PARQUET)
    return table.num_rows


def _write_incrementality(journeys: Journeys, path: Path) -> int:
    table = pa.table({
        "channel": pa.array(list(CHANNELS)),
        "true_effect_logodds": pa.array([EFFECTS[c] for c in CHANNELS]),
        "conversions_all": pa.array([journeys.conversions_total] * len(CHANNELS), pa.int64()),
        "conversions_without": pa.array([journeys.conversions_total - journeys.incremental[c] for c in CHANNELS],
                                        pa.int64()),
        "incremental_conversions": pa.array([journeys.incremental[c] for c in CHANNELS], pa.int64()),
    })
    pq.write_table(table, path, **_PARQUET)
    return table.num_rows

"""Ground truth as Parquet: who the people are, every touch, every true conversion, and each
channel's true incremental conversions (from the counterfactual runs).

Files (under ``--out``): ``people.parquet``, ``touches.parquet``, ``conversions.parquet``,
``deals.parquet``, ``platform_claims.parquet``, ``incrementality.parquet``. Touches (by far the
largest) are written day by day as the simulation runs, so memory stays bounded by the
population; conversions and claims are small and written at the end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sandbox.identities import BLOCK, people_block
from sandbox.journeys import (
    CHANNELS,
    CONVERSION_TYPES,
    EFFECTS,
    PAID,
    DayConversions,
    DayTouches,
    Journeys,
    conversion_ids,
)
from sandbox.world import World

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
    for block in range(-(-population.size // BLOCK)):
        table = people_block(world.config.seed, population, block)
        writer = writer or pq.ParquetWriter(path, table.schema, **_PARQUET)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return population.size


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

"""Build journeys tables by hand for the attribution tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from attribution.paths import Paths

T0 = datetime(2025, 3, 1, tzinfo=UTC)
JOURNEYS_SCHEMA = pa.schema([
    ("journey_id", pa.string()), ("touch_ts", pa.timestamp("us", "UTC")), ("channel", pa.string()),
    ("conversion_ts", pa.timestamp("us", "UTC")), ("conversion_value", pa.float64()),
])


def day(d: float) -> datetime:
    """T0 plus ``d`` days."""
    return T0 + timedelta(days=d)


def journeys(spec: dict[str, tuple[Sequence[tuple[float, str]], float | None, float | None]]) -> pa.Table:
    """``{journey: ([(day, channel), ...], conversion_day or None, value or None)}`` as a journeys table."""
    rows = []
    for jid, (touches, conv_day, value) in spec.items():
        for d, channel in touches:
            rows.append({"journey_id": jid, "touch_ts": day(d), "channel": channel,
                         "conversion_ts": None if conv_day is None else day(conv_day), "conversion_value": value})
    return pa.Table.from_pylist(rows, schema=JOURNEYS_SCHEMA)


def paths_of(spec: dict, **kwargs: object) -> Paths:
    """The paths of a hand-written spec (see :func:`journeys`)."""
    return Paths.from_arrow(journeys(spec), **kwargs)


def credits_by_journey(paths: Paths, credit) -> dict[str, list[float]]:
    """Credit per touch, grouped by journey id, rounded for comparison."""
    out = {}
    for j, jid in enumerate(paths.journey_ids):
        out[jid] = [round(float(c), 12) for c in credit[paths.offsets[j]:paths.offsets[j + 1]]]
    return out

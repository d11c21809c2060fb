"""Journeys as paths in a compressed layout: per-touch flat arrays cut into journeys by ``offsets``.

A journey ``j`` owns touches ``offsets[j]:offsets[j + 1]``, in time order. Everything downstream (rules,
Markov, Shapley) works on these flat arrays with NumPy, never with a Python loop per touch or journey.

Validation happens here, once: a bad input raises :class:`JourneysError` with one line naming the column
and the problem; inputs that can be attributed after a documented correction are counted in
:attr:`Paths.skipped` instead (see :data:`SKIP_REASONS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import AdlakeError

ROLES: tuple[str, ...] = ("first", "middle", "last", "lead_creation")
"""Touch roles. first/middle/last are derived from the position; ``role`` columns may add another one."""

MICROS_PER_DAY = 86_400_000_000
MAX_LOOKBACK_DAYS = 1_000_000  # longer windows are this one: keeps microsecond arithmetic inside int64

SKIP_REASONS: Mapping[str, str] = {
    "touches_after_conversion": "touches later than their journey's conversion: dropped (a path never borrows them)",
    "conversion_before_first_touch": "converted journeys whose every touch is after the conversion: skipped",
    "outside_lookback": "touches older than the lookback window: dropped",
    "no_touch_in_lookback": "journeys left without any touch in the lookback window: skipped",
    "null_conversion_value": "converted journeys with a null conversion_value: attributed with value 0",
    "value_without_conversion": "non-converted journeys with a conversion_value: value ignored",
}
"""Every counted correction, by key of :attr:`Paths.skipped`; anything else is a :class:`JourneysError`."""


class JourneysError(AdlakeError):
    """A journeys input that cannot be attributed; the message is one line naming the column and problem."""


@dataclass(frozen=True, eq=False)
class Paths:
    """Journeys in CSR layout.

    Attributes:
        journey_ids: Journey id per journey (``n``), sorted.
        offsets: ``int64[n + 1]``; journey ``j`` owns touches ``offsets[j]:offsets[j + 1]`` (never empty).
        channel: ``int32[m]`` codes into :attr:`channels`.
        channels: Channel names, sorted.
        touch_ts: ``int64[m]`` touch time in microseconds since the epoch (UTC).
        converted: ``bool[n]``.
        conversion_ts: ``int64[n]`` conversion time in microseconds (0 and meaningless when not converted).
        value: ``float64[n]`` conversion value (0 when not converted).
        role: ``int8[m]`` codes into :data:`ROLES` given by the input (-1: none), or None when no role column.
        touch_ids: Touch id per touch, or None when the input has none.
        skipped: Counts of the documented corrections, keys from :data:`SKIP_REASONS` (only non-zero ones).
    """

    journey_ids: np.ndarray
    offsets: np.ndarray
    channel: np.ndarray
    channels: list[str]
    touch_ts: np.ndarray
    converted: np.ndarray
    conversion_ts: np.ndarray
    value: np.ndarray
    role: np.ndarray | None = None
    touch_ids: np.ndarray | None = None
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def n_journeys(self) -> int:
        """Number of journeys."""
        return len(self.offsets) - 1

    @property
    def n_touches(self) -> int:
        """Number of touches."""
        return len(self.channel)

    @property
    def lengths(self) -> np.ndarray:
        """``int64[n]`` touches per journey."""
        return np.diff(self.offsets)

    @property
    def journey_of_touch(self) -> np.ndarray:
        """``int64[m]`` the journey index of every touch."""
        return np.repeat(np.arange(self.n_journeys, dtype=np.int64), self.lengths)

    @property
    def position(self) -> np.ndarray:
        """``int64[m]`` 0-based index of each touch within its journey."""
        return np.arange(self.n_touches, dtype=np.int64) - np.repeat(self.offsets[:-1], self.lengths)

    @classmethod
    def from_arrow(
        cls,
        table: pa.Table,
        *,
        journey_col: str = "journey_id",
        ts_col: str = "touch_ts",
        channel_col: str = "channel",
        conversion_ts_col: str = "conversion_ts",
        value_col: str = "conversion_value",
        touch_id_col: str | None = None,
        role_col: str | None = None,
        lookback_days: float | None = None,
    ) -> Paths:
        """Build paths from one row per touch.

        Touches are ordered by (journey id, touch time, touch id) with a stable sort, so equal inputs give
        equal paths. ``conversion_ts`` and ``conversion_value`` are per journey: every touch of a journey
        must carry the same ones (null ``conversion_ts``: the journey did not convert). Naive timestamps
        are read as UTC. Touches after their journey's conversion are dropped and counted.

        Args:
            table: The touches.
            journey_col: Journey (path) id, string or integer.
            ts_col: Touch time, timestamp.
            channel_col: Channel name, string.
            conversion_ts_col: Conversion time, timestamp, null when the journey did not convert.
            value_col: Conversion value, numeric, null when the journey did not convert.
            touch_id_col: Optional touch id (string or integer), a tie-break and carried to the output.
            role_col: Optional role per touch (a name from :data:`ROLES` or null).
            lookback_days: When given, apply :func:`windowed` with it.

        Returns:
            The paths.

        Raises:
            JourneysError: A missing column, a wrong type, a null id, channel or touch time, an empty channel
                name, an unknown role, a non-finite value, or a conversion that differs within a journey.
        """
        if not isinstance(table, pa.Table):
            raise JourneysError(f"journeys: expected an Arrow table, not {type(table).__name__}")
        wanted = [journey_col, ts_col, channel_col, conversion_ts_col, value_col]
        wanted += [c for c in (touch_id_col, role_col) if c is not None]
        missing = [c for c in wanted if c not in table.column_names]
        if missing:
            raise JourneysError(f"journeys: missing column {', '.join(map(repr, missing))} "
                                f"(columns: {', '.join(table.column_names) or 'none'})")
        cols = _read(table, journey_col, ts_col, channel_col, conversion_ts_col, value_col, touch_id_col, role_col)
        journey_codes, journey_names = cols["journey"]
        channel_codes, channel_names = cols["channel"]
        ts_us, conv_us, conv_valid = cols["ts"], cols["conv"], cols["conv_valid"]
        values, value_valid, role_codes = cols["value"], cols["value_valid"], cols["role"]
        touch_codes, touch_names = cols["touch"]

        keys = [journey_codes, ts_us] if touch_codes is None else [journey_codes, ts_us, touch_codes]
        order = _sort_order(keys)
        if order is not None:
            journey_codes, ts_us, channel_codes = journey_codes[order], ts_us[order], channel_codes[order]
            conv_us, conv_valid = conv_us[order], conv_valid[order]
            values, value_valid = values[order], value_valid[order]
            role_codes = role_codes[order] if role_codes is not None else None
            touch_codes = touch_codes[order] if touch_codes is not None else None

        m = len(journey_codes)
        starts = np.flatnonzero(np.r_[True, journey_codes[1:] != journey_codes[:-1]]) if m else np.zeros(0, np.int64)
        offsets = np.r_[starts, m].astype(np.int64)
        lengths = np.diff(offsets)
        first = offsets[:-1]
        _same_within(conv_valid, first, lengths, conversion_ts_col, journey_names, journey_codes)
        _same_within(np.where(conv_valid, conv_us, 0), first, lengths, conversion_ts_col, journey_names,
                     journey_codes)
        _same_within(value_valid, first, lengths, value_col, journey_names, journey_codes)
        _same_within(np.where(value_valid, values, 0.0), first, lengths, value_col, journey_names, journey_codes)

        converted = conv_valid[first]
        skipped: dict[str, int] = {}
        null_value = int((converted & ~value_valid[first]).sum())
        stray_value = int((~converted & value_valid[first]).sum())
        _count(skipped, "null_conversion_value", null_value)
        _count(skipped, "value_without_conversion", stray_value)
        journey_value = np.where(converted & value_valid[first], values[first], 0.0)
        touch_ids = None
        if touch_codes is not None:
            touch_ids = np.empty(m, dtype=object)
            valid_touch = touch_codes >= 0
            touch_ids[valid_touch] = np.asarray(touch_names, dtype=object)[touch_codes[valid_touch]]
        paths = cls(
            journey_ids=np.asarray(journey_names, dtype=object)[journey_codes[first]],
            offsets=offsets,
            channel=channel_codes.astype(np.int32),
            channels=list(channel_names),
            touch_ts=ts_us,
            converted=converted,
            conversion_ts=np.where(converted, conv_us[first], 0),
            value=journey_value,
            role=role_codes,
            touch_ids=touch_ids,
            skipped=skipped,
        )
        # A path never borrows touches after its conversion.
        jot = paths.journey_of_touch
        late = paths.converted[jot] & (paths.touch_ts > paths.conversion_ts[jot])
        paths = _keep(paths, ~late, "touches_after_conversion", "conversion_before_first_touch")
        if lookback_days is not None:
            paths = windowed(paths, lookback_days)
        return paths


def _read(table: pa.Table, journey_col: str, ts_col: str, channel_col: str, conversion_ts_col: str,
          value_col: str, touch_id_col: str | None, role_col: str | None) -> dict:
    """The columns as NumPy arrays, checked: types, nulls, empty channel names, unknown roles, infinities."""
    journey = _column(table, journey_col, ("string", "integer"))
    ts = _column(table, ts_col, ("timestamp",))
    channel = _column(table, channel_col, ("string",))
    conv = _column(table, conversion_ts_col, ("timestamp", "null"))
    value = _column(table, value_col, ("number", "null"))
    touch = _column(table, touch_id_col, ("string", "integer")) if touch_id_col else None
    role = _column(table, role_col, ("string", "null")) if role_col else None
    for name, col in ((journey_col, journey), (ts_col, ts), (channel_col, channel)):
        if col.null_count:
            raise JourneysError(f"journeys: column {name!r} has {col.null_count} null value(s)")
    out: dict = {"journey": _ranked_codes(journey), "channel": _ranked_codes(channel), "ts": _micros(ts)}
    if "" in out["channel"][1]:
        raise JourneysError(f"journeys: column {channel_col!r} has empty channel name(s)")
    out["conv"] = _micros(conv) if conv.type != pa.null() else np.zeros(len(conv), dtype=np.int64)
    out["conv_valid"] = _valid(conv)
    out["value"] = _floats(value)
    out["value_valid"] = _valid(value) & ~np.isnan(out["value"])
    if np.isinf(out["value"]).any():
        raise JourneysError(f"journeys: column {value_col!r} has infinite value(s)")
    out["role"] = _role_codes(role, role_col) if role is not None else None
    out["touch"] = (None, None)
    if touch is not None:
        codes, names = _ranked_codes(touch)
        out["touch"] = (np.where(_valid(touch), codes, -1) if touch.null_count else codes, names)
    return out


def windowed(paths: Paths, lookback_days: float) -> Paths:
    """Keep the touches in each journey's lookback window.

    Converted journeys keep ``conversion_ts - lookback <= touch_ts <= conversion_ts`` (both edges included);
    the others keep the touches within ``lookback`` before their last touch. Journeys left without touches
    are skipped and counted.

    Raises:
        JourneysError: ``lookback_days`` is not positive and finite.
    """
    if not np.isfinite(lookback_days) or lookback_days <= 0:
        raise JourneysError(f"lookback_days must be positive, not {lookback_days}")
    if paths.n_journeys == 0:
        return paths
    lookback = round(min(lookback_days, MAX_LOOKBACK_DAYS) * MICROS_PER_DAY)
    last_ts = paths.touch_ts[paths.offsets[1:] - 1]
    end = np.where(paths.converted, paths.conversion_ts, last_ts)
    jot = paths.journey_of_touch
    ts_end = end[jot]
    keep = (paths.touch_ts >= ts_end - lookback) & (paths.touch_ts <= ts_end)
    return _keep(paths, keep, "outside_lookback", "no_touch_in_lookback")


def _keep(paths: Paths, keep: np.ndarray, touch_reason: str, journey_reason: str) -> Paths:
    """The paths with only the touches in ``keep``; journeys left empty are dropped. Counts both."""
    dropped = int((~keep).sum())
    if dropped == 0:
        return paths
    kept_per_journey = np.add.reduceat(keep.astype(np.int64), paths.offsets[:-1]) if paths.n_touches else \
        np.zeros(0, np.int64)
    alive = kept_per_journey > 0
    skipped = dict(paths.skipped)
    lost_journeys = int((~alive).sum())
    _count(skipped, touch_reason, dropped - int(paths.lengths[~alive].sum()))
    _count(skipped, journey_reason, lost_journeys)
    return replace(
        paths,
        journey_ids=paths.journey_ids[alive],
        offsets=np.r_[0, np.cumsum(kept_per_journey[alive])].astype(np.int64),
        channel=paths.channel[keep],
        touch_ts=paths.touch_ts[keep],
        converted=paths.converted[alive],
        conversion_ts=paths.conversion_ts[alive],
        value=paths.value[alive],
        role=paths.role[keep] if paths.role is not None else None,
        touch_ids=paths.touch_ids[keep] if paths.touch_ids is not None else None,
        skipped=skipped,
    )


def _count(skipped: dict[str, int], reason: str, count: int) -> None:
    if count:
        skipped[reason] = skipped.get(reason, 0) + count


_KINDS = {
    "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t),
    "integer": pa.types.is_integer,
    "timestamp": pa.types.is_timestamp,
    "number": lambda t: pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t),
    "null": pa.types.is_null,
}


def _column(table: pa.Table, name: str, kinds: tuple[str, ...]) -> pa.Array:
    """One column as a single Arrow array, dictionaries decoded, checked against the allowed kinds."""
    col = table.column(name)
    col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if not any(_KINDS[k](col.type) for k in kinds):
        readable = " or ".join(k for k in kinds if k != "null")
        raise JourneysError(f"journeys: column {name!r} must be {readable}, not {col.type}")
    return col


def _ranked_codes(col: pa.Array) -> tuple[np.ndarray, list]:
    """Integer codes per row into the sorted distinct values (nulls get code 0; check them separately)."""
    if pa.types.is_integer(col.type):
        col = pc.cast(col, pa.string())
    if pa.types.is_string_view(col.type) or pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.string())
    encoded = col.dictionary_encode()
    dictionary = encoded.dictionary
    order = np.asarray(pc.array_sort_indices(dictionary), dtype=np.int64)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    indices = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    codes = rank[indices] if len(rank) else np.zeros(len(col), dtype=np.int64)
    return codes, dictionary.take(pa.array(order)).to_pylist()


def _micros(col: pa.Array) -> np.ndarray:
    cast = pc.cast(col, pa.timestamp("us", col.type.tz), safe=False)
    return cast.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)


def _valid(col: pa.Array) -> np.ndarray:
    if col.null_count == 0:
        return np.ones(len(col), dtype=bool)
    return col.is_valid().to_numpy(zero_copy_only=False)


def _floats(col: pa.Array) -> np.ndarray:
    if pa.types.is_null(col.type):
        return np.full(len(col), np.nan)
    return pc.cast(col, pa.float64(), safe=False).fill_null(np.nan).to_numpy(zero_copy_only=False)


def _role_codes(col: pa.Array, name: str | None) -> np.ndarray:
    if pa.types.is_null(col.type):
        return np.full(len(col), -1, dtype=np.int8)
    codes = pc.index_in(col, value_set=pa.array(ROLES))
    unknown = pc.and_(col.is_valid(), codes.is_null())
    if pc.any(unknown).as_py():
        bad = col.filter(unknown)[0].as_py()
        raise JourneysError(f"journeys: column {name!r} has unknown role {bad!r} (known: {', '.join(ROLES)})")
    return codes.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int8)


def _sort_order(keys: list[np.ndarray]) -> np.ndarray | None:
    """The stable order by ``keys`` (most significant first), or None when already in that order.

    Inputs are usually time-ordered within each journey: a stable sort on the journey key alone then
    suffices, and the full lexicographic sort runs only when it does not.
    """
    if len(keys[0]) < 2:
        return None
    if _in_order(keys):
        return None
    order = np.argsort(keys[0], kind="stable")
    if _in_order([key[order] for key in keys]):
        return order
    return np.lexsort(keys[::-1])


def _in_order(keys: list[np.ndarray]) -> bool:
    ordered = np.zeros(len(keys[0]) - 1, dtype=bool)  # strictly before on a more significant key
    in_order = np.ones(len(keys[0]) - 1, dtype=bool)
    for key in keys:
        before, after = key[:-1], key[1:]
        in_order &= ordered | (before <= after)
        ordered |= before < after
    return bool(in_order.all())


def _same_within(values: np.ndarray, first: np.ndarray, lengths: np.ndarray, column: str, names: list,
                 journey_codes: np.ndarray) -> None:
    """Raise when a per-journey column differs between the touches of one journey."""
    if len(values) == 0:
        return
    differs = values != np.repeat(values[first], lengths)
    if differs.any():
        where = int(np.flatnonzero(differs)[0])
        raise JourneysError(f"journeys: column {column!r} differs between the touches of journey "
                            f"{names[journey_codes[where]]!r} (it is per journey)")


def channel_repeats(paths: Paths) -> np.ndarray:
    """``int64[m]``: how many touches of the same channel the touch's journey has (1 = no repeat).

    Data-driven models credit a journey's channels; a channel's credit is spread evenly over its touches.
    """
    if paths.n_touches == 0:
        return np.zeros(0, dtype=np.int64)
    key = paths.journey_of_touch * len(paths.channels) + paths.channel
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return counts[inverse]

"""The path builder: ordering, windows, skips counted, bad input as one clear JourneysError."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest

from attribution.paths import JourneysError, Paths, windowed
from tests.attribution.helpers import day, journeys, paths_of


def test_sorted_csr_layout_from_shuffled_rows():
    table = journeys({"b": ([(2, "x"), (0, "y")], 3, 1.0), "a": ([(1, "z")], None, None)})
    paths = Paths.from_arrow(table.take([2, 0, 1]))
    assert list(paths.journey_ids) == ["a", "b"]
    assert paths.offsets.tolist() == [0, 1, 3]
    assert paths.channels == ["x", "y", "z"]
    assert [paths.channels[c] for c in paths.channel] == ["z", "y", "x"]
    assert paths.converted.tolist() == [False, True]
    assert paths.value.tolist() == [0.0, 1.0]
    assert paths.skipped == {}


def test_touch_after_conversion_is_ignored_and_counted():
    paths = paths_of({"j": ([(0, "a"), (1, "b"), (5, "c")], 2, 3.0)})
    assert [paths.channels[c] for c in paths.channel] == ["a", "b"]
    assert paths.skipped == {"touches_after_conversion": 1}


def test_conversion_before_first_touch_is_skipped_and_counted():
    paths = paths_of({"early": ([(3, "a"), (4, "b")], 1, 3.0), "ok": ([(0, "a")], 1, 2.0)})
    assert list(paths.journey_ids) == ["ok"]
    assert paths.skipped == {"conversion_before_first_touch": 1}


def test_lookback_edge_is_included():
    # Conversion at day 30: a touch exactly 30 days before is kept, one a microsecond older is not.
    table = journeys({"j": ([(0, "edge"), (10, "in")], 30, 1.0), "k": ([(0, "old"), (0, "x")], 30, 1.0)})
    ts = table.column("touch_ts").to_pylist()
    ts[2] -= timedelta(microseconds=1)
    table = table.set_column(1, "touch_ts", pa.array(ts, pa.timestamp("us", "UTC")))
    paths = Paths.from_arrow(table, lookback_days=30)
    assert [paths.channels[c] for c in paths.channel] == ["edge", "in", "x"]
    assert paths.skipped == {"outside_lookback": 1}


def test_non_converted_window_ends_at_last_touch():
    paths = windowed(paths_of({"n": ([(0, "a"), (20, "b"), (40, "c")], None, None)}), 30)
    assert [paths.channels[c] for c in paths.channel] == ["b", "c"]
    with pytest.raises(JourneysError, match="lookback_days"):
        windowed(paths, 0)


def test_journey_left_empty_by_lookback_is_counted():
    paths = paths_of({"j": ([(0, "a")], 40, 1.0), "k": ([(39, "a")], 40, 1.0)}, lookback_days=30)
    assert list(paths.journey_ids) == ["k"]
    assert paths.skipped == {"no_touch_in_lookback": 1}


def test_null_value_of_a_conversion_counts_as_zero():
    paths = paths_of({"j": ([(0, "a")], 1, None), "n": ([(0, "a")], None, 5.0)})
    assert paths.value.tolist() == [0.0, 0.0]
    assert paths.skipped == {"null_conversion_value": 1, "value_without_conversion": 1}


def test_touch_ids_break_ties_and_roles_are_read():
    table = journeys({"j": ([(0, "a"), (0, "b")], 1, 1.0)})
    table = table.append_column("touch_id", pa.array(["t2", "t1"]))
    table = table.append_column("role", pa.array([None, "lead_creation"]))
    paths = Paths.from_arrow(table, touch_id_col="touch_id", role_col="role")
    assert paths.touch_ids.tolist() == ["t1", "t2"]
    assert [paths.channels[c] for c in paths.channel] == ["b", "a"]
    assert paths.role.tolist() == [3, -1]


def test_integer_ids_dictionary_channels_and_naive_timestamps_are_read():
    table = pa.table({
        "journey_id": pa.array([7, 7], pa.int64()),
        "touch_ts": pa.array([day(0).replace(tzinfo=None), day(1).replace(tzinfo=None)], pa.timestamp("ns")),
        "channel": pa.array(["a", "b"]).dictionary_encode(),
        "conversion_ts": pa.array([day(2), day(2)], pa.timestamp("ms", "UTC")),
        "conversion_value": pa.array([3, 3], pa.int32()),
    })
    paths = Paths.from_arrow(table)
    assert paths.journey_ids.tolist() == ["7"]
    assert paths.value.tolist() == [3.0]
    assert np.all(np.diff(paths.touch_ts) == 86_400_000_000)


def _good() -> pa.Table:
    return journeys({"j": ([(0, "a"), (1, "b")], 2, 1.0)})


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda t: t.drop_columns(["channel"]), "missing column 'channel'"),
    (lambda t: t.set_column(1, "touch_ts", pa.array(["2025-01-01", "x"])), "'touch_ts' must be timestamp"),
    (lambda t: t.set_column(4, "conversion_value", pa.array(["1", "1"])), "'conversion_value' must be number"),
    (lambda t: t.set_column(2, "channel", pa.array(["a", None])), "'channel' has 1 null"),
    (lambda t: t.set_column(2, "channel", pa.array(["a", ""])), "empty channel"),
    (lambda t: t.set_column(0, "journey_id", pa.array([None, "j"], pa.string())), "'journey_id' has 1 null"),
    (lambda t: t.set_column(4, "conversion_value", pa.array([1.0, 2.0])), "'conversion_value' differs"),
    (lambda t: t.set_column(4, "conversion_value", pa.array([1.0, float("inf")])), "infinite"),
    (lambda t: t.set_column(3, "conversion_ts", pa.array([day(2), None], pa.timestamp("us", "UTC"))),
     "'conversion_ts' differs"),
])
def test_bad_input_is_one_clear_line(mutate, message):
    with pytest.raises(JourneysError, match=message) as caught:
        Paths.from_arrow(mutate(_good()))
    assert "\n" not in str(caught.value)


def test_not_a_table():
    with pytest.raises(JourneysError, match="Arrow table"):
        Paths.from_arrow({"journey_id": []})


def test_empty_table():
    paths = Paths.from_arrow(journeys({}))
    assert paths.n_journeys == 0 and paths.n_touches == 0

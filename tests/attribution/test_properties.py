"""Properties over random journeys: every model's credits per conversion sum to 1, channel totals add up to
the conversions and their value; random bad inputs give JourneysError or counted skips, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import event, given, settings
from hypothesis import strategies as st

from attribution.engine import MODELS, attribute, summarize
from attribution.paths import JourneysError, Paths
from tests.attribution.helpers import JOURNEYS_SCHEMA, T0

CHANNELS = ["direct", "search", "social", "email", "display"]

journey = st.tuples(
    st.lists(st.tuples(st.integers(0, 60 * 24), st.sampled_from(CHANNELS)), min_size=1, max_size=7),
    st.one_of(st.none(), st.integers(0, 60 * 24)),  # conversion minute (may precede touches)
    st.floats(0, 1e6, allow_nan=False),
)


def _table(journeys: list) -> pa.Table:
    rows = []
    for j, (touches, conv, value) in enumerate(journeys):
        for minute, channel in touches:
            rows.append({"journey_id": f"j{j}", "touch_ts": T0 + timedelta(minutes=minute), "channel": channel,
                         "conversion_ts": None if conv is None else T0 + timedelta(minutes=conv),
                         "conversion_value": None if conv is None else value})
    return pa.Table.from_pylist(rows, schema=JOURNEYS_SCHEMA)


@settings(max_examples=60, deadline=None)
@given(st.lists(journey, min_size=1, max_size=25), st.sampled_from([None, 0.5, 30.0]))
def test_credits_sum_to_one_and_totals_add_up(journeys, lookback):
    paths = Paths.from_arrow(_table(journeys), lookback_days=lookback)
    credits = attribute(paths)
    conversions = int(paths.converted.sum())
    value = float(paths.value.sum())
    assert pc.min(credits["credit"]).as_py() is None or pc.min(credits["credit"]).as_py() >= 0
    for model in MODELS:
        rows = credits.filter(pc.equal(credits["model"], model))
        per_journey = rows.group_by("journey_id").aggregate([("credit", "sum")])
        assert per_journey.num_rows == conversions
        np.testing.assert_allclose(per_journey["credit_sum"].to_numpy(), 1.0, rtol=1e-9)
    summary = summarize(credits)
    for model in MODELS:
        rows = summary.filter(pc.equal(summary["model"], model))
        np.testing.assert_allclose(pc.sum(rows["conversions"]).as_py() or 0.0, conversions, rtol=1e-9)
        np.testing.assert_allclose(pc.sum(rows["conversion_value"]).as_py() or 0.0, value, rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(journey, min_size=2, max_size=15), st.permutations(CHANNELS))
def test_renaming_channels_changes_nothing(journeys, renamed):
    mapping = dict(zip(CHANNELS, renamed, strict=True))
    table = _table(journeys)
    other = table.set_column(2, "channel", pa.array([mapping[c] for c in table["channel"].to_pylist()]))
    models = ["linear", "time_decay", "position_based", "markov", "shapley"]
    first = attribute(Paths.from_arrow(table), models)
    second = attribute(Paths.from_arrow(other), models)
    np.testing.assert_allclose(first["credit"].to_numpy(), second["credit"].to_numpy(), atol=1e-12)


def _values(kind: str, clean: bool = False) -> st.SearchStrategy:
    if clean:
        return {"string": st.sampled_from(["a", "b", "direct"]), "int": st.integers(0, 5), "float": st.floats(0, 1e6),
                "bool": st.booleans(),
                "timestamp": st.datetimes(datetime(2025, 1, 1), datetime(2025, 1, 3), timezones=st.just(UTC))}[kind]
    return {
        "string": st.one_of(st.sampled_from(["a", "b", "direct"]), st.none(), st.just(""), st.text(max_size=3)),
        "int": st.one_of(st.none(), st.integers(-(2**40), 2**40)),
        "float": st.one_of(st.floats(-1e6, 1e6), st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        "bool": st.one_of(st.none(), st.booleans()),
        "timestamp": st.one_of(st.datetimes(datetime(2025, 1, 1), datetime(2025, 1, 3), timezones=st.just(UTC)),
                               st.none(), st.datetimes(datetime(2000, 1, 1), datetime(2030, 1, 1),
                                                       timezones=st.just(UTC))),
    }[kind]


ARROW = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
         "timestamp": pa.timestamp("us", "UTC")}
RIGHT = {"journey_id": "string", "touch_ts": "timestamp", "channel": "string", "conversion_ts": "timestamp",
         "conversion_value": "float"}
COLUMNS = ["journey_id", "touch_ts", "channel", "conversion_ts", "conversion_value"]


@st.composite
def bad_tables(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(0, 12))
    columns = {}
    ids = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    for name in COLUMNS:
        if draw(st.integers(0, 19)) == 0:
            continue  # missing column
        kind = draw(st.sampled_from([RIGHT[name]] * 20 + list(ARROW)))  # mostly the right type
        clean = draw(st.integers(0, 3)) > 0  # most columns without nulls, NaN, infinities or empty names
        if name == "journey_id" and kind == "string":
            values = [None if draw(st.integers(0, 19)) == 0 else i for i in ids]
        elif name in ("conversion_ts", "conversion_value") and draw(st.integers(0, 3)) > 0:
            per_journey = {i: draw(_values(kind, clean)) for i in "abc"}  # consistent within a journey
            values = [per_journey[i] for i in ids]
        else:
            values = draw(st.lists(_values(kind, clean), min_size=n, max_size=n))
        columns[name] = pa.array(values, ARROW[kind])
    return pa.table(columns) if columns else pa.table({"x": pa.array([], pa.int64())})


@settings(max_examples=300, deadline=None)
@given(bad_tables(), st.sampled_from([None, 1.0, 1e12]))
def test_bad_input_gives_journeys_error_or_counted_skips(table, lookback):
    try:
        paths = Paths.from_arrow(table, lookback_days=lookback)
    except JourneysError as exc:
        assert "\n" not in str(exc)
        event("JourneysError")
        return
    event("attributed" if paths.n_touches else "empty")
    assert set(paths.skipped) <= {"touches_after_conversion", "conversion_before_first_touch", "outside_lookback",
                                  "no_touch_in_lookback", "null_conversion_value", "value_without_conversion"}
    try:
        credits = attribute(paths)
    except JourneysError as exc:  # shapley's limits
        assert "\n" not in str(exc)
        return
    for model in MODELS:
        rows = credits.filter(pc.equal(credits["model"], model))
        per_journey = rows.group_by("journey_id").aggregate([("credit", "sum")])
        np.testing.assert_allclose(per_journey["credit_sum"].to_numpy(), 1.0, rtol=1e-9)

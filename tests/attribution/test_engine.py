"""``attribute`` and ``summarize``: the table shape the dbt models and the command rely on."""

from __future__ import annotations

import pyarrow as pa
import pytest

from attribution.engine import CREDITS_SCHEMA, MODELS, SUMMARY_SCHEMA, attribute, summarize
from attribution.paths import JourneysError, Paths
from tests.attribution.helpers import journeys, paths_of

SPEC = {
    "a": ([(0, "search"), (1, "social")], 2, 10.0),
    "b": ([(0, "social")], None, None),
    "c": ([(0, "search"), (1, "search"), (2, "direct")], 3, 5.0),
    "d": ([(0, "direct")], None, None),
}


def test_one_row_per_converted_touch_and_model():
    credits = attribute(paths_of(SPEC))
    assert credits.schema == CREDITS_SCHEMA
    assert credits.num_rows == 5 * len(MODELS)
    linear = credits.filter(pa.compute.equal(credits["model"], "linear")).to_pylist()
    assert [(r["journey_id"], r["touch_index"], r["channel"], r["credit"], r["credited_value"]) for r in linear] == [
        ("a", 0, "search", 0.5, 5.0), ("a", 1, "social", 0.5, 5.0),
        ("c", 0, "search", pytest.approx(1 / 3), pytest.approx(5 / 3)), ("c", 1, "search", pytest.approx(1 / 3),
         pytest.approx(5 / 3)), ("c", 2, "direct", pytest.approx(1 / 3), pytest.approx(5 / 3))]
    assert linear[0]["touch_id"] is None


def test_touch_ids_are_carried():
    table = journeys({"a": ([(0, "x"), (1, "y")], 2, 1.0)}).append_column("tid", pa.array(["t1", "t2"]))
    credits = attribute(Paths.from_arrow(table, touch_id_col="tid"), ["first_touch"])
    assert credits.column("touch_id").to_pylist() == ["t1", "t2"]


def test_summary_per_model_and_channel():
    summary = summarize(attribute(paths_of(SPEC), ["last_touch", "last_non_direct"]))
    assert summary.schema == SUMMARY_SCHEMA
    assert summary.to_pylist() == [
        {"model": "last_touch", "channel": "direct", "conversions": 1.0, "conversion_value": 5.0},
        {"model": "last_touch", "channel": "search", "conversions": 0.0, "conversion_value": 0.0},
        {"model": "last_touch", "channel": "social", "conversions": 1.0, "conversion_value": 10.0},
        {"model": "last_non_direct", "channel": "direct", "conversions": 0.0, "conversion_value": 0.0},
        {"model": "last_non_direct", "channel": "search", "conversions": 1.0, "conversion_value": 5.0},
        {"model": "last_non_direct", "channel": "social", "conversions": 1.0, "conversion_value": 10.0},
    ]  # channels on converting paths that earned nothing are listed with 0


def test_unknown_model_and_empty_paths():
    with pytest.raises(JourneysError, match="unknown attribution model 'magic'"):
        attribute(paths_of(SPEC), ["magic"])
    empty = attribute(Paths.from_arrow(journeys({})))
    assert empty.num_rows == 0 and empty.schema == CREDITS_SCHEMA
    assert summarize(empty).num_rows == 0

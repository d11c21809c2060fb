"""The dbt Python model int_attribution__credits as plain Python (dbt unit tests cannot run Python models):
its handling of an empty lake, of the custom weights seed and of the lead-creation role, on paths shaped like
int_attribution__paths, with credits computed by hand."""

from __future__ import annotations

import csv
import importlib.util
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pyarrow as pa
import pytest

from tests.conftest import REPO

SETTINGS = {"models": ["last_touch", "linear", "custom", "markov", "shapley"], "half_life_days": 7,
            "position_first": 0.4, "position_last": 0.4, "direct_channel": "direct"}
T0 = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def credits_model() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "int_attribution__credits", REPO / "models" / "intermediate" / "int_attribution__credits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _weights() -> pa.Table:
    with (REPO / "seeds" / "attribution_custom_weights.csv").open() as f:
        rows = list(csv.DictReader(f))
    return pa.table({"dimension": [r["dimension"] for r in rows], "name": [r["name"] for r in rows],
                     "weight": [float(r["weight"]) for r in rows]})


def _paths(rows: list[tuple[str, str, str, int, str | None, float | None]]) -> pa.Table:
    """(path_id, touchpoint_id, attribution_channel, hours after T0, touch_role, conversion_value or None)."""
    converted = {p: T0 + timedelta(days=10) for p, *_, value in rows if value is not None}
    ts = pa.timestamp("us", tz="UTC")
    return pa.table({
        "path_id": [r[0] for r in rows],
        "conversion_id": [r[0] if r[0] in converted else None for r in rows],
        "touchpoint_id": [r[1] for r in rows],
        "attribution_channel": [r[2] for r in rows],
        "touch_role": pa.array([r[4] for r in rows], pa.string()),
        "touch_index": pa.array([0] * len(rows), pa.int32()),
        "conversion_value": pa.array([r[5] for r in rows], pa.float64()),
        "is_converting": [r[0] in converted for r in rows],
        "touched_at": pa.array([T0 + timedelta(hours=r[3]) for r in rows], ts),
        "converted_at": pa.array([converted.get(r[0]) for r in rows], ts),
    })


def test_an_empty_lake_gives_no_rows_with_the_models_schema(credits_model: ModuleType) -> None:
    empty = _paths([])
    result = credits_model.credits(empty, _weights(), SETTINGS)
    assert result.num_rows == 0 and result.schema == credits_model.SCHEMA
    # Only non-converting paths: nothing to credit either.
    only_non_converting = _paths([("person:p1", "t1", "direct", 1, None, None)])
    assert credits_model.credits(only_non_converting, _weights(), SETTINGS).num_rows == 0


def test_the_seeds_weights_and_the_lead_creation_role(credits_model: ModuleType) -> None:
    roles, channels = credits_model.custom_weights(_weights(), ["direct", "paid_social:meta_ads", "email"])
    assert roles == {"first": 0.3, "lead_creation": 0.3, "last": 0.3, "middle": 0.1}
    assert channels == {"direct": 0.5}
    specific = pa.table({"dimension": ["channel", "channel"], "name": ["paid_social", "paid_social:meta_ads"],
                         "weight": [2.0, 3.0]})
    assert credits_model.custom_weights(specific, ["paid_social:meta_ads", "paid_social:tiktok_ads"])[1] == {
        "paid_social:meta_ads": 3.0, "paid_social:tiktok_ads": 2.0}

    # A deal's path of four touches; the third created the lead. W-shaped: first 0.3, the lead's touch 0.3 and
    # its half of the middle 0.1, last 0.3; the direct middle touch at half weight: 0.05 x 0.5 = 0.025.
    paths = _paths([
        ("deal1", "a", "paid_social:linkedin_ads", 1, None, 1000.0),
        ("deal1", "b", "direct", 2, None, 1000.0),
        ("deal1", "c", "email", 3, "lead_creation", 1000.0),
        ("deal1", "d", "paid_search:google_ads", 4, None, 1000.0),
        ("person:p2", "e", "direct", 1, None, None),
        ("person:p2", "f", "display:programmatic", 2, None, None),
    ])
    result = credits_model.credits(paths, _weights(), SETTINGS)
    assert result.schema == credits_model.SCHEMA
    assert set(result["path_id"].to_pylist()) == {"deal1"}
    rows = {(r["model"], r["touchpoint_id"]): r for r in result.to_pylist()}
    total = 0.3 + 0.025 + 0.35 + 0.3
    for touch, weight in {"a": 0.3, "b": 0.025, "c": 0.35, "d": 0.3}.items():
        assert rows[("custom", touch)]["credit"] == pytest.approx(weight / total, abs=1e-12)
        assert rows[("custom", touch)]["credited_value"] == pytest.approx(1000 * weight / total, abs=1e-9)
        assert rows[("linear", touch)]["credit"] == pytest.approx(0.25, abs=1e-12)
        assert rows[("last_touch", touch)]["credit"] == (1.0 if touch == "d" else 0.0)
    for model in SETTINGS["models"]:
        assert sum(r["credit"] for (m, _), r in rows.items() if m == model) == pytest.approx(1, abs=1e-12)
    assert [rows[("linear", t)]["touch_index"] for t in "abcd"] == [0, 1, 2, 3]


def test_vars_given_on_the_command_line_arrive_as_text(credits_model: ModuleType) -> None:
    assert credits_model._setting("['linear', 'markov']") == ["linear", "markov"]
    assert credits_model._setting("3.5") == 3.5
    assert credits_model._setting("direct") == "direct"
    assert credits_model._setting(["linear"]) == ["linear"]

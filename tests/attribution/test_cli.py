"""``adlake attribute``: the summary file, and bad input as one ``adlake: error: ...`` line."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from attribution.engine import MODELS
from flows.bench_attribution import synthetic_journeys
from flows.cli import main
from tests.attribution.helpers import journeys


def test_attribute_writes_model_by_channel_summary(tmp_path, capsys):
    source = tmp_path / "journeys.parquet"
    table = synthetic_journeys(2_000, seed=3)
    pq.write_table(table.append_column("extra", pa.nulls(table.num_rows)), source)
    assert main(["attribute", "--journeys", str(source), "--out", str(tmp_path / "out.parquet")]) == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column_names == ["model", "channel", "conversions", "conversion_value"]
    assert sorted(set(out["model"].to_pylist())) == sorted(MODELS)
    converted = pc.count_distinct(table.filter(pc.is_valid(table["conversion_ts"]))["journey_id"]).as_py()
    for model in MODELS:
        rows = out.filter(pc.equal(out["model"], model))
        assert pc.sum(rows["conversions"]).as_py() == pytest.approx(converted)
    printed = capsys.readouterr().out
    assert "markov: " in printed and "shapley: " in printed and "wrote 90 rows" in printed


def test_models_and_lookback_options(tmp_path, capsys):
    source = tmp_path / "journeys.parquet"
    pq.write_table(journeys({"j": ([(0, "a"), (20, "b")], 21, 10.0)}), source)
    out = tmp_path / "out.parquet"
    assert main(["attribute", "--journeys", str(source), "--out", str(out), "--models", "first_touch,markov",
                 "--lookback-days", "10"]) == 0
    assert pq.read_table(out).to_pylist() == [
        {"model": "first_touch", "channel": "b", "conversions": 1.0, "conversion_value": 10.0},
        {"model": "markov", "channel": "b", "conversions": 1.0, "conversion_value": 10.0},
    ]
    assert "skipped 1: touches older than the lookback window" in capsys.readouterr().out


@pytest.mark.parametrize(("write", "args", "message"), [
    (lambda t: t.drop_columns(["channel"]), [], "journeys: missing column 'channel'"),
    (lambda t: t.set_column(2, "channel", pa.array(["a", None])), [], "journeys: column 'channel' has 1 null"),
    (lambda t: t.set_column(1, "touch_ts", pa.array(["2025-03-01", "2025-03-02"])), [],
     "journeys: column 'touch_ts' must be timestamp, not string"),
    (lambda t: t, ["--models", "last_click"], "--models: unknown model 'last_click'"),
    (lambda t: t, ["--lookback-days", "0"], "--lookback-days must be positive"),
    (None, [], "journeys: no such file"),
])
def test_bad_input_is_one_error_line(tmp_path, capsys, write, args, message):
    source = tmp_path / "journeys.parquet"
    if write is not None:
        pq.write_table(write(journeys({"j": ([(0, "a"), (1, "b")], 2, 1.0)})), source)
    assert main(["attribute", "--journeys", str(source), "--out", str(tmp_path / "o.parquet"), *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"adlake: error: {message}")
    assert "\n" not in err


def test_not_parquet(tmp_path, capsys):
    source = tmp_path / "journeys.parquet"
    source.write_text("journey_id,touch_ts\n")
    assert main(["attribute", "--journeys", str(source), "--out", str(tmp_path / "o.parquet")]) == 1
    assert "is not a readable Parquet file" in capsys.readouterr().err


def test_conversion_before_first_touch_is_a_counted_skip(tmp_path, capsys):
    source = tmp_path / "journeys.parquet"
    pq.write_table(journeys({"early": ([(5, "a")], 1, 3.0), "ok": ([(0, "b")], 1, 2.0)}), source)
    assert main(["attribute", "--journeys", str(source), "--out", str(tmp_path / "o.parquet"),
                 "--models", "linear"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1: converted journeys whose every touch is after the conversion" in out
    assert "linear: " in out and "1 conversions" in out

"""The attribution benchmark and its generator, on a small sample (figures are never asserted)."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from attribution.paths import Paths
from flows.bench_attribution import run_attribution_bench, synthetic_journeys


def test_generator_is_seeded_and_shaped():
    table = synthetic_journeys(5_000, seed=11)
    assert table.equals(synthetic_journeys(5_000, seed=11))
    assert not table.equals(synthetic_journeys(5_000, seed=12))
    paths = Paths.from_arrow(table)
    assert paths.n_journeys == 5_000 and len(paths.channels) == 10 and paths.skipped == {}
    assert 2.5 < paths.n_touches / paths.n_journeys < 3.5
    assert 0.02 < paths.converted.mean() < 0.3
    assert pc.min(table["conversion_value"]).as_py() > 0
    assert np.all(paths.conversion_ts[paths.converted] >= paths.touch_ts[paths.offsets[1:] - 1][paths.converted])


def test_bench_reports_every_stage(monkeypatch):
    monkeypatch.delenv("ADLAKE_CHANNELATTRIBUTION_PYTHON", raising=False)
    figures = run_attribution_bench(2_000, seed=1)
    assert set(figures["stages"]) == {"read", "paths", "first_touch", "last_touch", "last_non_direct", "linear",
                                      "time_decay", "position_based", "custom", "markov", "shapley"}
    assert all(s["seconds"] >= 0 and s["peak_rss_mib"] > 0 for s in figures["stages"].values())
    assert figures["command"]["peak_rss_mib"] > 0
    assert figures["channel_attribution"].startswith("skipped")

"""Optional oracle: ChannelAttribution's first-order ``markov_model`` (Monte Carlo; GPL-3, so never a
dependency). It runs in its own interpreter, named by ``ADLAKE_CHANNELATTRIBUTION_PYTHON``, e.g.::

    python3 -m venv /tmp/ca-venv && /tmp/ca-venv/bin/pip install ChannelAttribution pandas pyarrow matplotlib
    ADLAKE_CHANNELATTRIBUTION_PYTHON=/tmp/ca-venv/bin/python pytest -m slow tests/attribution
"""

from __future__ import annotations

import os

import pyarrow.parquet as pq
import pytest

from attribution.markov import channel_shares, removal_effects
from attribution.paths import Paths
from flows.bench_attribution import run_channel_attribution, synthetic_journeys

PYTHON = os.environ.get("ADLAKE_CHANNELATTRIBUTION_PYTHON")


@pytest.mark.slow
@pytest.mark.skipif(not PYTHON, reason="ADLAKE_CHANNELATTRIBUTION_PYTHON does not name a Python with "
                                       "ChannelAttribution (optional GPL oracle, never a dependency)")
def test_exact_removal_effects_agree_with_channel_attribution(tmp_path):
    # 50,000 journeys, 10 channels, ~11,800 distinct paths. ChannelAttribution simulates walks until its
    # folds agree within conv_par; max_step 100 so that capped walks (counted as null) are negligible.
    # Seen: removal effects within 0.004 and channel shares 0.5 % apart in L1 (conv_par 0.01, seed 0).
    table = synthetic_journeys(50_000, seed=7)
    file = tmp_path / "journeys.parquet"
    pq.write_table(table, file)
    paths = Paths.from_arrow(table)
    _, effects = removal_effects(paths)
    theirs = run_channel_attribution(PYTHON, file, conv_par=0.01, max_step=100, seed=0)
    total = sum(theirs["conversions"].values())
    assert total == pytest.approx(int(paths.converted.sum()))
    shares = channel_shares(effects)
    l1 = sum(abs(shares[c] - theirs["conversions"][name] / total) for c, name in enumerate(paths.channels))
    assert l1 < 0.02
    for code, name in enumerate(paths.channels):
        assert effects[code] == pytest.approx(theirs["removal_effects"][name], abs=0.015)

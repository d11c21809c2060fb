"""``adlake bench --attribution``: a seeded synthetic journeys file, every model in one run, time and peak
memory per stage; optionally the same Markov pipeline with the ChannelAttribution package, side by side.

ChannelAttribution is GPL-3: it is never imported here. It runs in a separate interpreter named by
``ADLAKE_CHANNELATTRIBUTION_PYTHON`` (a throw-away virtualenv), given the same Parquet file.
Figures are for the notes and the README, never asserted in tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from attribution.paths import MICROS_PER_DAY

CHANNELS = ("search", "social", "display", "video", "email", "sms", "affiliate", "direct", "referral", "push")
START_US = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z


def synthetic_journeys(journeys: int, *, channels: int = 10, seed: int = 0, mean_touches: float = 3.0) -> pa.Table:
    """A seeded journeys table (the ``adlake attribute`` input), generated without a Python loop per row.

    Journeys have ``1 + Poisson(mean_touches - 1)`` touches over popularity-skewed channels, a few days apart;
    a journey converts with probability ``1 - (1 - 0.01) * prod(1 - lift_c)`` over its distinct channels, so
    some channels are more incremental than others; the conversion follows the last touch.
    """
    rng = np.random.default_rng(seed)
    names = list(CHANNELS[:channels]) + [f"channel_{i}" for i in range(len(CHANNELS), channels)]
    popularity = 1.0 / np.arange(1, channels + 1) ** 0.8
    popularity /= popularity.sum()
    lift = rng.permutation(np.linspace(0.08, 0.002, channels))
    lengths = 1 + np.minimum(rng.poisson(mean_touches - 1, journeys), 29)
    m = int(lengths.sum())
    offsets = np.r_[0, np.cumsum(lengths)]
    jot = np.repeat(np.arange(journeys), lengths)
    channel = rng.choice(channels, size=m, p=popularity).astype(np.int32)
    gaps = np.round(rng.exponential(1.5 * MICROS_PER_DAY, m)).astype(np.int64)
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[offsets[:-1]], lengths)  # each journey starts at its first touch
    start = START_US + rng.integers(0, 60 * MICROS_PER_DAY, journeys)
    touch_ts = start[jot] + elapsed
    present = np.bitwise_or.reduceat(np.left_shift(np.int64(1), channel.astype(np.int64)), offsets[:-1])
    miss = np.full(journeys, 0.99)
    for c in range(min(channels, 62)):
        miss *= np.where((present >> c) & 1, 1.0 - lift[c], 1.0)
    converted = rng.random(journeys) < 1.0 - miss
    conversion_ts = touch_ts[offsets[1:] - 1] + np.round(rng.exponential(0.5 * MICROS_PER_DAY, journeys)).astype(
        np.int64)
    value = np.round(rng.lognormal(4.0, 0.8, journeys), 2)
    ids = pc.binary_join_element_wise("j", pc.cast(pa.array(np.arange(journeys)), pa.string()), "")
    touch_converted = converted[jot]
    return pa.table({
        "journey_id": ids.take(pa.array(jot)),
        "touch_ts": pa.array(touch_ts, pa.timestamp("us", "UTC")),
        "channel": pa.array(names, pa.string()).take(pa.array(channel)),
        "conversion_ts": pa.array(conversion_ts[jot], pa.timestamp("us", "UTC"), mask=~touch_converted),
        "conversion_value": pa.array(value[jot], pa.float64(), mask=~touch_converted),
    })


def _peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM) since the last reset, MiB."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


class _Probe:
    """Times each stage and records its peak RSS (reset before every stage when the kernel allows)."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self.resettable = _reset_peak()

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        _reset_peak()
        started = time.perf_counter()
        yield
        self.stages[name] = {"seconds": round(time.perf_counter() - started, 3),
                             "peak_rss_mib": round(_peak_rss_mib())}


CA_SCRIPT = r"""
import json, sys, time
started = time.perf_counter()
import pandas as pd
import pyarrow.parquet as pq
from ChannelAttribution import markov_model
journeys = pq.read_table(sys.argv[1]).to_pandas()
journeys = journeys.sort_values(["journey_id", "touch_ts"], kind="stable")
grouped = journeys.groupby("journey_id", sort=False)
per_journey = pd.DataFrame({"path": grouped["channel"].agg(" > ".join),
                            "converted": grouped["conversion_ts"].first().notna().astype(int),
                            "value": grouped["conversion_value"].first().fillna(0.0)})
data = per_journey.groupby("path", as_index=False).agg(total_conversions=("converted", "sum"),
                                                      total_conversion_value=("value", "sum"),
                                                      n=("converted", "size"))
data["total_null"] = data["n"] - data["total_conversions"]
prepared = time.perf_counter()
result = markov_model(data, "path", "total_conversions", var_value="total_conversion_value", var_null="total_null",
                      out_more=True, verbose=False, flg_pro=False, **json.loads(sys.argv[2]))
done = time.perf_counter()
effects = result["removal_effects"]
print(json.dumps({"prepare_seconds": prepared - started, "markov_seconds": done - prepared,
                  "total_seconds": done - started, "paths": len(data),
                  "conversions": dict(zip(result["result"]["channel_name"], result["result"]["total_conversions"])),
                  "removal_effects": dict(zip(effects["channel_name"], effects["removal_effects_conversion"]))}))
"""


def run_channel_attribution(python: str, journeys: Path, **options: Any) -> dict[str, Any]:
    """Run ChannelAttribution's ``markov_model`` on a journeys file in the interpreter ``python``.

    The pipeline mirrors ours: read the Parquet file, build paths (pandas), aggregate them to
    ``path; total_conversions; total_conversion_value; total_null`` and run the Monte Carlo model.
    """
    started = time.perf_counter()
    done = subprocess.run([python, "-c", CA_SCRIPT, str(journeys), json.dumps(options)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise RuntimeError(f"ChannelAttribution failed: {lines[-1] if lines else done.returncode}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["wall_seconds"] = time.perf_counter() - started
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return figures


def _run_command(journeys: Path, out: Path) -> dict[str, Any]:
    """``adlake attribute`` with every model as its own process: wall time (start-up included), peak RSS."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flows.cli", "attribute", "--journeys", str(journeys), "--out",
                           str(out)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"adlake attribute exited with {done.returncode}")
    return {"wall_seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def run_attribution_bench(journeys: int = 1_000_000, seed: int = 0, channels: int = 10,
                          ca_python: str | None = None) -> dict[str, Any]:
    """Generate, then attribute with every model in one run; the figures per stage and in total."""
    from attribution.engine import MODELS
    from flows.attribute import run_attribute

    ca_python = ca_python or os.environ.get("ADLAKE_CHANNELATTRIBUTION_PYTHON")
    figures: dict[str, Any] = {"journeys": journeys, "channels": channels, "seed": seed, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="adlake-bench-attribution-") as scratch:
        file = Path(scratch) / "journeys.parquet"
        started = time.perf_counter()
        table = synthetic_journeys(journeys, channels=channels, seed=seed)
        pq.write_table(table, file)
        figures["touches"] = table.num_rows
        figures["generate_seconds"] = round(time.perf_counter() - started, 2)
        figures["file_mib"] = round(file.stat().st_size / 2**20, 1)
        del table
        probe = _Probe()
        started = time.perf_counter()
        run_attribute(file, Path(scratch) / "summary.parquet", MODELS, echo=lambda _line: None, stage=probe)
        figures["total_seconds"] = round(time.perf_counter() - started, 2)
        figures["stages"] = probe.stages
        figures["peak_rss_mib"] = max(s["peak_rss_mib"] for s in probe.stages.values())
        if not probe.resettable:
            figures["note"] = "peak RSS could not be reset between stages: each figure is the process peak so far"
        figures["markov_pipeline_seconds"] = round(sum(probe.stages[s]["seconds"] for s in ("read", "paths", "markov")),
                                                   2)
        figures["command"] = _run_command(file, Path(scratch) / "command.parquet")
        if ca_python:
            ca = run_channel_attribution(ca_python, file)
            figures["channel_attribution"] = {k: round(v, 2) if isinstance(v, float) else v  # peak: max of children
                                              for k, v in ca.items() if k not in ("conversions", "removal_effects")}
            figures["markov_speedup_vs_channel_attribution"] = round(ca["wall_seconds"]
                                                                     / figures["markov_pipeline_seconds"], 1)
        else:
            figures["channel_attribution"] = "skipped: set ADLAKE_CHANNELATTRIBUTION_PYTHON to a Python with it"
    return figures

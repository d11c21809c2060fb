"""``adlake bench``: time each stage on the sandbox in a throw-away lake and report peak memory.

Figures are for the notes and the README, never asserted in tests.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from flows.demo import sandbox_environment
from flows.transform import publish_marts, run_dbt
from pipelines.lake import Lake
from pipelines.meta_ads.settings import DEFAULT_API_VERSION
from pipelines.runner import run_source
from sandbox.meta import DEFAULT_TOKEN
from sandbox.server import SandboxServer
from sandbox.world import DEFAULT_SEED, World, WorldConfig


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _plain_pull(server: SandboxServer) -> int:
    """Every ad-level insights row of the world through plain HTTP: the sandbox's own cost."""
    config = server.world.config
    rows = 0
    for account in server.world.accounts["meta"]:
        url: str | None = f"{server.url_for('meta')}/{DEFAULT_API_VERSION}/act_{account.account_id}/insights"
        params: dict[str, Any] | None = {
            "level": "ad", "limit": 500, "fields": "ad_id,date_start,spend,impressions,clicks,actions,action_values",
            "time_range": json.dumps({"since": config.start_date.isoformat(), "until": config.end_date.isoformat()}),
        }
        while url:
            body = requests.get(url, params=params, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
                                timeout=120).json()
            rows += len(body["data"])
            url, params = body.get("paging", {}).get("next"), None
    return rows


def run_bench(scale: float = 1.0, days: int | None = None, seed: int | None = None) -> dict[str, Any]:
    """Measure the sandbox pull, the dlt ingest, dbt build and publication; return the figures."""
    world = World(WorldConfig(seed=DEFAULT_SEED if seed is None else seed, scale=scale))
    days = days or world.config.days
    figures: dict[str, Any] = {"scale": scale, "days": days}
    with tempfile.TemporaryDirectory(prefix="adlake-bench-") as home, SandboxServer(world) as server:
        os.environ["ADLAKE_HOME"] = str(Path(home) / "lake")
        os.environ.update(sandbox_environment(server))
        lake = Lake()
        end = server.clock.as_of
        start = end - timedelta(days=days - 1)
        seconds, rows = _timed(lambda: _plain_pull(server))
        figures["sandbox_pull"] = {"seconds": round(seconds, 2), "rows": rows}
        seconds, summary = _timed(lambda: run_source("meta_ads", lake, start_date=start, end_date=end))
        figures["ingest_meta_ads"] = {"seconds": round(seconds, 2), "rows": summary.total_rows,
                                      "rows_per_second": round(summary.total_rows / seconds)}
        seconds, _ = _timed(lambda: run_dbt(["build"], lake))
        figures["dbt_build"] = {"seconds": round(seconds, 2)}
        seconds, published = _timed(lambda: publish_marts(lake))
        figures["publish_marts"] = {"seconds": round(seconds, 2), "rows": sum(published.values())}
    # ru_maxrss is in KiB on Linux.
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return figures


def run_truth_bench(scale: float, seed: int | None = None) -> dict[str, Any]:
    """Generate the ground truth at ``scale`` in a child process: seconds, rows and the child's peak memory."""
    with tempfile.TemporaryDirectory(prefix="adlake-truth-") as out:
        command = [sys.executable, "-m", "flows.cli", "sandbox", "truth", "--out", out, "--scale", str(scale)]
        if seed is not None:
            command += ["--seed", str(seed)]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "truth failed")
        rows = {line.split(": ")[0].rsplit("/", 1)[-1]: int(line.split(": ")[1].split()[0])
                for line in done.stdout.splitlines() if ": " in line}
        size = sum(f.stat().st_size for f in Path(out).glob("*.parquet"))
    return {"scale": scale, "seconds": round(seconds, 1), "rows": rows, "parquet_mib": round(size / 2**20, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}

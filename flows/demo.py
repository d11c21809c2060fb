"""``adlake demo``: the daily flow against the embedded sandbox, end to end, on local disk."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

from flows.push_webhooks import push_world_webhooks
from flows.summary import channel_summary, render_summary
from pipelines.lake import Lake
from sandbox.catalog import emulations, source_settings
from sandbox.faults import FaultPlan
from sandbox.file_drops import write_network_reports
from sandbox.server import SandboxServer
from sandbox.world import DEFAULT_SEED, World, WorldConfig


def sandbox_environment(server: SandboxServer) -> dict[str, str]:
    """The source settings that point every connector at the sandbox."""
    return source_settings(server.base_url, server.world)


def run_demo(days: int = 30, seed: int | None = None, scale: float = 1.0, faults: bool = False) -> None:
    """Start the sandbox on a free loopback port, run ``daily`` over its last ``days`` days, print the summary."""
    from flows.daily import daily

    config = WorldConfig(seed=DEFAULT_SEED if seed is None else seed, scale=scale)
    days = max(1, min(days, config.days))
    world = World(config)
    plan = FaultPlan.from_seed(config.seed, [e.platform for e in emulations()]) if faults else None
    lake = Lake()
    # The demo's people are simulated: without a configured key, it pseudonymizes with a random one
    # for this run (a real deployment must set ADLAKE_PSEUDONYM_KEY; the build refuses to guess one).
    os.environ.setdefault("ADLAKE_PSEUDONYM_KEY", secrets.token_hex(32))
    with SandboxServer(world, faults=plan) as server:
        os.environ.update(sandbox_environment(server))
        # The networks drop their daily files into a folder the file-drop source reads.
        drops = lake.settings.home / "drops"
        write_network_reports(world, drops, server.clock.as_of)
        os.environ["SOURCES__FILE_DROPS__BUCKET_URL"] = str(drops)
        end = server.clock.as_of
        start = end - timedelta(days=days - 1)
        print(f"adlake demo: sandbox at {server.base_url}, seed {config.seed}, scale {config.scale:g}, "
              f"report days {start}..{end}", flush=True)
        # The pushed side (pixel and server events, email and SMS callbacks, MMP pushes) arrives
        # through a real receiver before the daily pull and build.
        pushed = push_world_webhooks(world, lake.settings.home, days)
        print(f"adlake demo: {pushed.deliveries} webhook deliveries received and landed "
              f"({pushed.duplicates} sent twice) in {pushed.seconds:.0f} s", flush=True)
        daily(start=start, end=end)
    render_summary(channel_summary(lake.settings.duckdb_path))
    print(f"lake: {lake.settings.home} (catalog {lake.settings.catalog_uri}); "
          f"BI tools can open {lake.settings.duckdb_path}")

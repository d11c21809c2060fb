"""Lakes built once per test session and shared by the slow tests that only read them.

Building a lake (pull the sandbox, push webhooks through a real receiver, the full ``dbt build``) takes
minutes; the mart tests that each built their own made the suite run past its time goal. A test that
changes a shared lake must put it back as it found it (or work on a copy of its DuckDB file).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.transform import run_dbt
from pipelines.lake import Lake
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.emission import world_deliveries
from sandbox.file_drops import write_network_reports
from sandbox.server import Clock, SandboxServer
from sandbox.webhooks import Delivery, WebhookEmitter, WebhookSecrets
from sandbox.world import World
from tests.conftest import TEST_PSEUDONYM_KEY, clear_lake_settings
from tests.webhooks.conftest import SEED, Running, serving

API_SOURCES = ("meta_ads", "google_ads", "linkedin_ads", "tiktok_ads", "microsoft_ads")
# The pushed lake: the ad platforms' and networks' last AD_DAYS days, the pushes, AppsFlyer's pulls of the
# last PUSH_DAYS days and the whole CRM.
AD_DAYS = 7
PUSH_DAYS = 3


@dataclass
class SharedLake:
    """A built lake and the environment it was built in (``activate`` it before running dbt on it)."""

    world: World
    lake: Lake
    env: dict[str, str]

    def activate(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point the process's lake settings at this lake (undone by the monkeypatch)."""
        clear_lake_settings(monkeypatch)
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)


@dataclass
class PushedLake(SharedLake):
    """The sandbox's ad data of ``ad_days`` and the pushes of the last ``push_days`` days, landed and built."""

    clock: Clock
    ad_days: list[date]
    push_days: int
    drops: Path
    deliveries: list[Delivery]
    duplicates: int  # deliveries the emitter sent twice


@contextmanager
def isolated_lake(home: Path) -> Iterator[tuple[pytest.MonkeyPatch, Lake]]:
    """A fresh lake in ``home`` with the tests' pseudonymization key; every setting undone on exit."""
    with pytest.MonkeyPatch.context() as mp:
        clear_lake_settings(mp)
        mp.setenv("ADLAKE_HOME", str(home))
        mp.setenv("ADLAKE_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
        lake = Lake()
        mp.setenv("ADLAKE_DUCKDB_PATH", str(lake.settings.duckdb_path))  # run_dbt sets it; undone on exit
        yield mp, lake


def point_sources_at(mp: pytest.MonkeyPatch, server: SandboxServer, drops: Path) -> None:
    """Every pull source configured against the sandbox, with quick retries, and AppsFlyer's today."""
    for key, value in source_settings(server.base_url, server.world).items():
        mp.setenv(key, value)
    for source in API_SOURCES:
        mp.setenv(f"SOURCES__{source.upper()}__BACKOFF_BASE_SECONDS", "0.01")
        mp.setenv(f"SOURCES__{source.upper()}__MAX_ATTEMPTS", "4")
    mp.setenv("SOURCES__MICROSOFT_ADS__POLL_INTERVAL_SECONDS", "0.01")
    mp.setenv("SOURCES__FILE_DROPS__BUCKET_URL", str(drops))
    mp.setattr("pipelines.appsflyer.helpers.today", lambda tz: server.clock.as_of)


def lake_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("ADLAKE_") and k != "ADLAKE_PROJECT_DIR"}


def build_pushed_lake(world: World, home: Path) -> PushedLake:
    with isolated_lake(home / "lake") as (mp, lake), SandboxServer(world) as server:
        drops = home / "drops"
        point_sources_at(mp, server, drops)
        end = server.clock.as_of
        ad_days = [end - timedelta(days=i) for i in reversed(range(AD_DAYS))]
        write_network_reports(world, drops, end, days=ad_days)
        for source in (*API_SOURCES, "file_drops"):
            run_source(source, lake, start_date=ad_days[0], end_date=end)
        run_source("appsflyer", lake, start_date=end - timedelta(days=PUSH_DAYS - 1), end_date=end)
        run_source("crm", lake)  # the first run lists every contact and deal
        deliveries = world_deliveries(world, last_days=PUSH_DAYS)
        with serving(lake, WebhookSecrets.from_seed(SEED), home / "receiver") as running:
            duplicates = send_and_land(running, deliveries)
        run_dbt(["build"], lake)
        return PushedLake(world, lake, lake_env(), server.clock, ad_days, PUSH_DAYS, drops, deliveries, duplicates)


def send_and_land(running: Running, deliveries: list[Delivery]) -> int:
    """Send the deliveries to the receiver (retries, 20 % sent twice, reordered), stop it and land the journal;
    returns how many were sent twice."""
    with WebhookEmitter(running.url, running.secrets, seed=7, duplicate_rate=0.2, backoff_seconds=0.01,
                        max_backoff_seconds=0.05) as emitter:
        log = emitter.send(deliveries)
    assert not log.dropped() and log.duplicates()
    running.stop_and_land()
    return len(log.duplicates())


def build_full_lake(world: World, home: Path, days: int) -> SharedLake:
    """Every source of the world's last ``days`` days: the pulls, the networks' file drops and the pushes
    through a real ``adlake serve-webhooks`` (signed, retried, some sent twice), then the full ``dbt build``."""
    from flows.push_webhooks import push_world_webhooks

    with isolated_lake(home / "lake") as (mp, lake), SandboxServer(world) as server:
        drops = home / "drops"
        point_sources_at(mp, server, drops)
        end = server.clock.as_of
        start = end - timedelta(days=days - 1)
        write_network_reports(world, drops, end)
        for source in (*API_SOURCES, "file_drops", "appsflyer"):
            run_source(source, lake, start_date=start, end_date=end)
        run_source("crm", lake)
        pushed = push_world_webhooks(world, lake.settings.home, days)
        print(f"\n{pushed.deliveries} webhook deliveries landed ({pushed.duplicates} sent twice) "
              f"in {pushed.seconds:.0f} s")
        run_dbt(["build"], lake)
        return SharedLake(world, lake, lake_env())

"""Shared fixtures: an isolated lake per test, the sandbox on a free loopback port, Meta settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from pipelines.lake import Lake
from sandbox.meta import DEFAULT_TOKEN
from sandbox.server import SandboxServer
from sandbox.world import World, WorldConfig

if TYPE_CHECKING:
    from tests.shared_lakes import PushedLake, SharedLake

REPO = Path(__file__).resolve().parents[1]
# Tests build the whole dbt project, whose pseudonymization boundary needs a key (never a default in code).
TEST_PSEUDONYM_KEY = "adlake-tests-pseudonym-key-not-a-secret-0123456789abcdef"

# A fresh checkout has no .hypothesis cache: the first text draw builds Unicode tables (about 1 s on
# 2 cores), which the too_slow health check would report as slow input generation.
settings.register_profile("adlake", suppress_health_check=[HealthCheck.too_slow], deadline=1000)
settings.load_profile("adlake")


@pytest.fixture(scope="session", autouse=True)
def _quiet_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nothing leaves the machine; Prefect keeps its state away from the user's home."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect_home"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["ADLAKE_PROJECT_DIR"] = str(REPO)


def clear_lake_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every source and lake setting (but the project folder), undone by the monkeypatch."""
    for key in [k for k in os.environ if k.startswith(("SOURCES__", "ADLAKE_")) and k != "ADLAKE_PROJECT_DIR"]:
        monkeypatch.delenv(key)


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    """A fresh embedded lake in a temporary ADLAKE_HOME."""
    clear_lake_settings(monkeypatch)
    monkeypatch.setenv("ADLAKE_HOME", str(tmp_path / "lake"))
    monkeypatch.setenv("ADLAKE_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
    return Lake()


@pytest.fixture(scope="session")
def world() -> World:
    return World(WorldConfig())


@pytest.fixture
def sandbox(world: World) -> Iterator[SandboxServer]:
    with SandboxServer(world) as server:
        yield server


def meta_settings(server: SandboxServer) -> dict[str, str]:
    """Environment that points the Meta source at a sandbox, with quick retries."""
    return {
        "SOURCES__META_ADS__BASE_URL": server.url_for("meta"),
        "SOURCES__META_ADS__ACCESS_TOKEN": DEFAULT_TOKEN,
        "SOURCES__META_ADS__ACCOUNT_IDS": ",".join(a.account_id for a in server.world.accounts["meta"]),
        "SOURCES__META_ADS__BACKOFF_BASE_SECONDS": "0.01",
        "SOURCES__META_ADS__MAX_ATTEMPTS": "4",
    }


@pytest.fixture
def meta_env(lake: Lake, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The Meta source configured against the sandbox, in a fresh lake."""
    for key, value in meta_settings(sandbox).items():
        monkeypatch.setenv(key, value)
    return sandbox


# The sandbox days the session's full lake loads (the world has 60; ADLAKE_TEST_FULL_LAKE_DAYS=60 scores the
# attribution models over all of them).
FULL_LAKE_DAYS = int(os.environ.get("ADLAKE_TEST_FULL_LAKE_DAYS", "30"))


@pytest.fixture(scope="session")
def full_lake(world: World, tmp_path_factory: pytest.TempPathFactory) -> SharedLake:
    """Every source of the world's last FULL_LAKE_DAYS days, built once for the session (read only)."""
    from tests.shared_lakes import build_full_lake

    return build_full_lake(world, tmp_path_factory.mktemp("full"), FULL_LAKE_DAYS)


@pytest.fixture(scope="session")
def pushed_lake(world: World, tmp_path_factory: pytest.TempPathFactory) -> PushedLake:
    """The ad data of a week and the pushes of three days through the in-process receiver, built once for the
    session (read only; a test that changes it puts it back)."""
    from tests.shared_lakes import build_pushed_lake

    return build_pushed_lake(world, tmp_path_factory.mktemp("pushed"))

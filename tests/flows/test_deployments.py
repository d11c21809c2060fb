"""prefect.yaml registered against a real Prefect server, started here on loopback, with the README's commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import REPO
from tests.webhooks.conftest import free_port

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "prefect"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Prefect server (its own SQLite database) on a free loopback port; yields the CLI's environment."""
    home = tmp_path_factory.mktemp("prefect_server")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    log = (home / "server.log").open("wb")
    process = subprocess.Popen([*CLI, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{api}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.5)
        yield env | {"PREFECT_API_URL": api}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _prefect(env: dict[str, str], *args: str) -> str:
    run = subprocess.run([*CLI, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, f"prefect {' '.join(args)}: {run.stdout[-2000:]}{run.stderr[-2000:]}"
    return run.stdout


def _post(env: dict[str, str], path: str, body: dict | None = None) -> list[dict]:
    answer = requests.post(f"{env['PREFECT_API_URL']}/{path}", json=body or {}, timeout=30)
    answer.raise_for_status()
    return answer.json()


def test_the_readmes_commands_register_every_deployment_on_the_lake_writers_queue(server: dict[str, str]) -> None:
    _prefect(server, "work-pool", "create", "adlake", "--type", "process")
    _prefect(server, "work-queue", "create", "lake-writers", "--pool", "adlake", "--limit", "1")
    _prefect(server, "--no-prompt", "deploy", "--all")

    declared = {d["name"]: d for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
    deployments = {d["name"]: d for d in _post(server, "deployments/filter")}
    assert set(deployments) == set(declared) == {"daily", "backfill", "budget"}
    for name, deployment in deployments.items():
        assert deployment["work_pool_name"] == "adlake" and deployment["work_queue_name"] == "lake-writers", name
        assert deployment["global_concurrency_limit"]["limit"] == 1, name  # one run of it at a time
        assert deployment["concurrency_options"]["collision_strategy"] == "ENQUEUE", name
        assert Path(deployment["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]["directory"]) \
            == REPO, name
    daily = deployments["daily"]
    assert [s["schedule"]["cron"] for s in daily["schedules"]] == ["0 5 * * *"]
    assert daily["parameters"] == {"budget_rules": False}
    assert set(deployments["backfill"]["parameter_openapi_schema"]["required"]) == {"start", "end"}
    assert deployments["budget"]["parameters"] == {"apply": False} and not deployments["budget"]["schedules"]

    queue = next(q for q in _post(server, "work_pools/adlake/queues/filter") if q["name"] == "lake-writers")
    assert queue["concurrency_limit"] == 1

    # The budget deployment runs when a daily run completes: an automation whose action runs it.
    automations = _post(server, "automations/filter")
    [trigger] = [a for a in automations if any(action.get("deployment_id") == deployments["budget"]["id"]
                                               for action in a["actions"])]
    assert trigger["trigger"]["expect"] == ["prefect.flow-run.Completed"]
    assert trigger["trigger"]["match_related"]["prefect.resource.name"] == "daily"
    print("\n" + json.dumps({n: {"queue": d["work_queue_name"], "schedules": len(d["schedules"])}
                             for n, d in sorted(deployments.items())}))


def test_a_backfill_needs_an_ordered_past_range() -> None:
    from datetime import date, timedelta

    from flows.backfill import backfill
    from pipelines.errors import AdlakeError

    with pytest.raises(AdlakeError, match="start 2026-10-02 is after end 2026-10-01"):
        backfill.fn(date(2026, 10, 2), date(2026, 10, 1))
    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(AdlakeError, match="is in the future"):
        backfill.fn(date(2026, 10, 1), tomorrow)

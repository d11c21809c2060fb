"""Crash test: the receiver process is SIGKILLed again and again while the emitter keeps delivering;
after a restart and a graceful drain the raw tables hold exactly the distinct events the emitter got
a 2xx for: zero lost, zero doubled.

AppsFlyer Push never redelivers: a crash between the fsync and the answer would leave an event in
the lake that its sender counts as failed. The test lets AppsFlyer redeliver like the others (and
lifts Adjust's attempt cap, meant for 24 hours), so every event ends acknowledged and the comparison
can be exact.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
import requests

from pipelines.lake import RAW, Lake, LakeSettings
from pipelines.webhooks.providers import TABLES
from sandbox import webhooks
from sandbox.webhooks import EmissionLog, WebhookEmitter, WebhookSecrets, sample_deliveries
from tests.conftest import REPO
from tests.webhooks.conftest import SEED, free_port, receiver_env

pytestmark = pytest.mark.slow
KILLS = 4


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve-webhooks", "--port", str(port)], cwd=REPO,
                               env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the receiver did not start: {log.read_text()[-2000:]}")


def test_repeated_sigkill_during_delivery_loses_and_doubles_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(webhooks.POLICIES, "appsflyer", webhooks.RetryPolicy())
    # Adjust's 6 retries span 24 hours; compressed into this test's backoff they would end within
    # one receiver restart, so its cap is lifted (it still retries only on 5xx and no answer).
    monkeypatch.setitem(webhooks.POLICIES, "adjust", webhooks.RetryPolicy(retry_client_errors=False))
    secrets = WebhookSecrets.from_seed(SEED)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home = tmp_path / "lake"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADLAKE_", "SOURCES__"))}
    env |= receiver_env(secrets, url, tmp_path / "journal", home) | {"ADLAKE_PROJECT_DIR": str(REPO)}
    log = tmp_path / "receiver.log"
    deliveries = sample_deliveries(SEED, 120)

    process = _start(env, port, log)
    result: list[EmissionLog] = []
    emitter = WebhookEmitter(url, secrets, seed=SEED, duplicate_rate=0.2, max_attempts=60, backoff_seconds=0.05,
                             max_backoff_seconds=0.5, timeout_seconds=5)
    sender = threading.Thread(target=lambda: result.append(emitter.send(deliveries)))
    sender.start()
    rng = random.Random(SEED)
    kills = 0
    while sender.is_alive() and kills < KILLS:
        time.sleep(rng.uniform(0.8, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1
        process = _start(env, port, log)
    sender.join(timeout=600)
    emitter.close()
    process.send_signal(signal.SIGTERM)  # graceful: seal the journal, land it, exit
    assert process.wait(timeout=120) == 0, log.read_text()[-3000:]
    assert kills == KILLS, "the emitter finished before the receiver could be killed: send more"

    sent = result[0]
    assert not sent.dropped(), f"{len(sent.dropped())} deliveries never acknowledged"
    assert any(a.status is None for a in sent.attempts), "no delivery ever hit a dead receiver"
    acknowledged = sent.acknowledged()
    expected: dict[str, set[str]] = defaultdict(set)
    for delivery in deliveries:
        if delivery.key in acknowledged:
            expected[{"standard": "events"}.get(delivery.provider, delivery.provider)].update(delivery.dedup_keys)

    lake = Lake(LakeSettings.from_env({"ADLAKE_HOME": str(home)}))
    for provider, table in TABLES.items():
        ids = lake.load_table(RAW, table).scan(selected_fields=("event_id",)).to_arrow()["event_id"].to_pylist()
        assert len(ids) == len(set(ids)), f"{provider}: {len(ids) - len(set(ids))} events doubled"
        assert set(ids) == expected[provider], f"{provider}: lost {len(expected[provider] - set(ids))}"
    assert not list((tmp_path / "journal").rglob("*.sealed")) and not list((tmp_path / "journal").rglob("*.open"))

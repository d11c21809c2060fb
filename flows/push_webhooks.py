"""The sandbox world's pushed events through a real ``adlake serve-webhooks`` process into the lake.

Used by ``adlake demo``: the receiver runs as a child process on a free loopback port with the
sandbox's signing secrets, the world's deliveries for the report days are sent the way the
providers send them (signed, retried, some twice, reordered), and SIGTERM stops it; the receiver
lands everything it journaled before it exits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from pipelines.errors import AdlakeError
from sandbox.emission import world_deliveries
from sandbox.webhooks import Delivery, EmissionLog, WebhookEmitter, WebhookSecrets, receiver_environment
from sandbox.world import World

START_SECONDS = 60.0
STOP_SECONDS = 300.0
CONNECTIONS = 4


@dataclass(frozen=True)
class PushSummary:
    deliveries: int
    by_provider: dict[str, int]
    acknowledged: int
    duplicates: int
    seconds: float


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AdlakeError(f"the webhook receiver exited with {process.returncode} at start; see {log}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    raise AdlakeError(f"the webhook receiver did not answer {url}/healthz within {START_SECONDS:g} s; see {log}")


def push_world_webhooks(world: World, home: Path, days: int) -> PushSummary:
    """Receive the world's last ``days`` days of webhooks with a real receiver and land them under ``home``."""
    deliveries = world_deliveries(world, last_days=days)
    secrets = WebhookSecrets.from_seed(world.config.seed)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | receiver_environment(secrets, url) | {
        "ADLAKE_HOME": str(home),
        "ADLAKE_WEBHOOK_PUBLIC_URL": url,
        "ADLAKE_WEBHOOK_JOURNAL_DIR": str(home / "webhooks" / "journal"),
    }
    log = home / "webhooks" / "receiver.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve-webhooks", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(url, process, log)
            logs = _send(url, secrets, world.config.seed, deliveries)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                raise AdlakeError(f"the webhook receiver did not land and stop within {STOP_SECONDS:g} s; "
                                  f"see {log}") from None
    if process.returncode != 0:
        raise AdlakeError(f"the webhook receiver exited with {process.returncode}; see {log}")
    dropped = sum(len(sent.dropped()) for sent in logs)
    if dropped:
        raise AdlakeError(f"{dropped} webhook deliveries were never acknowledged; see {log}")
    return PushSummary(len(deliveries), dict(sorted(Counter(d.provider for d in deliveries).items())),
                       sum(len(sent.acknowledged()) for sent in logs), sum(len(sent.duplicates()) for sent in logs),
                       time.monotonic() - started)


def _send(url: str, secrets: WebhookSecrets, seed: int, deliveries: list[Delivery]) -> list[EmissionLog]:
    """Send on ``CONNECTIONS`` connections at once, as providers do (each keeps its share's order)."""
    shares: list[list[Delivery]] = [[] for _ in range(CONNECTIONS)]
    for delivery in deliveries:
        shares[zlib.crc32(delivery.key.encode()) % CONNECTIONS].append(delivery)

    def send(share: list[Delivery]) -> EmissionLog:
        with WebhookEmitter(url, secrets, seed=seed) as emitter:
            return emitter.send(share)

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        return list(pool.map(send, shares))

"""``adlake bench --webhooks``: drive a real receiver on loopback with concurrent signed deliveries.

The receiver runs as ``adlake serve-webhooks`` in its own process, journaling to a scratch lake.
The client pre-signs every request (signed timestamps stay inside the tolerance for the run) and
writes raw HTTP/1.1 on keep-alive connections, so it spends as little of the shared CPU as a
client can. Reports accepted requests per second, p50/p99 latency, and events per second landed
in Iceberg, against the goal of 2,000 signed deliveries/s with p99 under 50 ms.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from pipelines.lake import RAW, Lake, LakeSettings
from pipelines.webhooks.providers import TABLES
from sandbox.webhooks import Delivery, WebhookSecrets, receiver_environment, sample_deliveries, sign_delivery

GOAL_PER_SECOND = 2_000
GOAL_P99_MS = 50.0
SEED = 7


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(secrets: WebhookSecrets, url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADLAKE_", "SOURCES__"))}
    return env | receiver_environment(secrets, url) | {"ADLAKE_HOME": str(home),
                                                        "ADLAKE_WEBHOOK_RATE_PER_SECOND": "1000000"}


def _raw_request(delivery: Delivery, secrets: WebhookSecrets, url: str, now: int) -> bytes:
    signed = sign_delivery(delivery, secrets, signing_url=url + delivery.path, timestamp=now)
    head = [f"{signed.method} {signed.path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(signed.body)}"]
    head += [f"{name}: {value}" for name, value in signed.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + signed.body


async def _client(requests_: Iterator[bytes], port: int, deadline: float, latencies: list[float],
                  statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests_:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split()[1])
            length = next((int(line.split(b":", 1)[1]) for line in lines[1:]
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _drive(requests_: list[bytes], port: int, seconds: float, connections: int
                 ) -> tuple[list[float], dict[int, int], float]:
    shared = iter(requests_)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(*(_client(shared, port, started + seconds, latencies, statuses)
                           for _ in range(connections)))
    return latencies, statuses, time.perf_counter() - started


def _landed(home: Path) -> int:
    lake = Lake(LakeSettings.from_env({"ADLAKE_HOME": str(home)}))
    names = set(lake.table_names(RAW))
    return sum(len(lake.load_table(RAW, t).scan(selected_fields=("event_id",)).to_arrow())
               for t in TABLES.values() if t in names)


def run_webhook_bench(seconds: float = 10.0, connections: int = 32, workers: int = 1) -> dict[str, Any]:
    """Load the receiver for ``seconds`` and report throughput, latency and landing rate."""
    secrets = WebhookSecrets.from_seed(SEED)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="adlake-bench-webhooks-") as scratch:
        home = Path(scratch) / "lake"
        env = _environment(secrets, url, home)
        now = int(time.time())
        # About 4,000 deliveries per provider-pass; more than a 10-second run can send at the goal rate.
        pool = sample_deliveries(SEED, max(1, int(GOAL_PER_SECOND * seconds * 1.5) // 6))
        requests_ = [_raw_request(d, secrets, url, now) for d in pool]
        log = Path(scratch) / "receiver.log"
        process = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve-webhooks", "--port", str(port),
                                    "--workers", str(workers)], env=env, stdout=log.open("wb"),
                                   stderr=subprocess.STDOUT)
        try:
            _wait_healthy(url, process, log)
            try:
                import uvloop

                uvloop.install()
            except ImportError:
                pass
            latencies, statuses, elapsed = asyncio.run(_drive(requests_, port, seconds, connections))
            accepted = statuses.get(200, 0)
            events = sum(len(d.dedup_keys) for d in pool[:accepted]) if accepted == len(latencies) else None
            load_end = time.perf_counter()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=600)
            landing_done = time.perf_counter()
        finally:
            if process.poll() is None:
                process.kill()
        landed = _landed(home)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    per_second = accepted / elapsed if elapsed else 0.0
    return {
        "seconds": round(elapsed, 2), "connections": connections, "workers": workers,
        "requests": len(latencies), "statuses": statuses, "accepted_per_second": round(per_second),
        "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
        "events_sent": events, "events_landed": landed,
        "events_landed_per_second": round(landed / (landing_done - load_end + elapsed)),
        "drain_seconds_after_load": round(landing_done - load_end, 2),
        "goal": {"per_second": GOAL_PER_SECOND, "p99_ms": GOAL_P99_MS,
                 "per_second_gap": round(per_second - GOAL_PER_SECOND), "p99_gap_ms": round(p99 - GOAL_P99_MS, 2),
                 "met": per_second >= GOAL_PER_SECOND and p99 < GOAL_P99_MS},
    }


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the receiver exited: {log.read_text()[-1000:]}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not start within 60 s")

"""A real receiver on a loopback port (uvicorn in a thread), its journal, a lander and a lake."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from pipelines.lake import RAW, Lake
from pipelines.webhooks.app import Receiver, create_app
from pipelines.webhooks.journal import Journal, JournalReader
from pipelines.webhooks.lander import Lander
from pipelines.webhooks.metrics import Metrics
from pipelines.webhooks.providers import TABLES
from pipelines.webhooks.settings import ReceiverSettings
from sandbox.webhooks import WebhookSecrets, receiver_environment

SEED = 7


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def receiver_env(secrets: WebhookSecrets, public_url: str, journal: Path, home: Path) -> dict[str, str]:
    """The environment an operator would set for these sandbox secrets."""
    return receiver_environment(secrets, public_url) | {
        "ADLAKE_HOME": str(home),
        "ADLAKE_WEBHOOK_PUBLIC_URL": public_url,
        "ADLAKE_WEBHOOK_JOURNAL_DIR": str(journal),
        "ADLAKE_WEBHOOK_BATCH_SECONDS": "0.2",
    }


@dataclass
class Running:
    """A receiver serving on ``url``, with what a test needs to inspect it."""

    url: str
    settings: ReceiverSettings
    secrets: WebhookSecrets
    receiver: Receiver
    lander: Lander
    lake: Lake
    server: uvicorn.Server
    thread: threading.Thread

    def stop_and_land(self) -> int:
        """Stop serving (the last segment is sealed on shutdown) and land everything."""
        if self.thread.is_alive():
            self.server.should_exit = True
            self.thread.join(timeout=30)
        return self.lander.land_all()

    def landed(self, provider: str) -> list[dict[str, object]]:
        if TABLES[provider] not in self.lake.table_names(RAW):
            return []
        return self.lake.load_table(RAW, TABLES[provider]).scan().to_arrow().to_pylist()


@pytest.fixture
def secrets() -> WebhookSecrets:
    return WebhookSecrets.from_seed(SEED)


@contextmanager
def serving(lake: Lake, secrets: WebhookSecrets, folder: Path) -> Iterator[Running]:
    """A real receiver (uvicorn in a thread) on a free loopback port, journaling under ``folder`` for ``lake``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = ReceiverSettings.from_env(receiver_env(secrets, url, folder / "journal", lake.settings.home))
    metrics = Metrics()
    journal = Journal(settings.journal_dir, segment_events=settings.segment_events,
                      segment_seconds=settings.segment_seconds)
    receiver = Receiver(settings, journal, metrics)
    server = uvicorn.Server(uvicorn.Config(create_app(receiver), host="127.0.0.1", port=port, access_log=False,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the receiver did not start")
        time.sleep(0.01)
    lander = Lander(lake, JournalReader(settings.journal_dir), metrics=metrics)
    try:
        yield Running(url, settings, secrets, receiver, lander, lake, server, thread)
    finally:
        if thread.is_alive():
            server.should_exit = True
            thread.join(timeout=30)


@pytest.fixture
def receiver(lake: Lake, secrets: WebhookSecrets, tmp_path: Path) -> Iterator[Running]:
    with serving(lake, secrets, tmp_path) as running:
        yield running

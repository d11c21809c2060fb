"""Serving the receiver: uvicorn for HTTP, a lander thread for the journal, a final drain on stop.

One ``adlake serve-webhooks`` owns one journal directory. With ``--workers 1`` the receiver and the
lander share a process (and ``/metrics`` shows both); with more, uvicorn's workers receive (each
with its own journal subdirectory and metrics) and this process lands.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field

from starlette.applications import Starlette

from pipelines.errors import ConfigError, first_line
from pipelines.lake import Lake
from pipelines.webhooks.app import Receiver, create_app
from pipelines.webhooks.journal import Journal, JournalReader
from pipelines.webhooks.lander import Lander
from pipelines.webhooks.metrics import Metrics
from pipelines.webhooks.settings import SECRET_VARIABLES, ReceiverSettings

log = logging.getLogger("adlake.webhooks")


def build_receiver(settings: ReceiverSettings, metrics: Metrics | None = None) -> Receiver:
    """A receiver journaling under the settings' journal directory."""
    journal = Journal(settings.journal_dir, segment_events=settings.segment_events,
                      segment_seconds=settings.segment_seconds)
    return Receiver(settings, journal, metrics)


def app_factory() -> Starlette:
    """The ASGI app of one uvicorn worker (``--workers`` above 1), configured from the environment."""
    return create_app(build_receiver(ReceiverSettings.from_env()))


@dataclass
class LanderThread:
    """Runs :meth:`Lander.land_all` every ``interval`` seconds until stopped; errors are logged, retried."""

    lander: Lander
    interval: float
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-lander", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.lander.land_all()
            except Exception as exc:  # the journal keeps everything: the next round tries again
                log.error("webhooks: landing failed, retrying in %.1f s: %s: %s", self.interval,
                          type(exc).__name__, first_line(exc))

    def stop(self) -> None:
        """Stop the loop and land what is left (the receiver has sealed its last segment by now)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.lander.land_all()


def check_secrets(settings: ReceiverSettings) -> None:
    """Refuse to start with no secret at all; name the providers that will reject everything."""
    missing = [SECRET_VARIABLES[p] for p, values in settings.secrets.items() if not values]
    if len(missing) == len(SECRET_VARIABLES):
        raise ConfigError("no webhook secret is set: set at least one of " + ", ".join(SECRET_VARIABLES.values()))
    if missing:
        log.warning("webhooks: not set, so those endpoints reject every request: %s", ", ".join(missing))


def serve(host: str, port: int, workers: int = 1) -> None:
    """Receive until interrupted, then drain the journal into the lake."""
    import uvicorn

    settings = ReceiverSettings.from_env()
    check_secrets(settings)
    metrics = Metrics()
    lander = Lander(Lake(), JournalReader(settings.journal_dir), dedup_horizon_days=settings.dedup_horizon_days,
                    metrics=metrics)
    lander.land_all()  # whatever an earlier run (or crash) left behind
    landing = LanderThread(lander, interval=max(0.1, settings.segment_seconds / 2))
    landing.start()
    # uvicorn's own access log prints raw paths and queries, which can carry a provider's token.
    options = {"host": host, "port": port, "access_log": False, "log_level": "warning", "server_header": False}
    # uvicorn re-raises the stop signal once it has shut down; without a handler of ours, SIGTERM
    # would then end the process before the journal's last segment is landed below.
    signal.signal(signal.SIGTERM, lambda *_: log.info("webhooks: stopping, landing what is journaled"))
    try:
        if workers == 1:
            uvicorn.run(create_app(build_receiver(settings, metrics)), **options)
        else:
            uvicorn.run("pipelines.webhooks.service:app_factory", factory=True, workers=workers, **options)
    finally:
        landing.stop()

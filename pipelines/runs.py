"""Per-run accounting: every source counts what it received, loaded, quarantined and dropped as
duplicate, per resource, and the runner writes one row per resource to ``raw._ingest_runs``.

Sources do not get the ledger as an argument (dlt would try to resolve it from configuration):
they ask :func:`tally` for the current run's counters, which the runner opens and closes.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pipelines.quarantine import Tally

TABLE = "_ingest_runs"


@dataclass
class ResourceRun:
    """What one resource saw in one run."""

    tally: Tally = field(default_factory=Tally)
    window_start: date | None = None
    window_end: date | None = None
    new_fields: set[str] = field(default_factory=set)

    def widen(self, since: date, until: date) -> None:
        """Record that the run requested ``since``..``until`` (several chunks widen the window)."""
        self.window_start = since if self.window_start is None else min(self.window_start, since)
        self.window_end = until if self.window_end is None else max(self.window_end, until)


@dataclass
class RunLedger:
    """The counters of one source run."""

    source: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    resources: dict[str, ResourceRun] = field(default_factory=dict)

    def resource(self, name: str) -> ResourceRun:
        return self.resources.setdefault(name, ResourceRun())

    def rows(self, status: str, error: str | None, loaded: dict[str, int]) -> list[dict[str, Any]]:
        """One ``raw._ingest_runs`` row per resource. ``loaded`` is what dlt normalized per resource."""
        finished = datetime.now(UTC)
        return [{
            "run_id": self.run_id,
            "source": self.source,
            "resource": name,
            "window_start": run.window_start,
            "window_end": run.window_end,
            "received": run.tally.received,
            "loaded": loaded.get(name, 0) if status == "succeeded" else 0,
            "quarantined": run.tally.quarantined if status == "succeeded" else 0,
            "duplicates": run.tally.duplicates,
            "new_fields": ",".join(sorted(run.new_fields)) or None,
            "started_at": self.started_at,
            "finished_at": finished,
            "status": status,
            "error": error,
        } for name, run in sorted(self.resources.items())]


_lock = threading.Lock()
_current: dict[str, RunLedger] = {}


def open_run(source: str) -> RunLedger:
    """Start counting a source's run (called by the runner)."""
    ledger = RunLedger(source)
    with _lock:
        _current[source] = ledger
    return ledger


def close_run(source: str) -> None:
    with _lock:
        _current.pop(source, None)


def resource_run(source: str, resource: str) -> ResourceRun:
    """The current run's counters for a resource (a throw-away one outside a runner, e.g. in a notebook)."""
    with _lock:
        ledger = _current.get(source)
    return ledger.resource(resource) if ledger is not None else ResourceRun()


def tally(source: str, resource: str) -> Tally:
    """Shortcut: the current run's tally for a resource."""
    return resource_run(source, resource).tally


def note_new_fields(source: str, resource: str, record: dict[str, Any], expected: frozenset[str]) -> None:
    """Report fields the platform sent that the source does not know (they are loaded all the same)."""
    unknown = set(record) - expected
    if unknown:
        resource_run(source, resource).new_fields.update(unknown)

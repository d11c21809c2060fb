"""Reading a report window chunk by chunk, so that one unreadable answer costs one quarantine row
and a re-read, never the run.

Every windowed source (Meta, Google, LinkedIn, TikTok, Microsoft, AppsFlyer) asks for its days in
chunks. When a chunk's answer cannot be read even after retries (truncated, not JSON, a broken
archive), :class:`WindowRead` keeps the body as a quarantine row, lets the other chunks load, and
moves the resume point back before that chunk so the next run reads it again: nothing is lost
silently and the run still lands everything that was readable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from pipelines import runs
from pipelines.errors import MalformedResponseError
from pipelines.quarantine import Tally, quarantine_response
from pipelines.windows import chunks, remembered

log = logging.getLogger("adlake.ingest")
T = TypeVar("T")


@dataclass
class WindowRead:
    """One resource's window for one account: its chunks, its tally and what could not be read.

    Args:
        source: the source name (``google_ads``).
        table: the raw table the rows land in (the run ledger counts per table).
        stream: the resource name quarantine rows carry.
        unit: who the window belongs to, for logs and quarantine rows (``customer 123``).
        span: the inclusive days to read.
        days: days per chunk.
    """

    source: str
    table: str
    stream: str
    unit: str
    span: tuple[date, date]
    days: int
    tally: Tally = field(default_factory=Tally)
    unread_from: date | None = None
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def chunks(self) -> Iterator[tuple[date, date]]:
        """The chunks to request, each widening the run ledger's window as it starts."""
        run = runs.resource_run(self.source, self.table)
        for since, until in chunks(*self.span, self.days):
            run.widen(since, until)
            yield since, until

    def guard(self, since: date, until: date, pages: Iterable[T]) -> Iterator[T]:
        """Yield a chunk's pages; an unreadable answer ends the chunk as one quarantine row."""
        try:
            yield from pages
        except MalformedResponseError as exc:
            self.unread_from = since if self.unread_from is None else min(self.unread_from, since)
            self.tally.received += 1
            self.tally.quarantined += 1
            self.rejected.append(quarantine_response(exc, self.stream, datetime.now(UTC),
                                                     f"{self.unit} {since}..{until}"))
            log.warning("%s: %s %s %s..%s: %s; quarantined, read again on the next run", self.source, self.unit,
                        self.stream, since, until, exc.detail)

    def take_rejected(self) -> list[dict[str, Any]]:
        """Quarantine rows gathered since the last call (for the source's quarantine transformer)."""
        rows, self.rejected = self.rejected, []
        return rows

    def finish(self, today: date, previous: str | None) -> str:
        """Count the window in the run ledger and return the last day to remember.

        When a chunk could not be read, the day before it: the next run's re-read starts no later
        than that chunk, so its days are read again even if they fall outside the usual re-read.
        """
        log.info("%s: %s %s %s..%s: %s", self.source, self.unit, self.stream, self.span[0], self.span[1], self.tally)
        runs.resource_run(self.source, self.table).tally.add(self.tally)
        last = remembered(self.span[1], today, previous)
        if self.unread_from is not None:
            return min(last, (self.unread_from - timedelta(days=1)).isoformat())
        return last


def guard_list(source: str, stream: str, unit: str, pages: Iterable[T], tally: Tally,
               rejected: list[dict[str, Any]]) -> Iterator[T]:
    """Pages of an entity list (campaigns, ads...): an unreadable answer ends the list as one
    quarantine row; the entities already read load, and staging keeps the others' last version."""
    try:
        yield from pages
    except MalformedResponseError as exc:
        tally.received += 1
        tally.quarantined += 1
        rejected.append(quarantine_response(exc, stream, datetime.now(UTC), unit))
        log.warning("%s: %s %s: %s; quarantined, the list is read again on the next run", source, unit, stream,
                    exc.detail)

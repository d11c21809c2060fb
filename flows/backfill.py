"""The ``backfill`` Prefect flow: the daily flow over an explicit date range (a new source's history,
a restatement window), without the budget rules (decisions belong to the latest data only)."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.daily import DailyReport, daily
from pipelines.errors import AdlakeError


@flow(name="backfill")
def backfill(start: date, end: date, sources: list[str] | None = None) -> DailyReport:
    """Load ``sources`` (default: all) for the report days ``start``..``end``, then build and publish."""
    if start > end:
        raise AdlakeError(f"backfill: start {start} is after end {end}")
    if end > date.today():
        raise AdlakeError(f"backfill: end {end} is in the future")
    return daily(sources=sources, start=start, end=end, budget_rules=False)

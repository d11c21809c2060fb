"""Run one dlt source into the lake's ``raw`` namespace and report what it loaded."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines import runs
from pipelines.errors import AdlakeError, SourceError, first_line, root_adlake_error
from pipelines.lake import RAW, Lake

log = logging.getLogger("adlake.ingest")


def _lazy(module: str, function: str) -> Callable[[], Callable[..., Any]]:
    def load() -> Callable[..., Any]:
        return getattr(importlib.import_module(module), function)

    return load


# Source name -> factory of its dlt source function (imported lazily: each pulls its own deps).
SOURCES: dict[str, Callable[[], Callable[..., Any]]] = {
    "meta_ads": _lazy("pipelines.meta_ads", "meta_ads"),
    "google_ads": _lazy("pipelines.google_ads", "google_ads"),
    "microsoft_ads": _lazy("pipelines.microsoft_ads", "microsoft_ads"),
    "appsflyer": _lazy("pipelines.appsflyer", "appsflyer"),
    "tiktok_ads": _lazy("pipelines.tiktok_ads", "tiktok_ads"),
    "linkedin_ads": _lazy("pipelines.linkedin_ads", "linkedin_ads"),
    "crm": _lazy("pipelines.crm", "crm"),
    "file_drops": _lazy("pipelines.file_drops", "file_drops"),
}


@dataclass
class LoadSummary:
    """What one source run loaded: rows per raw table and the dlt load ids."""

    source: str
    rows: dict[str, int] = field(default_factory=dict)
    load_ids: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def pipeline_for(source: str, lake: Lake) -> Any:
    """The dlt pipeline of a source: state and packages under the lake home, data in ``raw``."""
    import dlt

    return dlt.pipeline(
        pipeline_name=f"adlake_{source}",
        destination=lake.dlt_destination(),
        dataset_name=RAW,
        pipelines_dir=str(lake.settings.dlt_pipelines_dir),
    )


def run_source(source: str, lake: Lake | None = None, **overrides: Any) -> LoadSummary:
    """Extract a source and load it into Iceberg.

    ``overrides`` are passed to the source function (e.g. ``start_date``); everything else comes
    from dlt configuration (``SOURCES__<SOURCE>__<KEY>``). Raises :class:`AdlakeError` with one
    clear line on failure; nothing of a failed extraction is committed to the catalog.
    """
    if source not in SOURCES:
        raise AdlakeError(f"unknown source {source!r}; known sources: {', '.join(sorted(SOURCES))}")
    lake = lake or Lake()
    pipeline = pipeline_for(source, lake)
    summary = LoadSummary(source)
    ledger = runs.open_run(source)
    try:
        if pipeline.has_pending_data:
            _finish_pending(source, pipeline, lake, summary)
        function = SOURCES[source]()
        data = function(**_accepted(function, overrides))
        _collect(pipeline.run(data), pipeline, summary)
    except Exception as exc:
        error = _one_line(source, exc)
        _record(lake, ledger.rows("failed", str(error), {}))
        raise error from exc
    finally:
        runs.close_run(source)
    _record(lake, ledger.rows("succeeded", None, summary.rows))
    return summary


def _finish_pending(source: str, pipeline: Any, lake: Lake, summary: LoadSummary) -> None:
    """Load the package an interrupted run left behind, exactly once.

    dlt's run() would load the leftover package and ignore the new data, so it is finished first.
    A job whose Iceberg commit landed just before the process died is appended again on resume;
    those copies (same dlt row id) are removed before the new extraction starts.
    """
    log.warning("%s: finishing a load package left pending by an earlier run", source)
    for torn in lake.discard_torn_metadata(RAW):
        log.warning("%s: removed %s, half-written when the earlier run died", source, torn.name)
    _collect(pipeline.run(), pipeline, summary)
    if summary.load_ids:
        for table, copies in lake.drop_repeated_rows(RAW, summary.load_ids).items():
            log.warning("%s: removed %d rows of raw.%s appended twice by the interrupted load", source, copies, table)
    summary.rows.clear()  # the accounting below is about this run's extraction only


def _accepted(function: Callable[..., Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides this source takes: a file-drop source has no report dates, for instance."""
    parameters = inspect.signature(function).parameters
    return {k: v for k, v in overrides.items() if v is not None and k in parameters}


def _one_line(source: str, exc: Exception) -> AdlakeError:
    """The error to show: ours when there is one inside dlt's wrapping, else a line naming the step."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    cause = root_adlake_error(exc)
    if cause is not None:
        return cause
    if isinstance(exc, PipelineStepFailed):
        return SourceError(source, f"{exc.step} step failed: {first_line(exc.exception)}",
                           transient=exc.step == "load")
    return SourceError(source, f"{type(exc).__name__}: {first_line(exc)}")


def _record(lake: Lake, rows: list[dict[str, Any]]) -> None:
    """Append the run's accounting rows to ``raw._ingest_runs`` (one commit)."""
    if not rows:
        return
    try:
        _append_ledger(lake, rows)
    except Exception as exc:  # the ledger must never hide the run's own outcome
        log.warning("could not write raw.%s: %s", runs.TABLE, first_line(exc))


def _append_ledger(lake: Lake, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    schema = pa.schema([
        ("run_id", pa.string()), ("source", pa.string()), ("resource", pa.string()),
        ("window_start", pa.date32()), ("window_end", pa.date32()), ("received", pa.int64()),
        ("loaded", pa.int64()), ("quarantined", pa.int64()), ("duplicates", pa.int64()),
        ("new_fields", pa.string()), ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")), ("status", pa.string()), ("error", pa.string()),
    ])
    lake.append(RAW, runs.TABLE, pa.Table.from_pylist(rows, schema=schema))


def _collect(info: Any, pipeline: Any, summary: LoadSummary) -> None:
    if info is None:
        return
    summary.load_ids.extend(info.loads_ids)
    normalize = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    for table, count in (normalize.row_counts if normalize else {}).items():
        if not table.startswith("_dlt"):
            summary.rows[table] = summary.rows.get(table, 0) + count

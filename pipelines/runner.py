"""Run one dlt source into the lake's ``raw`` namespace and report what it loaded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.errors import AdlakeError, SourceError, root_adlake_error
from pipelines.lake import RAW, Lake

log = logging.getLogger("adlake.ingest")


def _meta_ads() -> Callable[..., Any]:
    from pipelines.meta_ads import meta_ads

    return meta_ads


# Source name -> factory of its dlt source function (imported lazily: each pulls its own deps).
SOURCES: dict[str, Callable[[], Callable[..., Any]]] = {"meta_ads": _meta_ads}


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
    from dlt.pipeline.exceptions import PipelineStepFailed

    pipeline = pipeline_for(source, lake)
    summary = LoadSummary(source)
    try:
        if pipeline.has_pending_data:
            # dlt's run() would load the leftover package and ignore the new data: finish it first.
            log.warning("%s: finishing a load package left pending by an earlier run", source)
            _collect(pipeline.run(), pipeline, summary)
        data = SOURCES[source]()(**{k: v for k, v in overrides.items() if v is not None})
        _collect(pipeline.run(data), pipeline, summary)
    except PipelineStepFailed as exc:
        cause = root_adlake_error(exc)
        if cause is not None:
            raise cause from exc
        raise SourceError(source, f"{exc.step} step failed: {str(exc.exception).splitlines()[0]}",
                          transient=exc.step == "load") from exc
    return summary


def _collect(info: Any, pipeline: Any, summary: LoadSummary) -> None:
    if info is None:
        return
    summary.load_ids.extend(info.loads_ids)
    normalize = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    for table, count in (normalize.row_counts if normalize else {}).items():
        if not table.startswith("_dlt"):
            summary.rows[table] = summary.rows.get(table, 0) + count

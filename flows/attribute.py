"""``adlake attribute``: every attribution model over any journeys file, with the library the dbt models use."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from attribution.engine import MODELS, attribute, summarize
from attribution.paths import SKIP_REASONS, JourneysError, Paths

JOURNEY_COLUMNS = ("journey_id", "touch_ts", "channel", "conversion_ts", "conversion_value")
"""The input columns (issue F item 4); other columns are ignored."""


def parse_models(value: str) -> list[str]:
    """``"markov,shapley"`` -> the model names, checked against :data:`attribution.engine.MODELS`.

    Raises:
        JourneysError: An unknown model name or an empty list.
    """
    models = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise JourneysError(f"--models: unknown model {unknown[0]!r} (known: {', '.join(MODELS)})" if unknown
                            else "--models: no model given")
    return models


def read_journeys(path: Path) -> pa.Table:
    """The journeys columns of a Parquet file.

    Raises:
        JourneysError: The file is missing, not Parquet, or lacks a column.
    """
    if not path.is_file():
        raise JourneysError(f"journeys: no such file {str(path)!r}")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise JourneysError(f"journeys: {str(path)!r} is not a readable Parquet file ({str(exc).splitlines()[0]})"
                            ) from exc
    missing = [c for c in JOURNEY_COLUMNS if c not in schema.names]
    if missing:
        raise JourneysError(f"journeys: missing column {', '.join(map(repr, missing))} in {str(path)!r} "
                            f"(columns: {', '.join(schema.names)})")
    return pq.read_table(path, columns=list(JOURNEY_COLUMNS))


def run_attribute(journeys: Path, out: Path, models: Sequence[str] = MODELS, *, lookback_days: float | None = 30.0,
                  half_life_days: float = 7.0, echo: Callable[[str], None] = print,
                  stage: Callable[[str], Any] | None = None) -> pa.Table:
    """Read ``journeys``, attribute with ``models``, write the summary (model x channel) to ``out``.

    Args:
        journeys: Parquet file with :data:`JOURNEY_COLUMNS`.
        out: Parquet file for the summary (model, channel, conversions, conversion_value).
        models: Model names.
        lookback_days: Window before each conversion (before the last touch when not converted); None: all.
        half_life_days: ``time_decay`` half-life.
        echo: Receives the printed lines.
        stage: Optional context-manager factory called with each stage's name (the benchmark's probe).

    Returns:
        The summary table.
    """
    def timed(name: str, fn: Callable[[], Any]) -> tuple[Any, float]:
        started = time.perf_counter()
        if stage is None:
            result = fn()
        else:
            with stage(name):
                result = fn()
        return result, time.perf_counter() - started

    table, seconds = timed("read", lambda: read_journeys(journeys))
    echo(f"read {table.num_rows:,} touches in {seconds:.2f} s")
    paths, seconds = timed("paths", lambda t=table: Paths.from_arrow(t, lookback_days=lookback_days))
    del table
    echo(f"built {paths.n_journeys:,} paths ({int(paths.converted.sum()):,} converted, {len(paths.channels)} "
         f"channels) in {seconds:.2f} s")
    for reason, count in paths.skipped.items():
        echo(f"  skipped {count:,}: {SKIP_REASONS[reason]}")
    summaries = []
    for model in models:
        credits, seconds = timed(model, lambda m=model: attribute(paths, [m], half_life_days=half_life_days))
        summary = summarize(credits)
        summaries.append(summary)
        echo(f"{model}: {seconds:.2f} s, {_one_line(summary)}")
    result = pa.concat_tables(summaries)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(result, out)
    echo(f"wrote {result.num_rows} rows (model x channel) to {out}")
    return result


def _one_line(summary: pa.Table) -> str:
    total = pc.sum(summary["conversions"]).as_py() or 0.0
    value = pc.sum(summary["conversion_value"]).as_py() or 0.0
    if total <= 0:
        return "no conversions"
    order = pc.sort_indices(summary, sort_keys=[("conversions", "descending")]).to_pylist()[:3]
    top = ", ".join(f"{summary['channel'][i].as_py()} {summary['conversions'][i].as_py() / total:.1%}"
                    for i in order)
    return f"{total:,.0f} conversions, value {value:,.2f}; top: {top}"

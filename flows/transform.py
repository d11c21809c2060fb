"""dbt and publication: build the models on the lake, then publish the marts to Iceberg."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.duck import connect_file
from pipelines.errors import AdlakeError, first_line, root_adlake_error
from pipelines.lake import MARTS, Lake

log = logging.getLogger("adlake.transform")


def project_dir() -> Path:
    """The dbt project: ``ADLAKE_PROJECT_DIR``, else the working directory or a parent of it,
    else the checkout this package was installed from."""
    if configured := os.environ.get("ADLAKE_PROJECT_DIR"):
        return Path(configured).resolve()
    for folder in (Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[1]):
        if (folder / "dbt_project.yml").is_file() and (folder / "pipelines").is_dir():
            return folder
    raise AdlakeError("cannot find the adlake dbt project: run from the checkout or set ADLAKE_PROJECT_DIR")


@dataclass
class DbtResult:
    """Outcome of one dbt command: counts per status and the failing nodes."""

    command: str
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def run_dbt(args: Sequence[str], lake: Lake | None = None) -> DbtResult:
    """Run a dbt command in-process against the lake; raise AdlakeError when it fails."""
    from dbt.cli.main import dbtRunner

    lake = lake or Lake()
    folder = project_dir()
    # One DuckDB file for dbt and the CLI alike: the profile reads this variable.
    os.environ["ADLAKE_DUCKDB_PATH"] = str(lake.settings.duckdb_path)
    lake.settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    argv = [*args, "--project-dir", str(folder), "--profiles-dir", str(folder)]
    _release_dbt_duckdb()
    try:
        outcome = dbtRunner().invoke(argv)
    finally:
        _release_dbt_duckdb()
    result = DbtResult(command=" ".join(args))
    for node in getattr(outcome.result, "results", None) or []:
        status = str(node.status)
        result.counts[status] = result.counts.get(status, 0) + 1
        if status in ("error", "fail"):
            result.failures.append(f"{node.node.name} ({status})")
    if outcome.exception is not None:
        cause = root_adlake_error(outcome.exception)
        if cause is not None:
            raise cause
        raise AdlakeError(f"dbt {result.command} could not run: {first_line(outcome.exception)}")
    if not outcome.success:
        shown = ", ".join(result.failures[:5]) + (" ..." if len(result.failures) > 5 else "")
        raise AdlakeError(f"dbt {result.command} failed: {shown or 'see the dbt output above'}")
    return result


def _release_dbt_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the whole process.

    Otherwise a second dbt invocation in the same process (a Prefect worker, a test) reuses the
    first one's connection and never re-runs the lake plugin, so its raw views keep pointing at
    the snapshots of the first run; and the file stays locked against other processes.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if env is not None:
        env.close()


def published_models(folder: Path | None = None) -> list[str]:
    """Names of the models marked ``meta.publish`` in the last compiled manifest."""
    manifest = (folder or project_dir()) / "target" / "manifest.json"
    if not manifest.is_file():
        raise AdlakeError(f"no dbt manifest at {manifest}: run `dbt build` (or `adlake run`) first")
    nodes: dict[str, Any] = json.loads(manifest.read_text())["nodes"]
    return sorted(
        node["name"]
        for node in nodes.values()
        if node["resource_type"] == "model" and (node["config"].get("meta") or {}).get("publish")
    )


def publish_marts(lake: Lake | None = None, models: Sequence[str] | None = None) -> dict[str, int]:
    """Copy each published mart from the DuckDB file to the Iceberg namespace ``marts``.

    Each table is replaced in one atomic Iceberg commit. Returns rows per published table.
    """
    import duckdb

    lake = lake or Lake()
    names = list(models) if models is not None else published_models()
    con = connect_file(lake.settings.duckdb_path)
    published: dict[str, int] = {}
    try:
        con.execute("set TimeZone = 'UTC'")  # Iceberg timestamptz values are UTC
        for name in names:
            data = con.execute(f'select * from "{MARTS}"."{name}"').to_arrow_table()
            lake.publish(MARTS, name, data)
            published[name] = data.num_rows
            log.info("published %s.%s: %d rows", MARTS, name, data.num_rows)
    except duckdb.CatalogException as exc:
        raise AdlakeError(f"cannot publish marts: {first_line(exc)} (run `dbt build` first)") from exc
    finally:
        con.close()
    return published

"""DuckDB over the lake: offline extensions and zero-copy views on committed Iceberg snapshots.

DuckDB's iceberg extension is installed from the ``duckdb-extension-*`` wheels (avro first,
then iceberg) so nothing is downloaded at run time. Views are created over the metadata file
that the catalog records as current, never over "the newest metadata file on disk", which can
belong to a commit that lost the race and was never published.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import AdlakeError
from pipelines.lake import RAW, Lake

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# Order matters: the iceberg extension loads avro while it initialises.
_EXTENSIONS = ("avro", "iceberg")
_REMOTE_EXTENSIONS = ("httpfs",)


def _wheel_extension_path(name: str, version: str) -> Path | None:
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError:
        return None
    folder = Path(module.__file__).parent / "extensions" / version
    found = sorted(folder.glob(f"{name}.duckdb_extension"))
    return found[0] if found else None


def install_extensions(con: duckdb.DuckDBPyConnection, *, remote: bool = False) -> None:
    """Install (from the wheels, once per extension directory) and load the lake's extensions."""
    version = con.execute("pragma version").fetchone()[0]
    installed = {
        name
        for name, is_installed in con.execute(
            "select extension_name, installed from duckdb_extensions()"
        ).fetchall()
        if is_installed
    }
    names = _EXTENSIONS + (_REMOTE_EXTENSIONS if remote else ())
    for name in names:
        if name not in installed:
            path = _wheel_extension_path(name, version)
            if path is None:
                raise AdlakeError(
                    f"DuckDB extension {name} {version} is missing: "
                    f"pip install duckdb-extension-{name}=={version[1:]}"
                )
            con.execute(f"install '{path}'")
    for name in names:
        con.execute(f"load {name}")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def create_lake_views(con: duckdb.DuckDBPyConnection, lake: Lake, namespace: str = RAW) -> list[str]:
    """Create or replace one view per Iceberg table of ``namespace`` over its current snapshot.

    Returns the names of the views. Tables with no snapshot yet get an empty view with the
    table's columns, because DuckDB cannot scan a table that has no data files.
    """
    install_extensions(con, remote=not lake.settings.is_local)
    con.execute(f"create schema if not exists {_quote(namespace)}")
    names = []
    for name in lake.table_names(namespace):
        table = lake.load_table(namespace, name)
        target = f"{_quote(namespace)}.{_quote(name)}"
        if table.current_snapshot() is None:
            con.execute(f"create or replace view {target} as {_empty_select(con, table.schema().as_arrow())}")
        else:
            location = table.metadata_location.replace("'", "''")
            con.execute(f"create or replace view {target} as select * from iceberg_scan('{location}')")
        names.append(name)
    return names


def _empty_select(con: duckdb.DuckDBPyConnection, schema: pa.Schema) -> str:
    """A zero-row select with the given columns, typed as DuckDB would read them."""
    con.register("_adlake_empty", schema.empty_table())
    try:
        described = con.execute("describe _adlake_empty").fetchall()
    finally:
        con.unregister("_adlake_empty")
    columns = ", ".join(f"cast(null as {col_type}) as {_quote(col)}" for col, col_type, *_ in described)
    return f"select {columns} where false"


def connect_file(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the lake's DuckDB file read-only (dbt has released it: see ``flows.transform.run_dbt``)."""
    import duckdb

    if not path.is_file():
        raise AdlakeError(f"no DuckDB file at {path}: run `dbt build` (or `adlake run`) first")
    return duckdb.connect(str(path), read_only=True)

"""Reading what a test's `dbt build` made: the lake's DuckDB file, read-only, times in UTC."""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.duck import install_extensions
from pipelines.lake import Lake


def query(lake: Lake, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` over the lake's DuckDB file (opened read-only, as a BI tool would)."""
    con = duckdb.connect(str(lake.settings.duckdb_path), read_only=True)
    try:
        install_extensions(con)
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()

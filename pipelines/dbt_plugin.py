"""dbt-duckdb plugin: expose the lake's raw Iceberg tables to dbt without copying them, and give
dbt's connection the pseudonymization function.

On every dbt invocation, ``configure_connection`` (re)creates one DuckDB view per table of the
Iceberg namespace ``raw`` over the metadata file the catalog records as current, so one
``dbt build`` reads one consistent, committed snapshot of each table; and it registers
``adlake_hmac_sha256()``, keyed from ``ADLAKE_PSEUDONYM_KEY`` outside any SQL text.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines import pseudonyms
from pipelines.duck import create_lake_views
from pipelines.lake import RAW, Lake


class Plugin(BasePlugin):
    """Profile entry: ``plugins: [{module: pipelines.dbt_plugin, alias: lake}]``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        # Profile `settings` are merged into every plugin's config; the lake reads its own settings.
        self.lake = Lake()

    def configure_connection(self, conn: Any) -> None:
        create_lake_views(conn, self.lake, RAW)
        pseudonyms.register(conn)

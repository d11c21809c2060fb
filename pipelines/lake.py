"""The lake layer: the one place that knows the Iceberg catalog and the warehouse.

Every other module (dlt pipelines, the dbt plugin, the flows, the tests) asks this module
for the catalog, the warehouse location and the dlt destination, so the embedded default
(SQLite catalog + local warehouse under ``ADLAKE_HOME``) and production (PostgreSQL catalog
+ ``s3://`` warehouse) differ only in environment variables.

Settings (environment variables):
    ADLAKE_HOME: folder for the embedded lake (default ``./lake``).
    ADLAKE_CATALOG_URI: SQLAlchemy URI of the SQL catalog
        (default ``sqlite:///$ADLAKE_HOME/catalog.db``; production ``postgresql+psycopg2://...``).
    ADLAKE_WAREHOUSE: warehouse root (default ``file://$ADLAKE_HOME/warehouse``; production ``s3://bucket/path``).
    ADLAKE_CATALOG_NAME: catalog name shared by dlt, dbt and the CLI (default ``adlake``).
    ADLAKE_DUCKDB_PATH: the DuckDB file BI tools open (default ``$ADLAKE_HOME/adlake.duckdb``).
    ADLAKE_S3_ENDPOINT, ADLAKE_S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: object store access.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from pipelines.errors import ConfigError, first_line

if TYPE_CHECKING:
    import pyarrow as pa
    from dlt.destinations import filesystem
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

RAW = "raw"
MARTS = "marts"
NAMESPACES = (RAW, MARTS)


@dataclass(frozen=True)
class LakeSettings:
    """Where the lake lives. Build with :meth:`from_env`."""

    home: Path
    catalog_name: str
    catalog_uri: str
    warehouse: str
    duckdb_path: Path
    s3_endpoint: str | None = None
    s3_region: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LakeSettings:
        """Read the lake settings from the environment (or from ``env`` when given)."""
        env = dict(os.environ if env is None else env)
        home = Path(env.get("ADLAKE_HOME") or "lake").expanduser().resolve()
        warehouse = env.get("ADLAKE_WAREHOUSE") or (home / "warehouse").as_uri()
        if not warehouse.startswith(("file://", "s3://", "s3a://")):
            # A bare path is accepted and made absolute: relative table locations are not portable.
            warehouse = Path(warehouse).expanduser().resolve().as_uri()
        return cls(
            home=home,
            catalog_name=env.get("ADLAKE_CATALOG_NAME") or "adlake",
            catalog_uri=env.get("ADLAKE_CATALOG_URI") or f"sqlite:///{home / 'catalog.db'}",
            warehouse=warehouse.rstrip("/"),
            duckdb_path=Path(env.get("ADLAKE_DUCKDB_PATH") or home / "adlake.duckdb").expanduser().resolve(),
            s3_endpoint=env.get("ADLAKE_S3_ENDPOINT") or None,
            s3_region=env.get("ADLAKE_S3_REGION") or env.get("AWS_REGION") or None,
        )

    @property
    def is_local(self) -> bool:
        """True when the warehouse is on local disk."""
        return self.warehouse.startswith("file://")

    @property
    def dlt_pipelines_dir(self) -> Path:
        """dlt's working folder (state, load packages) kept inside the lake home, not in ``~/.dlt``."""
        return self.home / "dlt"

    def catalog_properties(self) -> dict[str, str]:
        """pyiceberg catalog properties for the configured SQL catalog."""
        props = {"type": "sql", "uri": self.catalog_uri, "warehouse": self.warehouse}
        if not self.is_local:
            props.update(self._s3_properties())
        return props

    def _s3_properties(self) -> dict[str, str]:
        props: dict[str, str] = {}
        if self.s3_endpoint:
            props["s3.endpoint"] = self.s3_endpoint
        if self.s3_region:
            props["s3.region"] = self.s3_region
        if key := os.environ.get("AWS_ACCESS_KEY_ID"):
            props["s3.access-key-id"] = key
        if secret := os.environ.get("AWS_SECRET_ACCESS_KEY"):
            props["s3.secret-access-key"] = secret
        return props


class Lake:
    """Access to the catalog, its tables and the dlt destination for one set of settings."""

    def __init__(self, settings: LakeSettings | None = None) -> None:
        self.settings = settings or LakeSettings.from_env()

    @cached_property
    def catalog(self) -> Catalog:
        """The Iceberg catalog, with the ``raw`` and ``marts`` namespaces created if missing."""
        from pyiceberg.catalog.sql import SqlCatalog

        if self.settings.is_local:
            self.settings.home.mkdir(parents=True, exist_ok=True)
            Path(unquote(urlsplit(self.settings.warehouse).path)).mkdir(parents=True, exist_ok=True)
        try:
            catalog = SqlCatalog(self.settings.catalog_name, **self.settings.catalog_properties())
            for namespace in NAMESPACES:
                catalog.create_namespace_if_not_exists(namespace)
        except Exception as exc:  # SQLAlchemy raises many driver-specific types
            raise ConfigError(
                f"cannot open the Iceberg catalog ADLAKE_CATALOG_URI={_redact(self.settings.catalog_uri)}: "
                f"{type(exc).__name__}: {first_line(exc)}"
            ) from exc
        return catalog

    def table_names(self, namespace: str) -> list[str]:
        """Names of the tables in a namespace, sorted."""
        return sorted(name for _, name in self.catalog.list_tables(namespace))

    def load_table(self, namespace: str, name: str) -> Table:
        """Load one table through the catalog (never by guessing the newest metadata file)."""
        return self.catalog.load_table(f"{namespace}.{name}")

    def metadata_locations(self, namespace: str) -> dict[str, str]:
        """Current committed metadata file of every table in a namespace, as the catalog records it."""
        return {name: self.load_table(namespace, name).metadata_location for name in self.table_names(namespace)}

    def snapshot_counts(self, namespace: str) -> dict[str, int]:
        """Number of snapshots per table: a cheap way to see whether anything was committed."""
        return {
            name: len(self.load_table(namespace, name).metadata.snapshots) for name in self.table_names(namespace)
        }

    def publish(self, namespace: str, name: str, data: pa.Table) -> None:
        """Replace a table's content with ``data`` in one atomic commit (creating or evolving it).

        A failure leaves the previous snapshot in place: readers see either the old or the new data.
        """
        table = self._load_or_create(namespace, name, data.schema)
        with warnings.catch_warnings():
            # overwrite() on an empty table warns that its delete matched nothing: expected here.
            warnings.filterwarnings("ignore", message="Delete operation did not match any records")
            with table.transaction() as tx:
                with tx.update_schema(allow_incompatible_changes=True) as update:
                    update.union_by_name(data.schema)
                tx.overwrite(data)

    def append(self, namespace: str, name: str, data: pa.Table, *, partition_by: str | None = None,
               snapshot_properties: dict[str, str] | None = None) -> None:
        """Append rows in one commit, creating the table (or adding new columns) as needed.

        ``partition_by`` names a column a new table is partitioned by (identity); ``snapshot_properties``
        are recorded in the commit's summary (the webhook lander marks which journal segment it holds).
        """
        table = self._load_or_create(namespace, name, data.schema, partition_by)
        with table.transaction() as tx:
            with tx.update_schema() as update:
                update.union_by_name(data.schema)
            tx.append(data, snapshot_properties=snapshot_properties or {})

    def read(self, namespace: str, name: str, columns: tuple[str, ...] = ("*",)) -> pa.Table | None:
        """A table's current snapshot as Arrow (``columns`` only), or None when the table does not exist."""
        from pyiceberg.exceptions import NoSuchTableError

        try:
            table = self.load_table(namespace, name)
        except NoSuchTableError:
            return None
        return table.scan(selected_fields=columns).to_arrow()

    def snapshot_property_values(self, namespace: str, name: str, key: str) -> set[str]:
        """Every value a snapshot summary property took in a table's history (empty for a new table)."""
        from pyiceberg.exceptions import NoSuchTableError

        try:
            table = self.load_table(namespace, name)
        except NoSuchTableError:
            return set()
        return {value for snapshot in table.metadata.snapshots
                if (value := snapshot.summary.additional_properties.get(key)) is not None}

    def drop_repeated_rows(self, namespace: str, load_ids: list[str]) -> dict[str, int]:
        """Keep one copy of every dlt row (``_dlt_id``) of the given loads, in every table of a namespace.

        A load killed between an Iceberg commit and dlt's note that the job is done appends that
        job's file again when it resumes; the copies share their ``_dlt_id``. Each repaired table
        is rewritten for those loads in one atomic commit. Returns the copies removed per table.
        """
        from pyiceberg.expressions import In

        removed: dict[str, int] = {}
        for name in self.table_names(namespace):
            table = self.load_table(namespace, name)
            columns = {field.name for field in table.schema().fields}
            if not {"_dlt_id", "_dlt_load_id"} <= columns:
                continue
            selected = In("_dlt_load_id", load_ids)
            rows = table.scan(row_filter=selected).to_arrow()
            unique = _first_per_key(rows, "_dlt_id")
            if unique.num_rows == rows.num_rows:
                continue
            with table.transaction() as tx:
                tx.overwrite(unique, overwrite_filter=selected)
            removed[name] = rows.num_rows - unique.num_rows
        return removed

    def discard_torn_metadata(self, namespace: str) -> list[Path]:
        """Delete unreadable metadata files of tables the catalog does not know (local warehouse only).

        A process killed while creating a table can leave a half-written ``*.metadata.json`` and no
        catalog row. dlt, finding the table missing but its metadata folder present, registers the
        folder's newest file, and a torn one then fails every later load. The file was never
        committed, so removing it loses nothing.
        """
        if not self.settings.is_local:
            return []  # object stores write whole objects or nothing
        folder = Path(unquote(urlsplit(self.settings.warehouse).path)) / namespace
        known = set(self.table_names(namespace))
        removed: list[Path] = []
        for metadata in sorted(folder.glob("*/metadata/*.metadata.json")):
            if metadata.parent.parent.name in known:
                continue
            try:
                json.loads(metadata.read_bytes())
            except ValueError:
                metadata.unlink()
                removed.append(metadata)
        return removed

    def _load_or_create(self, namespace: str, name: str, schema: pa.Schema, partition_by: str | None = None) -> Table:
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self.catalog.load_table(f"{namespace}.{name}")
        except NoSuchTableError:
            table = self.catalog.create_table(f"{namespace}.{name}", schema=schema)
        if partition_by is not None:
            with table.update_spec() as spec:
                spec.add_identity(partition_by)
        return table

    def _adopt_raw_folder(self) -> None:
        """Mark a ``raw`` folder that other writers created as dlt's dataset.

        The webhook lander (pyiceberg) can create ``raw`` before any dlt load ran; dlt then sees no
        marker file, tries to create the folder, and fails because it exists. The marker is written
        as dlt writes it for a new dataset.
        """
        from dlt.destinations.impl.filesystem.filesystem import CURRENT_VERSION, INIT_FILE_NAME

        if not self.settings.is_local:
            return  # object stores have no folders to collide with
        dataset = Path(unquote(urlsplit(self.settings.warehouse).path)) / RAW
        marker = dataset / INIT_FILE_NAME
        if dataset.is_dir() and not marker.exists():
            marker.write_text(json.dumps({"initial_version": CURRENT_VERSION, "current_version": CURRENT_VERSION}),
                              encoding="utf-8")

    def dlt_destination(self) -> filesystem:
        """The dlt filesystem destination writing Iceberg tables registered in this catalog."""
        import dlt

        _ = self.catalog  # create the catalog's tables and namespaces once, before dlt's load workers race for them
        self._adopt_raw_folder()
        if self.settings.catalog_uri.startswith("sqlite"):
            # SQLite serializes writers: a few workers keep the catalog's lock waits short (one worker is
            # much slower, as dlt's loader then polls once a second between jobs).
            dlt.config["load.workers"] = 4
        # dlt resolves its catalog from the `iceberg_catalog` config section; setting it here keeps
        # one catalog name and one URI for dlt, dbt and the CLI alike.
        dlt.config["iceberg_catalog.iceberg_catalog_name"] = self.settings.catalog_name
        dlt.config["iceberg_catalog.iceberg_catalog_type"] = "sql"
        dlt.config["iceberg_catalog.iceberg_catalog_config"] = self.settings.catalog_properties()
        kwargs: dict[str, Any] = {"bucket_url": self.settings.warehouse}
        if not self.settings.is_local and self.settings.s3_endpoint:
            kwargs["credentials"] = {
                "endpoint_url": self.settings.s3_endpoint,
                "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID"),
                "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
                "region_name": self.settings.s3_region,
            }
        return dlt.destinations.filesystem(**kwargs)


def _first_per_key(rows: pa.Table, key: str) -> pa.Table:
    """The first row of every distinct ``key`` value (Arrow, no Python loop over rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if rows.num_rows == 0:
        return rows
    numbered = rows.append_column("__row", pa.array(range(rows.num_rows), pa.int64()))
    first = numbered.group_by(key, use_threads=False).aggregate([("__row", "min")])["__row_min"]
    return rows.take(pc.sort_indices(first))


def _redact(uri: str) -> str:
    """Hide a password in a database URI before it is printed."""
    if "@" not in uri or "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"

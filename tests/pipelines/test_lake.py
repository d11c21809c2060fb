"""The lake layer: settings, the catalog, atomic publication, views over committed snapshots."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipelines.duck import create_lake_views
from pipelines.errors import ConfigError
from pipelines.lake import MARTS, RAW, Lake, LakeSettings
from pipelines.runner import pipeline_for


def test_embedded_default_lives_under_adlake_home(tmp_path: Path) -> None:
    settings = LakeSettings.from_env({"ADLAKE_HOME": str(tmp_path / "home")})
    assert settings.catalog_uri == f"sqlite:///{tmp_path / 'home' / 'catalog.db'}"
    assert settings.warehouse == (tmp_path / "home" / "warehouse").as_uri()
    assert settings.duckdb_path == tmp_path / "home" / "adlake.duckdb"
    assert settings.catalog_name == "adlake"
    assert settings.is_local


def test_production_settings_pass_through(tmp_path: Path) -> None:
    settings = LakeSettings.from_env({
        "ADLAKE_HOME": str(tmp_path),
        "ADLAKE_CATALOG_URI": "postgresql+psycopg2://iceberg:secret@127.0.0.1:5432/iceberg",
        "ADLAKE_WAREHOUSE": "s3://lake/warehouse/",
        "ADLAKE_S3_ENDPOINT": "http://127.0.0.1:9000",
    })
    props = settings.catalog_properties()
    assert props["uri"].startswith("postgresql+psycopg2://")
    assert props["warehouse"] == "s3://lake/warehouse"
    assert props["s3.endpoint"] == "http://127.0.0.1:9000"
    assert not settings.is_local


def test_unreachable_catalog_is_one_clear_error(tmp_path: Path) -> None:
    lake = Lake(LakeSettings.from_env({
        "ADLAKE_HOME": str(tmp_path),
        "ADLAKE_CATALOG_URI": "sqlite:////nonexistent/folder/catalog.db",
    }))
    with pytest.raises(ConfigError, match=r"cannot open the Iceberg catalog ADLAKE_CATALOG_URI=sqlite:////nonexistent"):
        _ = lake.catalog


def test_catalog_has_the_namespaces(lake: Lake) -> None:
    assert {ns[0] for ns in lake.catalog.list_namespaces()} >= {RAW, MARTS}


def test_publish_replaces_content_in_one_commit(lake: Lake) -> None:
    first = pa.table({"k": ["a", "b"], "v": pa.array([1, 2], pa.int64())})
    second = pa.table({"k": ["c"], "v": pa.array([3], pa.int64()), "extra": ["new column"]})
    lake.publish(MARTS, "t", first)
    lake.publish(MARTS, "t", second)
    table = lake.load_table(MARTS, "t")
    assert table.scan().to_arrow().to_pylist() == [{"k": "c", "v": 3, "extra": "new column"}]
    lake.publish(MARTS, "t", second.slice(0, 0))
    assert lake.load_table(MARTS, "t").scan().to_arrow().num_rows == 0  # no phantom all-NULL row


def test_views_follow_the_catalog_not_the_newest_metadata_file(lake: Lake) -> None:
    table = lake.catalog.create_table(f"{RAW}.events", schema=pa.schema([("id", pa.int64())]))
    table.append(pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
    committed = lake.load_table(RAW, "events").metadata_location
    # A writer that lost the commit race leaves a higher-numbered metadata file behind; here it
    # describes an empty table. Readers that guess "the newest file" would see no rows.
    folder = Path(committed.removeprefix("file://")).parent
    first = sorted(folder.glob("00000-*.metadata.json"))[0]
    shutil.copy(first, folder / "00099-00000000-0000-0000-0000-000000000000.metadata.json")

    con = duckdb.connect()
    assert create_lake_views(con, lake, RAW) == ["events"]
    assert con.execute("select count(*) from raw.events").fetchone()[0] == 3


def test_tables_without_snapshots_get_empty_typed_views(lake: Lake) -> None:
    lake.catalog.create_table(f"{RAW}.empty_one", schema=pa.schema([("id", pa.int64()), ("name", pa.string())]))
    con = duckdb.connect()
    create_lake_views(con, lake, RAW)
    assert con.execute("select count(*) from raw.empty_one").fetchone()[0] == 0
    assert [c[1] for c in con.execute("describe raw.empty_one").fetchall()] == ["BIGINT", "VARCHAR"]


def test_dlt_loads_into_a_raw_folder_another_writer_created_first(lake: Lake) -> None:
    # The webhook lander can land before any pull source ever ran: raw/ then exists without dlt's marker.
    lake.append(RAW, "webhooks__sendgrid_events", pa.table({"event_id": ["a"]}))
    pipeline = pipeline_for("first_after_webhooks", lake)
    pipeline.run([{"id": 1}, {"id": 2}], table_name="pulled_rows", table_format="iceberg")
    assert lake.load_table(RAW, "pulled_rows").scan().to_arrow().num_rows == 2
    assert lake.load_table(RAW, "webhooks__sendgrid_events").scan().to_arrow().num_rows == 1

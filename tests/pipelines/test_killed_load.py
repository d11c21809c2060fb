"""Killing the ingest process in the middle of a load, then running again, lands every record once.

The worst moment to die is right after an Iceberg commit and before dlt marks that job done: a
plain resume appends the job's file a second time. The test kills a real ``run_source`` process
with SIGKILL at exactly that moment (after its Nth table commit), runs again, and compares the
lake with one where the same two runs went through cleanly: same rows, same counts, no dlt row id
twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.lake import RAW, Lake, LakeSettings
from pipelines.runner import run_source
from sandbox.catalog import source_settings
from sandbox.server import SandboxServer
from tests.conftest import REPO

pytestmark = pytest.mark.slow

# Runs the source in a child process that kills itself right after its Nth Iceberg commit.
CHILD = """
import os, signal, sys
import dlt.common.libs.pyiceberg as iceberg

write = iceberg.write_iceberg_table
commits = 0

def write_then_die(*args, **kwargs):
    global commits
    write(*args, **kwargs)
    commits += 1
    if commits >= int(os.environ["KILL_AFTER_COMMITS"]):
        os.kill(os.getpid(), signal.SIGKILL)

iceberg.write_iceberg_table = write_then_die
from pipelines.runner import run_source
run_source(sys.argv[1], start_date=sys.argv[2], end_date=sys.argv[3])
"""


def _rows(lake: Lake, table: str) -> list[dict[str, object]]:
    return lake.load_table(RAW, table).scan().to_arrow().to_pylist()


def _content(lake: Lake, table: str) -> Counter[str]:
    """A table's rows without bookkeeping columns, with their multiplicity."""
    return Counter(repr(sorted((k, v) for k, v in row.items() if not k.startswith("_"))) for row in _rows(lake, table))


@pytest.mark.parametrize("kill_after", [1, 3])
def test_a_load_killed_after_a_commit_lands_once_on_the_next_run(
    kill_after: int, sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = source_settings(sandbox.base_url, sandbox.world)
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    end = sandbox.clock.as_of
    window = {"start_date": end - timedelta(days=6), "end_date": end}

    clean = Lake(LakeSettings.from_env({"ADLAKE_HOME": str(tmp_path / "clean")}))
    for _ in range(2):
        run_source("google_ads", clean, **window)

    home = tmp_path / "killed"
    env = {**os.environ, **settings, "ADLAKE_HOME": str(home), "KILL_AFTER_COMMITS": str(kill_after)}
    child = subprocess.run([sys.executable, "-c", CHILD, "google_ads", str(window["start_date"]),
                            str(window["end_date"])], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=300, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    killed = Lake(LakeSettings.from_env({"ADLAKE_HOME": str(home)}))
    committed = [t for t in killed.table_names(RAW) if not t.startswith("_")]
    assert committed, "the child died before any commit"

    run_source("google_ads", killed, **window)

    tables = [t for t in clean.table_names(RAW) if not t.startswith("_")]
    assert tables == [t for t in killed.table_names(RAW) if not t.startswith("_")]
    for table in tables:
        assert _content(killed, table) == _content(clean, table), table
        ids = Counter(row["_dlt_id"] for row in _rows(killed, table))
        assert ids.most_common(1)[0][1] == 1, f"{table}: a dlt row id appears twice"


def test_a_table_half_created_when_the_process_died_is_created_again(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = source_settings(sandbox.base_url, sandbox.world)
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    end = sandbox.clock.as_of
    window = {"start_date": end - timedelta(days=3), "end_date": end}
    home = tmp_path / "killed"
    env = {**os.environ, **settings, "ADLAKE_HOME": str(home), "KILL_AFTER_COMMITS": "1"}
    child = subprocess.run([sys.executable, "-c", CHILD, "google_ads", str(window["start_date"]),
                            str(window["end_date"])], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=300, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    killed = Lake(LakeSettings.from_env({"ADLAKE_HOME": str(home)}))
    missing = sorted({"google_ads__ads", "google_ads__ad_performance_daily", "google_ads__customers"}
                     - set(killed.table_names(RAW)))
    assert missing, "every table was committed before the kill: nothing to half-create"
    # What a SIGKILL during create_table leaves: the first metadata file, empty, and no catalog row.
    torn = home / "warehouse" / RAW / missing[0] / "metadata" / "00000-0a1b2c3d.metadata.json"
    torn.parent.mkdir(parents=True)
    torn.write_bytes(b"")

    run_source("google_ads", killed, **window)
    assert not torn.exists()
    assert len(_rows(killed, missing[0])) > 0

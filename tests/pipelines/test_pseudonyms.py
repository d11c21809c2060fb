"""The pseudonymize() macro against Python's hmac: dbt renders the macro and runs it in its own DuckDB
connection (the HMAC function comes from the project plugin, `pipelines.dbt_plugin`), Python computes HMAC-SHA256
over the documented normalization; both must agree on every value, non-ASCII included."""

from __future__ import annotations

import hashlib
import hmac
import os

import duckdb
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from flows.transform import _release_dbt_duckdb, project_dir
from pipelines.errors import ConfigError
from pipelines.lake import Lake
from pipelines.pseudonyms import BLOCKED_IDENTIFIER_VALUES, KEY_ENV, KINDS, hmac_hex, normalize, pseudonym

pytestmark = pytest.mark.slow
KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0-test-key-not-a-secret"

# (kind, value as received, value as normalized: None when it cannot be pseudonymized)
CASES = [
    ("email", "  Ana.Nowak@Example.ORG ", "ana.nowak@example.org"),
    ("email", "ÉLODIE.Dupré@exämple.org", "élodie.dupré@exämple.org"),
    ("email", "józef@ŻÓŁW.pl\t", "józef@żółw.pl"),
    ("email", "   ", None),
    ("phone", "0048 600-300-400", "+48600300400"),
    ("phone", "+48 (600) 300 400", "+48600300400"),
    ("phone", "+1 650.555.1212", "+16505551212"),
    ("phone", "600300400", None),
    ("phone", "+48 600 300 400 ext. 12", None),
    ("device_id", " 38400000-8CF0-11BD-B23E-10B96E40000D ", "38400000-8cf0-11bd-b23e-10b96e40000d"),
    ("device_id", "00000000-0000-0000-0000-000000000000", None),
    ("id", " cu_7 ", "cu_7"),
    ("id", "Ünïcode-ID-é", "Ünïcode-ID-é"),
    ("id", "", None),
    # junk guard: what trackers put in an id slot when they know nobody (ids and device ids only)
    ("id", " Anonymous ", None),
    ("id", "UNDEFINED", None),
    ("id", "0", None),
    ("id", "000-000", None),
    ("id", "-1", None),
    ("id", "null", None),
    ("id", "N/A", None),
    ("id", "None", None),
    ("id", "void", None),
    ("id", "abc123", None),
    ("id", "-", None),
    ("id", "-12", "-12"),
    ("id", "anonymous-7", "anonymous-7"),
    ("device_id", "NULL", None),
    ("device_id", "-1", None),
    ("email", "null", "null"),
]


def _show(sql: str, lake: Lake) -> list[tuple]:
    """Rows of `dbt show --inline` run in-process against the lake (as flows.transform.run_dbt runs dbt)."""
    from dbt.cli.main import dbtRunner

    folder = project_dir()
    os.environ["ADLAKE_DUCKDB_PATH"] = str(lake.settings.duckdb_path)
    lake.settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    _release_dbt_duckdb()
    try:
        outcome = dbtRunner().invoke(["show", "--inline", sql, "--limit", "1000", "--project-dir", str(folder),
                                      "--profiles-dir", str(folder)])
    finally:
        _release_dbt_duckdb()
    if not outcome.success:
        raise RuntimeError(str(outcome.exception or outcome.result))
    return [tuple(row) for row in outcome.result.results[0].agate_table.rows]


def _compiled(sql: str, lake: Lake) -> str:
    """SQL compiled by dbt (`dbt compile --inline`), without running it."""
    from dbt.cli.main import dbtRunner

    folder = project_dir()
    os.environ["ADLAKE_DUCKDB_PATH"] = str(lake.settings.duckdb_path)
    lake.settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    _release_dbt_duckdb()
    try:
        outcome = dbtRunner().invoke(["compile", "--inline", sql, "--project-dir", str(folder),
                                      "--profiles-dir", str(folder)])
    finally:
        _release_dbt_duckdb()
    if not outcome.success:
        raise RuntimeError(str(outcome.exception or outcome.result))
    return outcome.result.results[0].node.compiled_code


def _cases_sql() -> str:
    values = ", ".join(f"({n}, '{kind}', '{value}')" for n, (kind, value, _) in enumerate(CASES))
    kinds = ("email", "phone", "device_id", "id")
    selects = " ".join(f"when '{kind}' then {{{{ pseudonymize('value', '{kind}') }}}}" for kind in kinds)
    return f"select n, case kind {selects} end as pseudonym from (values {values}) as t (n, kind, value) order by n"


def test_rfc_4231_vector() -> None:
    assert hmac_hex(b"Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


@pytest.mark.parametrize(("kind", "value", "normalized"), CASES)
def test_normalization_is_the_documented_one_and_idempotent(kind: str, value: str, normalized: str | None) -> None:
    assert normalize(kind, value) == normalized
    if normalized is not None:
        assert normalize(kind, normalized) == normalized


def test_the_macro_gives_python_hmac_of_the_normalized_value(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    rows = dict(_show(_cases_sql(), lake))
    assert len(rows) == len(CASES)
    for n, (kind, value, normalized) in enumerate(CASES):
        expected = None if normalized is None else hmac.new(KEY.encode(), normalized.encode(),
                                                            hashlib.sha256).hexdigest()
        assert rows[n] == expected, (kind, value)
        assert pseudonym(kind, value, KEY.encode()) == expected


def test_another_key_gives_other_pseudonyms_and_the_same_key_the_same(lake: Lake,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    first = dict(_show(_cases_sql(), lake))
    monkeypatch.setenv(KEY_ENV, KEY + "-rotated")
    rotated = dict(_show(_cases_sql(), lake))
    monkeypatch.setenv(KEY_ENV, KEY)
    again = dict(_show(_cases_sql(), lake))
    present = [n for n, value in first.items() if value is not None]
    assert len(present) == sum(1 for _, _, normalized in CASES if normalized is not None)
    assert all(first[n] != rotated[n] for n in present)
    assert again == first


@pytest.mark.parametrize("key", [None, "too-short"])
def test_a_missing_or_short_key_is_a_compile_error_naming_the_variable(lake: Lake, monkeypatch: pytest.MonkeyPatch,
                                                                       key: str | None) -> None:
    if key is None:
        monkeypatch.delenv(KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(KEY_ENV, key)
    with pytest.raises(RuntimeError, match=KEY_ENV):
        _show(_cases_sql(), lake)
    with pytest.raises(ConfigError, match=KEY_ENV):
        pseudonym("email", "ana@example.org")


def test_the_blocked_values_are_the_dbt_var() -> None:
    project = yaml.safe_load((project_dir() / "dbt_project.yml").read_text())
    assert tuple(project["vars"]["blocked_identifier_values"]) == BLOCKED_IDENTIFIER_VALUES


# Values near the junk guard's edges (blocked values in any case, padded; zeros and dashes) and any text.
_JUNK_LIKE = st.builds(
    lambda value, upper, left, right: left + (value.upper() if upper else value) + right,
    st.sampled_from([*BLOCKED_IDENTIFIER_VALUES, "0", "00", "-", "0-0", "-0", "1", "-10", "nul", "anonymous1", ""]),
    st.booleans(), st.sampled_from(["", " ", "\t", "\n ", "\r", "\u00a0"]), st.sampled_from(["", " ", "\t\r\n", "x"]))
_ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=24)


def test_sql_and_python_normalize_every_value_alike(lake: Lake) -> None:
    """Property: for any text, `normalize_identifier` in SQL (as dbt compiles it, run in DuckDB) gives what
    `pipelines.pseudonyms.normalize` gives, for every kind: junk guard, trimming, case, E.164."""
    compiled = _compiled("select " + ", ".join(
        f"{{{{ normalize_identifier('v', '{kind}') }}}} as {kind}" for kind in KINDS)
        + " from (select cast($v as varchar) as v)", lake)
    con = duckdb.connect()

    @given(st.one_of(_JUNK_LIKE, _ANY_TEXT, st.from_regex(r"\s*(00|\+)?[0-9 ().-]{0,18}\s*", fullmatch=True)))
    def agree(value: str) -> None:
        row = con.execute(compiled, {"v": value}).fetchone()
        assert row == tuple(normalize(kind, value) for kind in KINDS), repr(value)

    try:
        agree()
    finally:
        con.close()

"""Webhook staging and the pseudonymization boundary, in the session's pushed lake (tests/shared_lakes.py): the
sandbox world's pushed events were sent by the emitter (retries, duplicates, reordering) to a real receiver and
landed by the real lander.

Expected values come from the deliveries the sandbox built (their bodies and dedup keys) and Python's
hmac; the SQL under test is only read back."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.transform import project_dir, publish_marts, run_dbt
from pipelines.errors import AdlakeError
from pipelines.lake import Lake
from pipelines.pseudonyms import KEY_ENV, normalize
from sandbox.emission import JUNK_USER_IDS
from sandbox.webhooks import Delivery
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.lakequery import query as _query
from tests.shared_lakes import PushedLake

pytestmark = pytest.mark.slow
KEY = TEST_PSEUDONYM_KEY  # the shared lake was built with it
OTHER_KEY = "adlake-test-pseudonym-key-rotated-11223344556677889900aabb"
MODELS = {
    "sendgrid": "stg_webhooks__sendgrid_events", "twilio": "stg_webhooks__twilio_status_callbacks",
    "meta": "stg_webhooks__meta_changes", "appsflyer": "stg_webhooks__appsflyer_events",
    "adjust": "stg_webhooks__adjust_callbacks", "standard": "stg_webhooks__first_party_events",
}


def _hmac(key: str, kind: str, value: str | None) -> str | None:
    normalized = normalize(kind, value)
    return None if normalized is None else hmac.new(key.encode(), normalized.encode(), hashlib.sha256).hexdigest()


class Sent:
    """What the sandbox sent, read from its deliveries: events per provider and the clear identifiers."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.keys: dict[str, set[str]] = defaultdict(set)
        self.sendgrid: dict[str, dict[str, Any]] = {}
        self.twilio: dict[str, set[str]] = defaultdict(set)
        self.first_party: dict[str, dict[str, Any]] = {}
        self.adjust: dict[str, dict[str, str]] = {}
        self.appsflyer: list[dict[str, Any]] = []
        # (staging model, record id, identifier type, kind, clear value)
        self.identifiers: set[tuple[str, str, str, str, str]] = set()
        for delivery in deliveries:
            self.keys[delivery.provider].update(delivery.dedup_keys)
            getattr(self, f"_{delivery.provider}")(delivery)

    def _add(self, provider: str, record: str, type_: str, kind: str, value: str | None) -> None:
        if value:
            self.identifiers.add((MODELS[provider], record, type_, kind, value))

    def _sendgrid(self, delivery: Delivery) -> None:
        for event in json.loads(delivery.body):
            self.sendgrid[event["sg_event_id"]] = event
            self._add("sendgrid", event["sg_event_id"], "email", "email", event["email"])

    def _twilio(self, delivery: Delivery) -> None:
        fields = dict(parse_qsl(delivery.body.decode()))
        self.twilio[fields["MessageSid"]].add(fields["MessageStatus"])
        self._add("twilio", delivery.dedup_key, "phone", "phone", fields["To"])
        self.phones = getattr(self, "phones", set()) | {fields["To"], fields["From"]}

    def _meta(self, delivery: Delivery) -> None:
        pass  # lead ads changes carry ids only

    def _appsflyer(self, delivery: Delivery) -> None:
        event = json.loads(delivery.body)
        self.appsflyer.append(event)
        self._add("appsflyer", delivery.dedup_key, "appsflyer_id", "id", event["appsflyer_id"])
        self._add("appsflyer", delivery.dedup_key, "customer_user_id", "id", event.get("customer_user_id"))

    def _adjust(self, delivery: Delivery) -> None:
        fields = dict(parse_qsl(urlsplit(delivery.path).query))
        self.adjust[delivery.dedup_key] = fields
        self._add("adjust", delivery.dedup_key, "adjust_adid", "id", fields["adid"])
        self._add("adjust", delivery.dedup_key, "gaid", "device_id", fields.get("gps_adid"))
        self._add("adjust", delivery.dedup_key, "idfa", "device_id", fields.get("idfa"))

    def _standard(self, delivery: Delivery) -> None:
        event = json.loads(delivery.body)
        self.first_party[delivery.dedup_key] = event
        ids = event.get("identifiers", {})
        for field, type_, kind in [("anonymous_id", "anonymous_id", "id"), ("user_id", "customer_user_id", "id"),
                                   ("email", "email", "email"), ("fbp", "fbp", "id"), ("fbc", "fbc", "id")]:
            self._add("standard", delivery.dedup_key, type_, kind, ids.get(field))

    def clear_values(self) -> set[str]:
        """Every personal value sent, as sent and normalized."""
        values = {value for *_, value in self.identifiers} | getattr(self, "phones", set())
        values |= {normalize(kind, value) or value for *_, kind, value in self.identifiers}
        # Placeholders trackers send when nobody is logged in ("anonymous") are no one's data.
        return {v for v in values if len(v) >= 6} - set(JUNK_USER_IDS)


@pytest.fixture(scope="module")
def landed(pushed_lake: PushedLake) -> Sent:
    """What the sandbox sent to the session's pushed lake (its last days of pushed events, sent with retries
    and duplicates, landed, and built with the ad platforms' last days, so the marts hold rows)."""
    return Sent(pushed_lake.deliveries)


def test_staging_holds_each_event_once_as_the_sandbox_sent_it(landed: Sent, pushed_lake: PushedLake) -> None:
    lake = pushed_lake.lake
    for provider, model in MODELS.items():
        key = "message_id" if provider == "standard" else "event_id"
        rows = _query(lake, f"select {key} from staging.{model}")
        assert sorted(r[0] for r in rows) == sorted(landed.keys[provider]), model
    assert len(landed.keys["twilio"]) > 100 and len(landed.keys["adjust"]) > 100

    sendgrid = {r[0]: r[1:] for r in _query(lake, "select event_id, email, event_type, message_id, occurred_at, "
                                                  "categories from staging.stg_webhooks__sendgrid_events")}
    for event_id, event in landed.sendgrid.items():
        email, event_type, message_id, occurred_at, categories = sendgrid[event_id]
        assert (email, event_type, message_id) == (event["email"], event["event"], event["sg_message_id"])
        assert int(occurred_at.timestamp()) == event["timestamp"]
        assert categories == [event["category"]]

    statuses: dict[str, set[str]] = defaultdict(set)
    for sid, status, rank in _query(lake, "select message_sid, message_status, status_rank "
                                          "from staging.stg_webhooks__twilio_status_callbacks"):
        statuses[sid].add(status)
        assert rank == {"queued": 1, "sent": 3, "delivered": 4}[status]
    assert statuses == landed.twilio
    assert all(s == {"queued", "sent", "delivered"} for s in statuses.values())

    sql = ("select message_id, event_id, event_source, event_name, cast(conversion_value as varchar), currency, "
           "consent_ad_user_data from staging.stg_webhooks__first_party_events")
    first_party = {r[0]: r[1:] for r in _query(lake, sql)}
    for message_id, event in landed.first_party.items():
        value = f"{event['value']:.6f}" if "value" in event else None
        assert first_party[message_id] == (event["event_id"], event["source"], event["event_name"], value,
                                           event.get("currency"), event["consent"]["ad_user_data"])
    assert {m.split(":")[0] for m in first_party} == {"web", "server"}

    adjust = {r[0]: r[1:] for r in _query(lake, "select event_id, adid, gps_adid, activity_kind, network_name "
                                                "from staging.stg_webhooks__adjust_callbacks")}
    for event_id, fields in landed.adjust.items():
        assert adjust[event_id] == (fields["adid"], fields.get("gps_adid"), fields["activity_kind"],
                                    fields["tracker_name"].split("::")[0])

    revenue = sorted(str(r[0]) for r in _query(lake, "select cast(revenue as varchar) "
                                                     "from staging.stg_webhooks__appsflyer_events"))
    assert revenue == sorted(f"{float(e['event_revenue']):.6f}" for e in landed.appsflyer)


def test_identifiers_are_keyed_hmacs_of_the_normalized_values(landed: Sent, pushed_lake: PushedLake) -> None:
    lake = pushed_lake.lake
    rows = _query(lake, "select source_model, record_id, identifier_type, identifier_pseudonym "
                        "from intermediate.int_identifiers__pseudonymized where source_model like 'stg_webhooks%'")
    expected = {(model, record, type_, _hmac(KEY, kind, value)) for model, record, type_, kind, value
                in landed.identifiers}
    expected = {row for row in expected if row[3] is not None}
    assert set(rows) == expected
    assert len(rows) == len(expected) > 500


def test_no_clear_personal_data_past_staging_nor_in_marts_files(landed: Sent, pushed_lake: PushedLake) -> None:
    lake = pushed_lake.lake
    clear = sorted(landed.clear_values())
    assert len(clear) > 500
    con = duckdb.connect(str(lake.settings.duckdb_path), read_only=True)
    try:
        con.execute("create temp table clear_values as select distinct lower(unnest(?)) as value", [clear])
        relations = con.execute("select table_schema, table_name from information_schema.tables "
                                "where table_schema in ('intermediate', 'marts')").fetchall()
        assert ("intermediate", "int_identifiers__pseudonymized") in relations
        for schema, table in relations:
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [schema, table]).fetchall()]
            # Every distinct text of the relation once (all columns, as text, lowercased), then one join: far
            # fewer comparisons than column by column over every row; a hit is then traced to its columns.
            texts = " union ".join(f'select lower(cast("{c}" as varchar)) as text from "{schema}"."{table}"'
                                   for c in columns)
            hits = con.execute(f"""
                select count(*) from (select distinct text from ({texts}) where length(text) >= 6) as t
                join clear_values as c on contains(t.text, c.value)""").fetchone()[0]
            if hits:
                leaking = [c for c in columns if con.execute(
                    f'select count(*) from "{schema}"."{table}" as t join clear_values as c '
                    f'on contains(lower(cast(t."{c}" as varchar)), c.value)').fetchone()[0]]
                raise AssertionError(f"{schema}.{table} holds clear personal data in {leaking}")
    finally:
        con.close()

    publish_marts(lake)
    root = Path(lake.settings.warehouse.removeprefix("file://")) / "marts"
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    needles = [v.encode() for v in clear] + [v.lower().encode() for v in clear]
    for path in files:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            text = json.dumps(table.to_pylist(), default=str).lower()
            assert not [v for v in clear if v.lower() in text], path
        data = path.read_bytes()
        assert not [n for n in needles if n in data], path


def test_the_key_changes_every_pseudonym_and_stays_out_of_every_file(landed: Sent, pushed_lake: PushedLake,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    lake = pushed_lake.lake
    pushed_lake.activate(monkeypatch)
    sql = "select observation_sk, identifier_pseudonym from intermediate.int_identifiers__pseudonymized"
    first = dict(_query(lake, sql))
    monkeypatch.setenv(KEY_ENV, OTHER_KEY)
    run_dbt(["build", "--select", "int_identifiers__pseudonymized"], lake)
    rotated = dict(_query(lake, sql))
    monkeypatch.setenv(KEY_ENV, KEY)
    run_dbt(["build", "--select", "int_identifiers__pseudonymized"], lake)
    again = dict(_query(lake, sql))

    assert rotated.keys() == first.keys() and len(first) > 500
    assert all(rotated[k] != first[k] for k in first)
    assert again == first

    project = project_dir()
    places = [project / "target", project / "logs", lake.settings.home]
    for place in places:
        for path in (p for p in place.rglob("*") if p.is_file()):
            data = path.read_bytes()
            assert KEY.encode() not in data and OTHER_KEY.encode() not in data, path


def test_the_guard_fails_the_build_when_clear_data_gets_past_staging(landed: Sent, pushed_lake: PushedLake,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    # A clear value is written into a copy of the shared lake's DuckDB file, never into the shared lake.
    pushed_lake.activate(monkeypatch)
    copy = tmp_path / "adlake.duckdb"
    shutil.copyfile(pushed_lake.lake.settings.duckdb_path, copy)
    monkeypatch.setenv("ADLAKE_DUCKDB_PATH", str(copy))
    lake = Lake()
    assert lake.settings.duckdb_path == copy
    email = next(iter(landed.sendgrid.values()))["email"]
    con = duckdb.connect(str(lake.settings.duckdb_path))
    try:
        con.execute("update intermediate.int_identifiers__pseudonymized set identifier_pseudonym = ? "
                    "where observation_sk = (select min(observation_sk) "
                    "from intermediate.int_identifiers__pseudonymized)", [email.upper()])
    finally:
        con.close()
    with pytest.raises(AdlakeError) as failure:
        run_dbt(["run", "--select", "stg_webhooks__sendgrid_events"], lake)
    assert email.upper() not in str(failure.value) and email not in str(failure.value)

"""Action records and the audit table ``raw._budget_actions`` (append-only, written through the lake layer).

An action's id is a hash of the rule, the entity and the evidence day: the same decision made twice
(the flow run twice after one build) has the same id, so it is applied once. Each status an action
reaches is appended once (proposed, then applied or failed or skipped, and undone after ``adlake budget
undo``), so the table is the history of every decision and ``undo`` holds what an applied change replaced.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from pipelines.lake import RAW, Lake

if TYPE_CHECKING:
    import pyarrow as pa

TABLE = "_budget_actions"
STATUSES = ("proposed", "applied", "failed", "skipped", "undone")


def action_id(rule_name: str, entity_key: str, evidence_day: date) -> str:
    """The deterministic id of one decision."""
    return hashlib.sha256(f"{rule_name}|{entity_key}|{evidence_day.isoformat()}".encode()).hexdigest()[:32]


@dataclass
class Action:
    """One triggered rule: what it saw, what it proposes, and what became of it."""

    rule_name: str
    rule_kind: str
    action_type: str  # pause | budget | alert
    platform: str
    account_id: str
    campaign_id: str
    ad_group_id: str
    entity_name: str
    evidence_day: date
    evidence: dict[str, Any]
    proposed: dict[str, Any]
    status: str = "proposed"
    reason: str = ""  # why skipped, or the platform's error when failed
    undo: dict[str, Any] | None = None
    dry_run: bool = True
    run_id: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    applied_at: datetime | None = None

    @property
    def entity_key(self) -> str:
        return f"{self.platform}/{self.account_id}/{self.campaign_id}/{self.ad_group_id}"

    @property
    def action_id(self) -> str:
        return action_id(self.rule_name, self.entity_key, self.evidence_day)

    def row(self) -> dict[str, Any]:
        """The audit row."""
        return {
            "action_id": self.action_id, "run_id": self.run_id, "rule_name": self.rule_name,
            "rule_kind": self.rule_kind, "action_type": self.action_type, "platform": self.platform,
            "account_id": self.account_id, "campaign_id": self.campaign_id, "ad_group_id": self.ad_group_id,
            "entity_name": self.entity_name, "evidence_day": self.evidence_day,
            "evidence_json": json.dumps(self.evidence, sort_keys=True, default=str),
            "proposed_json": json.dumps(self.proposed, sort_keys=True, default=str),
            "status": self.status, "reason": self.reason,
            "undo_json": json.dumps(self.undo, sort_keys=True, default=str) if self.undo is not None else None,
            "dry_run": self.dry_run, "created_at": self.created_at, "applied_at": self.applied_at,
        }


def _schema() -> pa.Schema:
    import pyarrow as pa

    text = pa.string()
    stamp = pa.timestamp("us", tz="UTC")
    return pa.schema([
        ("action_id", text), ("run_id", text), ("rule_name", text), ("rule_kind", text), ("action_type", text),
        ("platform", text), ("account_id", text), ("campaign_id", text), ("ad_group_id", text),
        ("entity_name", text), ("evidence_day", pa.date32()), ("evidence_json", text), ("proposed_json", text),
        ("status", text), ("reason", text), ("undo_json", text), ("dry_run", pa.bool_()),
        ("created_at", stamp), ("applied_at", stamp),
    ])


def recorded_statuses(lake: Lake) -> dict[str, set[str]]:
    """Every status each action id has reached so far (empty before the first run)."""
    table = lake.read(RAW, TABLE, ("action_id", "status"))
    if table is None:
        return {}
    out: dict[str, set[str]] = {}
    for aid, status in zip(table["action_id"].to_pylist(), table["status"].to_pylist(), strict=True):
        out.setdefault(aid, set()).add(status)
    return out


def append_actions(lake: Lake, actions: list[Action]) -> int:
    """Append the actions' rows in one commit; returns the rows written."""
    import pyarrow as pa

    if not actions:
        return 0
    data = pa.Table.from_pylist([a.row() for a in actions], schema=_schema())
    lake.append(RAW, TABLE, data)
    return data.num_rows

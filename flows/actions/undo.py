"""``adlake budget undo ACTION_ID``: put back what an applied budget action replaced.

The audit table's ``applied`` row of the action holds the undo record (the previous budget or status).
Dry-run by default, like ``apply``: it prints what would be restored. With ``apply=True`` the previous
value is written through the platform's client and an ``undone`` row is appended (its undo record is
what the restore replaced), so an action is undone once, and later rule runs never apply it again.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows.actions.records import TABLE, Action
from flows.actions.records import append_actions as _append
from pipelines.actions.clients import Entity, WriteClient, clients_from_env
from pipelines.errors import AdlakeError, first_line
from pipelines.lake import RAW, Lake

log = logging.getLogger("adlake.actions")


@dataclass
class UndoReport:
    action_id: str
    status: str  # would_restore | undone | already_undone | failed
    platform: str
    target: str
    restore: dict[str, Any]
    message: str = ""


def _rows(lake: Lake, action_id: str) -> list[dict[str, Any]]:
    table = lake.read(RAW, TABLE)
    if table is None:
        raise AdlakeError(f"no budget action has been recorded yet (raw.{TABLE} does not exist)")
    return [r for r in table.to_pylist() if r["action_id"] == action_id]


def _action(row: Mapping[str, Any], status: str, undo: dict[str, Any] | None, reason: str, run_id: str) -> Action:
    return Action(
        rule_name=row["rule_name"], rule_kind=row["rule_kind"], action_type=row["action_type"],
        platform=row["platform"], account_id=row["account_id"], campaign_id=row["campaign_id"],
        ad_group_id=row["ad_group_id"], entity_name=row["entity_name"], evidence_day=row["evidence_day"],
        evidence=json.loads(row["evidence_json"]), proposed=json.loads(row["proposed_json"]), status=status,
        reason=reason, undo=undo, dry_run=False, run_id=run_id, applied_at=datetime.now(UTC))


def undo_action(action_id: str, *, apply: bool = False, lake: Lake | None = None,
                clients: Mapping[str, WriteClient] | None = None) -> UndoReport:
    """Restore (with ``apply``) or show (without) what the applied action ``action_id`` replaced."""
    lake = lake or Lake()
    rows = _rows(lake, action_id)
    if not rows:
        raise AdlakeError(f"no budget action {action_id} in raw.{TABLE}")
    applied = next((r for r in rows if r["status"] == "applied" and r["undo_json"]), None)
    if applied is None:
        raise AdlakeError(f"budget action {action_id} was never applied (statuses: "
                          f"{', '.join(sorted({r['status'] for r in rows}))}); nothing to undo")
    restore = json.loads(applied["undo_json"])
    target = applied["ad_group_id"] or f"campaign {applied['campaign_id']}"
    report = UndoReport(action_id, "would_restore", applied["platform"], target, restore)
    if any(r["status"] == "undone" for r in rows):
        report.status, report.message = "already_undone", "an earlier undo restored it"
        return report
    if not apply:
        return report
    clients = clients_from_env() if clients is None else clients
    client = clients.get(applied["platform"])
    if client is None:
        raise AdlakeError(f"no credentials to undo on {applied['platform']}: set its ACCESS_TOKEN")
    entity = Entity(applied["platform"], applied["account_id"], applied["campaign_id"], applied["ad_group_id"])
    try:
        replaced = client.restore(entity, restore)
    except Exception as exc:  # the platform's error, in one line; nothing is recorded as undone
        report.status, report.message = "failed", first_line(exc)
        return report
    _append(lake, [_action(applied, "undone", replaced, f"undo of run {applied['run_id']}", uuid.uuid4().hex)])
    report.status = "undone"
    log.warning("budget action %s undone on %s %s: restored %s", action_id, report.platform, target, restore)
    return report


def render_undo(report: UndoReport) -> str:
    """The lines ``adlake budget undo`` prints."""
    restored = ", ".join(f"{k}={v}" for k, v in report.restore.items() if k not in ("level", "id"))
    head = {"would_restore": "dry run (nothing sent; --apply to send): would restore",
            "undone": "restored", "already_undone": "already undone: it restored",
            "failed": "failed to restore"}[report.status]
    line = f"budget action {report.action_id} on {report.platform} {report.target}: {head} {restored}"
    return line + (f" ({report.message})" if report.message else "")

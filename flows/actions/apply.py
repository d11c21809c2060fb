"""``adlake budget apply``: evaluate the budget rules after a build, audit every action, apply on request.

Dry-run by default: actions are recorded as ``proposed`` and nothing is sent. With ``apply=True``
each action goes through its platform's write client, within the per-run limits; an action id
already applied (an earlier run made the same decision on the same evidence) is never applied
again; the previous budget or status is kept as the undo record; a platform error is recorded as
``failed`` with the platform's message, the other actions still run, and the run fails at the end.
Each applied or failed action is committed to the audit table as soon as it is known, so a crash
mid-run cannot lose a write that happened.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from prefect import flow

from flows.actions.evaluate import evaluate, supported
from flows.actions.records import Action, append_actions, recorded_statuses
from flows.actions.rules import RulesConfig, load_rules
from pipelines.actions.clients import Entity, WriteClient, clients_from_env
from pipelines.duck import connect_file
from pipelines.errors import AdlakeError, first_line
from pipelines.lake import Lake

log = logging.getLogger("adlake.actions")
_ENV = {"meta_ads": "SOURCES__META_ADS__", "google_ads": "SOURCES__GOOGLE_ADS__", "tiktok_ads": "SOURCES__TIKTOK_ADS__"}


def _counter() -> object | None:
    """``adlake_budget_actions_total{rule,action_type,status}`` on the default Prometheus registry."""
    try:
        from prometheus_client import REGISTRY, Counter
    except ImportError:  # pragma: no cover - prometheus-client is a dependency
        return None
    existing = REGISTRY._names_to_collectors.get("adlake_budget_actions_total")  # the module may be imported twice
    return existing or Counter("adlake_budget_actions", "Budget actions by rule, type and outcome",
                               ["rule", "action_type", "status"])


_ACTIONS_TOTAL = _counter()


@dataclass
class ActionsReport:
    """What one run decided and did."""

    run_id: str
    dry_run: bool
    actions: list[Action] = field(default_factory=list)
    skipped_rules: dict[str, str] = field(default_factory=dict)
    rows_written: int = 0

    def count(self, status: str) -> int:
        return sum(a.status == status for a in self.actions)

    @property
    def failed(self) -> list[Action]:
        return [a for a in self.actions if a.status == "failed"]


def _alert(action: Action) -> None:
    """The alert: one structured log line per action (and the Prometheus counter)."""
    line = {"event": "budget_action", "action_id": action.action_id, "rule": action.rule_name,
            "type": action.action_type, "status": action.status, "platform": action.platform,
            "account_id": action.account_id, "campaign_id": action.campaign_id, "ad_group_id": action.ad_group_id,
            "evidence_day": action.evidence_day.isoformat(), "proposed": action.proposed, "reason": action.reason}
    level = logging.ERROR if action.status == "failed" else logging.WARNING
    log.log(level, "budget action %s", json.dumps(line, sort_keys=True, default=str))
    if _ACTIONS_TOTAL is not None:
        _ACTIONS_TOTAL.labels(action.rule_name, action.action_type, action.status).inc()  # type: ignore[attr-defined]


def _apply_one(action: Action, client: WriteClient, max_change_pct: float) -> None:
    entity = Entity(action.platform, action.account_id, action.campaign_id, action.ad_group_id)
    if action.action_type == "pause":
        undo = client.pause(entity)
        if undo.pop("unchanged", False):
            action.status, action.reason = "skipped", "already paused on the platform"
            return
        action.undo = undo
    else:
        factor = Decimal(str(action.proposed["daily_budget_factor"]))
        current = client.daily_budget(entity)
        target = (current * factor).quantize(Decimal("0.01"))
        if abs(target - current) > current * Decimal(str(max_change_pct)) / 100 + Decimal("0.01"):
            action.status, action.reason = "skipped", f"change over limits.max_budget_change_pct={max_change_pct:g}"
            return
        action.undo = client.set_daily_budget(entity, target)
        action.proposed = {**action.proposed, "daily_budget_from": str(current), "daily_budget_to": str(target)}
    action.status, action.applied_at = "applied", datetime.now(UTC)


def _decide(action: Action, seen: set[str], apply: bool, clients: Mapping[str, WriteClient], config: RulesConfig,
            applied_so_far: int) -> WriteClient | None:
    """Set the action's status when it is not to be sent; return the client when it is."""
    if action.action_type == "alert":
        action.status, action.reason = "skipped", "alert rule: nothing to apply"
    elif "undone" in seen:
        action.status, action.reason = "skipped", "undone by an operator (adlake budget undo): not applied again"
    elif "applied" in seen:
        action.status, action.reason = "applied", "already applied by an earlier run (same rule, entity, evidence day)"
    elif not apply:
        action.status = "proposed"
    elif not supported(action.platform):
        action.status, action.reason = "skipped", f"adlake has no budget/status writes for {action.platform}"
    elif action.platform not in clients:
        action.status = "failed"
        action.reason = f"no credentials to apply: set {_ENV[action.platform]}ACCESS_TOKEN"
    elif applied_so_far >= config.limits.max_actions_per_run:
        action.status = "skipped"
        action.reason = f"limits.max_actions_per_run={config.limits.max_actions_per_run} reached in this run"
    else:
        return clients[action.platform]
    return None


def run_budget_actions(*, apply: bool = False, lake: Lake | None = None, config: RulesConfig | None = None,
                       rules_file: Path | None = None, clients: Mapping[str, WriteClient] | None = None,
                       run_id: str | None = None) -> ActionsReport:
    """Evaluate, record and (when ``apply``) apply the budget rules on the lake's built marts.

    The rules are validated before anything is read or sent. Returns the report; raising is left to
    :func:`budget_actions` so callers can inspect a run that had failures.
    """
    config = config or load_rules(rules_file)
    lake = lake or Lake()
    clients = clients_from_env() if clients is None else clients
    report = ActionsReport(run_id or uuid.uuid4().hex, dry_run=not apply)
    con = connect_file(lake.settings.duckdb_path)
    try:
        evaluation = evaluate(con, config, clients)
    finally:
        con.close()
    report.skipped_rules = evaluation.skipped_rules
    recorded = recorded_statuses(lake)
    pending: list[Action] = []
    applied = 0
    for action in evaluation.actions:
        action.dry_run, action.run_id = not apply, report.run_id
        seen = recorded.get(action.action_id, set())
        client = _decide(action, seen, apply, clients, config, applied)
        if client is not None:
            try:
                _apply_one(action, client, config.limits.max_budget_change_pct)
            except Exception as exc:  # a platform error is the action's outcome, never the run's end
                action.status, action.reason = "failed", first_line(exc)
            applied += action.status == "applied"
        report.actions.append(action)
        if action.status in seen:
            continue  # this decision already reached this status: the audit table has it
        recorded.setdefault(action.action_id, set()).add(action.status)
        _alert(action)
        if client is not None:
            report.rows_written += append_actions(lake, [action])  # a write is committed before the next one
        else:
            pending.append(action)
    report.rows_written += append_actions(lake, pending)
    for name, reason in report.skipped_rules.items():
        log.warning("budget rule %s skipped: %s", name, reason)
    return report


@flow(name="budget-actions")
def budget_actions(apply: bool = False, rules_file: str | None = None) -> ActionsReport:
    """Run the budget rules after the daily build (dry-run unless ``apply``); fail when an action failed."""
    report = run_budget_actions(apply=apply, rules_file=Path(rules_file) if rules_file else None)
    if report.failed:
        raise AdlakeError(f"{len(report.failed)} budget action(s) failed (recorded in raw._budget_actions): "
                          + "; ".join(f"{a.rule_name} {a.platform} {a.ad_group_id or a.campaign_id}: {a.reason}"
                                      for a in report.failed[:3]))
    return report


def render_report(report: ActionsReport) -> str:
    """The table ``adlake budget apply`` prints."""
    mode = "dry run (nothing sent; --apply to send)" if report.dry_run else "applied"
    lines = [f"budget actions, run {report.run_id}: {mode}"]
    for a in report.actions:
        target = a.ad_group_id or f"campaign {a.campaign_id}"
        change = ", ".join(f"{k}={v}" for k, v in a.proposed.items())
        lines.append(f"  {a.status:<8} {a.action_id}  {a.rule_name:<28} {a.platform:<10} {target:<20} {change}"
                     + (f"  ({a.reason})" if a.reason else ""))
    for name, reason in report.skipped_rules.items():
        lines.append(f"  rule {name} skipped: {reason}")
    counts = ", ".join(f"{s} {report.count(s)}" for s in ("proposed", "applied", "failed", "skipped"))
    lines.append(f"{len(report.actions)} action(s): {counts}; {report.rows_written} audit row(s) written")
    return "\n".join(lines)

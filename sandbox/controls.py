"""What advertisers (and adlake's budget actions) changed through the emulated write endpoints.

The world is immutable; budget and status writes land in a small overlay per platform app, which
the read endpoints consult (``daily_budget``, ``status``), and in a write log tests read back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Write:
    """One accepted change: which entity, which field, the value before and after."""

    platform: str
    entity_kind: str  # adset | campaign | ad_group | campaign_budget
    entity_id: str
    field: str  # daily_budget (minor units) | amount_micros | status
    old: str
    new: str


@dataclass
class Controls:
    """The overlay of one platform: budgets and statuses by entity id, and the log of writes."""

    platform: str
    budgets: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def budget(self, entity_id: str, default: int) -> int:
        """The entity's budget (minor units or micros, as the platform counts) after any write."""
        return self.budgets.get(entity_id, default)

    def status(self, entity_id: str, default: str) -> str:
        """The entity's status after any write."""
        return self.statuses.get(entity_id, default)

    def set_budget(self, kind: str, entity_id: str, old: int, new: int, field_name: str = "daily_budget") -> None:
        """Record a budget write."""
        with self._lock:
            self.budgets[entity_id] = new
            self.writes.append(Write(self.platform, kind, entity_id, field_name, str(old), str(new)))

    def set_status(self, kind: str, entity_id: str, old: str, new: str) -> None:
        """Record a status write."""
        with self._lock:
            self.statuses[entity_id] = new
            self.writes.append(Write(self.platform, kind, entity_id, "status", old, new))

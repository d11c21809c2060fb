"""Fault injection: deterministic rules that make an emulated platform misbehave on purpose.

A rule names a platform, a path pattern, a kind and how many matching requests it hits.
Kinds: ``throttle`` (the platform's own rate-limit signal), ``server_error`` (5xx),
``auth_expired`` (the platform's token error), ``malformed`` (a truncated body with 200).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

KINDS = ("throttle", "server_error", "auth_expired", "malformed")


@dataclass
class FaultRule:
    platform: str
    kind: str
    path_pattern: str = ".*"
    times: int = 1
    skip: int = 0  # let this many matching requests through before the first fault

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        self._regex = re.compile(self.path_pattern)

    def matches(self, platform: str, path: str) -> bool:
        return platform == self.platform and self._regex.search(path) is not None


@dataclass
class FaultPlan:
    """Rules applied in order; each fires ``times`` times after skipping ``skip`` matches."""

    rules: list[FaultRule] = field(default_factory=list)
    fired: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def take(self, platform: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, if any (and count it)."""
        with self._lock:
            for rule in self.rules:
                if not rule.matches(platform, path) or rule.times <= 0:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                rule.times -= 1
                self.fired.append((platform, rule.kind, path))
                return rule
        return None

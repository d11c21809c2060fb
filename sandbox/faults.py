"""Fault injection: deterministic rules that make an emulated platform misbehave on purpose.

A rule names a platform, a path pattern, a kind and how many matching requests it hits.
Kinds: ``throttle`` (the platform's own rate-limit signal, with its reset headers),
``server_error`` (5xx), ``auth_expired`` (the platform's token error), ``malformed`` (a
truncated body with 200), ``slow`` (answers after ``delay_seconds``), ``timeout`` (answers
after ``delay_seconds``, longer than a client waits), ``schema_drift`` (a field renamed or
added in every record: ``rename`` and ``add`` maps). ``method`` narrows a rule to one HTTP method,
e.g. ``FaultRule("meta", "server_error", method="POST")`` fails budget and status writes only.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

KINDS = ("throttle", "server_error", "auth_expired", "malformed", "slow", "timeout", "schema_drift")


@dataclass
class FaultRule:
    platform: str
    kind: str
    path_pattern: str = ".*"
    times: int = 1
    skip: int = 0  # let this many matching requests through before the first fault
    delay_seconds: float = 2.0  # for slow and timeout
    rename: dict[str, str] = field(default_factory=dict)  # for schema_drift: old key -> new key
    add: dict[str, object] = field(default_factory=dict)  # for schema_drift: keys added to every record
    method: str | None = None  # only requests with this HTTP method (None: any)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        self._regex = re.compile(self.path_pattern)

    def matches(self, platform: str, path: str, method: str | None = None) -> bool:
        if self.method is not None and method is not None and method != self.method:
            return False
        return platform == self.platform and self._regex.search(path) is not None


def drift_json(payload: object, rule: FaultRule) -> object:
    """Apply a schema-drift rule to a JSON document: rename keys and add keys in every object that holds data."""
    if isinstance(payload, list):
        return [drift_json(item, rule) for item in payload]
    if isinstance(payload, dict):
        out = {rule.rename.get(k, k): drift_json(v, rule) for k, v in payload.items()}
        if any(k in payload for k in rule.rename) or (rule.add and not any(isinstance(v, (dict, list))
                                                                           for v in payload.values())):
            out.update(rule.add)
        return out
    return payload


@dataclass
class FaultPlan:
    """Rules applied in order; each fires ``times`` times after skipping ``skip`` matches."""

    rules: list[FaultRule] = field(default_factory=list)
    fired: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @classmethod
    def from_seed(cls, seed: int, platforms: tuple[str, ...] | list[str]) -> FaultPlan:
        """The ``--faults`` plan: per platform, a throttle, a burst of two 5xx, a slow answer and a
        truncated body, each after a seed-chosen number of good requests. Recoverable by design:
        a connector that retries correctly loads everything."""
        rules = []
        for platform in platforms:
            rng = random.Random(f"{seed}|faults|{platform}")
            rules += [
                FaultRule(platform, "throttle", skip=rng.randrange(1, 6)),
                FaultRule(platform, "server_error", times=2, skip=rng.randrange(3, 9)),
                FaultRule(platform, "slow", delay_seconds=1.5, skip=rng.randrange(2, 7)),
                FaultRule(platform, "malformed", skip=rng.randrange(4, 10)),
            ]
        return cls(rules)

    def take(self, platform: str, path: str, method: str | None = None) -> FaultRule | None:
        """The rule that fires for this request, if any (and count it)."""
        with self._lock:
            for rule in self.rules:
                if not rule.matches(platform, path, method) or rule.times <= 0:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                rule.times -= 1
                self.fired.append((platform, rule.kind, path))
                return rule
        return None

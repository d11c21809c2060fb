"""Prometheus metrics of the receiver and the lander (field notes 8.8). Labels are providers,
outcomes and reasons only: never a body, a header, an id or a secret."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Metrics:
    """One registry per receiver, so several can live in one process (tests)."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("webhook_requests_total", "Requests by provider and outcome "
                                "(accepted, rejected, quarantined, throttled).", ["provider", "outcome"], registry=r)
        self.rejected = Counter("webhook_rejected_total", "Rejected requests by provider and reason.",
                                ["provider", "reason"], registry=r)
        self.signature_failures = Counter("webhook_signature_failures_total", "Requests failing signature checks.",
                                          ["provider"], registry=r)
        self.received_events = Counter("webhook_events_received_total", "Events in accepted deliveries.",
                                       ["provider"], registry=r)
        self.duration = Histogram("webhook_request_duration_seconds", "Time from request to answer.",
                                  ["provider"], buckets=LATENCY_BUCKETS, registry=r)
        self.depth = Gauge("webhook_buffer_depth", "Journaled deliveries not yet landed in Iceberg.", registry=r)
        self.landed = Counter("webhook_events_landed_total", "Events committed to Iceberg.", ["provider"], registry=r)
        self.duplicates = Counter("webhook_duplicates_total", "Events dropped as already landed or repeated.",
                                  ["provider"], registry=r)
        self.quarantined = Counter("webhook_quarantined_total", "Deliveries or events sent to raw._quarantine.",
                                   ["provider", "reason"], registry=r)
        self.commit_seconds = Histogram("webhook_batch_commit_seconds", "Time to land one journal segment.",
                                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

"""Push ingestion: a signed-webhook receiver that acknowledges only what is durably journaled, and a
lander that turns the journal into Iceberg appends in ``raw``, once per event.

Modules: ``signatures`` (each provider's scheme), ``settings`` (secrets and limits from the
environment), ``providers`` (parsing and dedup keys), ``journal`` (the fsync'd disk buffer),
``lander`` (journal -> Iceberg), ``app`` (the ASGI service), ``metrics``, ``service`` (serving).
"""

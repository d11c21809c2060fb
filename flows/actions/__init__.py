"""Threshold actions: budget rules evaluated after the daily build, audited, dry-run by default."""

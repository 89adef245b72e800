"""The engine: event pipeline, lockout gate, merging of decisions, and enforcement (MOD-001)."""

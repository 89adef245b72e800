"""The 12 risk rules: pure functions from a read-only account view and an event to decisions."""

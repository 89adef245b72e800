"""Typed store errors, so the daemon can map each failure to its exit code (`daemon.md` §2 step 4)."""

from __future__ import annotations

from typing import ClassVar


class StoreError(Exception):
    """A database operation failed in a way the caller must handle (bad row, failed write)."""


class SchemaError(StoreError):
    """The database cannot be used by this code: the daemon logs CRITICAL and exits 78 (EX_CONFIG)."""

    exit_code: ClassVar[int] = 78


class UnversionedDatabaseError(SchemaError):
    """Tables exist but no `schema_version` (e.g. the prototype database, `storage.md` §6)."""


class SchemaTooNewError(SchemaError):
    """The file was migrated by newer code than this one."""


class MigrationFailedError(SchemaError):
    """A pending migration failed and was rolled back; it is not recorded in `schema_version`."""


class SchemaIncompleteError(SchemaError):
    """After migrating, an expected table or index is missing."""

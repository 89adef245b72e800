"""Schema versions and migrations (`storage.md` §6)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from simple_risk_manager.store import (
    MIGRATIONS,
    Migration,
    MigrationFailedError,
    SchemaError,
    SchemaIncompleteError,
    SchemaTooNewError,
    UnversionedDatabaseError,
    current_version,
    list_backups,
    open_database,
)

from .factories import T0, at

MIGRATION_2 = Migration(
    2,
    "add a notes table",
    "CREATE TABLE notes (\n    id INTEGER PRIMARY KEY,\n"
    "    text TEXT NOT NULL\n) STRICT;\nCREATE INDEX idx_notes_text ON notes (text);\n",
)


def _open_and_close(db: Path, migrations: tuple[Migration, ...] = MIGRATIONS, seconds: float = 0) -> None:
    open_database(db, at(seconds), migrations=migrations).connection.close()


def _version(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return current_version(conn)
    finally:
        conn.close()


def test_reopening_a_current_database_changes_nothing_and_takes_no_backup(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _open_and_close(db)
    opened = open_database(db, at(60))
    opened.connection.close()
    assert (opened.migration.from_version, opened.migration.to_version) == (1, 1)
    assert list(opened.migration.applied) == []
    assert list_backups(tmp_path / "backups") == []


def test_prototype_database_without_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE lockouts (account_id INTEGER PRIMARY KEY, is_locked INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(UnversionedDatabaseError, match="srm admin db init") as info:
        open_database(db, T0)
    assert info.value.exit_code == 78
    conn = sqlite3.connect(db)
    tables = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert tables == ["lockouts"]  # refused without touching the file


def test_database_from_newer_code_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _open_and_close(db, (*MIGRATIONS, MIGRATION_2))
    with pytest.raises(SchemaTooNewError, match="version 2 but this code knows only up to 1") as info:
        open_database(db, at(60))
    assert isinstance(info.value, SchemaError)
    assert _version(db) == 2


def test_synthetic_migration_2_runs_after_a_backup_of_version_1(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _open_and_close(db)
    opened = open_database(db, at(60), migrations=(*MIGRATIONS, MIGRATION_2))
    conn = opened.connection
    try:
        assert list(opened.migration.applied) == [2]
        assert conn.execute(
            "SELECT version, applied_at, description, checksum FROM schema_version WHERE version = 2"
        ).fetchone() == (2, "2025-03-04T15:03:11.480Z", MIGRATION_2.description, MIGRATION_2.checksum)
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'idx_notes_text'").fetchone()
    finally:
        conn.close()
    backups = list_backups(tmp_path / "backups")
    assert [b.name for b in backups] == ["state-20250304T150311480Z-0.db"]
    assert _version(backups[0]) == 1


def test_failing_migration_rolls_back_and_is_not_recorded(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _open_and_close(db)
    broken = Migration(
        2,
        "half good",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY) STRICT;\nINSERT INTO no_such_table VALUES (1);\n",
    )
    with pytest.raises(MigrationFailedError, match=r"migration 2 \(half good\) failed and was rolled back"):
        open_database(db, at(60), migrations=(*MIGRATIONS, broken))
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'notes'").fetchone() is None
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (1,)
    conn.close()
    _open_and_close(db, (*MIGRATIONS, MIGRATION_2), 120)  # a fixed migration is retried without conflict
    assert _version(db) == 2


def test_edited_migration_checksum_logs_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "state.db"
    _open_and_close(db)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE schema_version SET checksum = 'edited' WHERE version = 1")
    conn.commit()
    conn.close()
    with caplog.at_level(logging.WARNING, logger="simple_risk_manager.store"):
        _open_and_close(db, seconds=60)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "migration 1" in warnings[0].getMessage()
    assert "checksum differs" in warnings[0].getMessage()


def test_unchanged_checksums_log_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "state.db"
    _open_and_close(db)
    with caplog.at_level(logging.WARNING, logger="simple_risk_manager.store"):
        _open_and_close(db, seconds=60)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_missing_index_after_migrating_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _open_and_close(db)
    conn = sqlite3.connect(db)
    conn.execute("DROP INDEX idx_orders_account")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaIncompleteError, match="index idx_orders_account"):
        open_database(db, at(60))


@pytest.mark.parametrize("versions", [(2,), (1, 3), (2, 1)])
def test_migration_list_must_be_numbered_one_to_n(tmp_path: Path, versions: tuple[int, ...]) -> None:
    migrations = tuple(Migration(v, f"m{v}", f"CREATE TABLE t{v} (x INTEGER) STRICT;") for v in versions)
    with pytest.raises(ValueError, match=r"numbered 1\.\.N"):
        open_database(tmp_path / "state.db", T0, migrations=migrations)


def test_only_the_newest_five_backups_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    migrations: tuple[Migration, ...] = MIGRATIONS
    _open_and_close(db)
    for version in range(2, 9):
        migrations = (
            *migrations,
            Migration(version, f"m{version}", f"CREATE TABLE t{version} (x INTEGER) STRICT;"),
        )
        _open_and_close(db, migrations, seconds=version)
    backups = list_backups(tmp_path / "backups")
    assert [_version(b) for b in backups] == [3, 4, 5, 6, 7]

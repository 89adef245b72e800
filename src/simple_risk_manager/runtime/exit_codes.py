"""Process exit codes, shared by `srm run` (`daemon.md` §1) and the other subcommands (`cli.md` §0).

`srm run` and `srm check-config` use 0, 1, 2, 75 and 78; the service manager reacts to them (75 restarts
after a delay, 78 never restarts). The CLIs use 0–7; codes 3 and 4 have one meaning for the Admin CLI and
another for the Trader CLI, so each has two names.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Success; for the daemon, a clean stop after SIGTERM/SIGINT."""
    FAILURE = 1
    """The daemon crashed (unexpected error, a long-lived task failed); a CLI operation failed."""
    USAGE = 2
    """Bad command-line usage, or a prompt would be needed without a terminal."""
    AUTH_FAILED = 3
    """Admin CLI: the admin password was not given correctly."""
    DAEMON_UNREACHABLE = 3
    """Trader CLI: the daemon could not be reached; saved data was shown."""
    NOT_PRIVILEGED = 4
    """Admin CLI: needs root / an elevated Administrator."""
    NO_DATA = 4
    """Trader CLI: neither the daemon nor saved data is available."""
    NO_SERVICE_MANAGER = 5
    """No supported service manager on this machine."""
    VALIDATION_FAILED = 6
    """CLI: configuration or input failed validation."""
    CONNECTION_TEST_FAILED = 7
    """CLI: one or more connection tests failed."""
    INSTANCE_LOCKED = 75
    """Temporary (EX_TEMPFAIL): another daemon holds the instance lock; restart after a delay."""
    CONFIG_INVALID = 78
    """EX_CONFIG: invalid configuration, every login rejected, or an unusable database; needs an admin."""

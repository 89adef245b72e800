"""What `srm run` prints for people and scripts (stdout), and logs (`daemon.md` §2 step 16).

    srm run: STARTING pid=4242 broadcast=ws://127.0.0.1:8765/ data=/var/lib/srm logs=/var/log/srm
    srm run: RUNNING pid=4242 broadcast=ws://127.0.0.1:8765/ accounts=4411,4412 started_in=1.4s
      status    RUNNING: ok
      account   4411 "Eval 50K"  OK  11 rules: RULE-001 … RULE-011
      …

The first line of each block is the stable, greppable part (`key=value` words); the rest is for reading.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from simple_risk_manager.config.loader import LoadedConfig
from simple_risk_manager.config.rule_catalog import RULE_CATALOG
from simple_risk_manager.daemon.status import StatusBoard
from simple_risk_manager.domain.models import DaemonStatus
from simple_risk_manager.engine.views import AccountSettings
from simple_risk_manager.runtime.paths import Directories

PREFIX = "srm run: "


def broadcast_url(port: int | None, host: str = "127.0.0.1") -> str:
    return "unavailable" if port is None else f"ws://{host}:{port}/"


def starting_line(pid: int, port: int | None, directories: Directories) -> str:
    return (f"{PREFIX}STARTING pid={pid} broadcast={broadcast_url(port)} "
            f"data={directories.data_dir} logs={directories.log_dir}")


def running_summary(config: LoadedConfig, accounts: Mapping[int, AccountSettings], board: StatusBoard,
                    status: DaemonStatus, *, port: int | None, directories: Directories,
                    started_in_s: float) -> str:
    ids = ",".join(str(a) for a in sorted(accounts))
    lines = [f"{PREFIX}{status.status} pid={os.getpid()} broadcast={broadcast_url(port)} accounts={ids} "
             f"started_in={started_in_s:.1f}s",
             f"  status    {status.status}: {status.message}"]
    for account_id, settings in sorted(accounts.items()):
        entry = config.account(account_id)
        enabled = [info.rule_id for info in RULE_CATALOG if getattr(settings.rules, info.key).enabled]
        name = f' "{entry.nickname}"' if entry.nickname else ""
        lines.append(f"  account   {account_id}{name}  {board.account_state(account_id).value}  "
                     f"{len(enabled)} rules: {', '.join(enabled) or 'none'}")
    reset_time, zone = config.global_settings.daily_reset_time, config.global_settings.timezone
    lines.append(f"  reset     {reset_time} {zone} (accounts may override)")
    dry_run = "yes: nothing is sent to the broker" if config.daemon.enforcement.dry_run else "no"
    lines.append(f"  dry run   {dry_run}")
    lines.append(f"  files     config {directories.config_dir}, data {directories.data_dir}, "
                 f"logs {directories.log_dir}")
    return "\n".join(lines)

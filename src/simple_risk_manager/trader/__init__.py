"""The Trader CLI (`cli.md` §1): a read-only dashboard of one account, fed by the broadcast API and,
while the daemon is unreachable, by the saved state in the database.

`run_dashboard(url, account_id, db_path=…)` shows it in this terminal (`srm trader`; `srm demo` runs a
`TraderApp` on its own loop, `demo/dashboard.py`); `status`, `accounts` and `watch` are the plain,
scriptable forms.
"""

from simple_risk_manager.trader.app import DashboardOptions, TraderApp, run_dashboard

__all__ = ["DashboardOptions", "TraderApp", "run_dashboard"]

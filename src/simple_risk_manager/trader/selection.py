"""The account selection list (`cli.md` §1.3), for the selection screen and `srm trader accounts`.

Live: the accounts of `hello` with the values of a temporary all-accounts snapshot and the daemon's
account states; offline: the account ids found in the saved state, without nicknames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from simple_risk_manager.domain.money import decimal_text
from simple_risk_manager.trader.account_view import AccountStatus
from simple_risk_manager.trader.model import ConnectionMode, Dashboard

#: The daemon's account states (`broadcast-api.md` §5.9) as the list writes them.
_STATE_WORDS: Final = {"AUTH_FAILED": "AUTH FAILED", "NOT_FOUND": "NOT FOUND",
                       "DISABLED_BY_BROKER": "DISABLED BY BROKER"}


@dataclass(frozen=True, slots=True)
class AccountRow:
    number: int
    account_id: int
    nickname: str | None
    #: OK / LOCKED / COOLDOWN, or the daemon's account state when it is not OK; "?" when unknown.
    status: str
    realized_pnl: Decimal | None
    open_positions: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "account_id": self.account_id, "nickname": self.nickname,
                "status": self.status,
                "realized_pnl": None if self.realized_pnl is None else decimal_text(self.realized_pnl),
                "open_positions": self.open_positions}


def account_rows(model: Dashboard, now: datetime) -> list[AccountRow]:
    rows = []
    states = model.daemon.account_states if model.daemon is not None and model.live else {}
    for number, ref in enumerate(model.known_accounts(), start=1):
        view = model.accounts.get(ref.account_id)
        state = states.get(ref.account_id, "OK")
        if state != "OK":
            status = _STATE_WORDS.get(state, state)
        elif view is not None:
            status = view.status(now).value
        else:
            status = "?"
        rows.append(AccountRow(number=number, account_id=ref.account_id,
                               nickname=model.nickname(ref.account_id), status=status,
                               realized_pnl=None if view is None else view.realized_pnl,
                               open_positions=None if view is None else len(view.positions)))
    return rows


def status_style(status: str) -> str:
    if status == AccountStatus.OK:
        return "green"
    if status == AccountStatus.COOLDOWN:
        return "bold yellow"
    if status == "?":
        return "dim"
    return "bold red"


def source_label(model: Dashboard) -> str:
    return "database" if model.mode is ConnectionMode.OFFLINE else "live"

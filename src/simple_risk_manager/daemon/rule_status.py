"""The snapshot's `rules` list: one gauge per rule (`broadcast-api.md` §4.4, B13).

`limit` / `current` (money as magnitudes): RULE-001 the contract count (`count_type`); RULE-002 the
root nearest its limit (highest count ÷ limit; an unlisted root under `allow_with_limit:N` has limit N,
under `block` limit 0); RULE-003 the day's realized loss; RULE-004 the largest single-position loss
(`per_position`) or the account's total floating loss (`total`); RULE-005 the largest position profit or
the total, at least 0; RULE-006 the window nearest its limit. Every other rule has none.

`status`: `BREACHED` while the rule's own breach condition holds (the rule's comparison: strict for
counts, inclusive for money) or the rule holds an active lockout on the account; else `WARN` at 80 % of
the limit; else `ACTIVE` for a limit-less rule that is acting (RULE-008 grace running for a position
without a stop, RULE-012 managing a stop); else `OK`. RULE-010 is also breached while the broker says
`canTrade: false`, RULE-011 while a blocked instrument is held or worked. A disabled rule is `OK` with
no gauge: it is not watching anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from simple_risk_manager.config.rule_catalog import RULE_CATALOG
from simple_risk_manager.domain.money import ZERO, to_json_number
from simple_risk_manager.rules.base import AccountView
from simple_risk_manager.state.positions import CountType

BREACHED: Final = "BREACHED"
WARN: Final = "WARN"
ACTIVE: Final = "ACTIVE"
OK: Final = "OK"
WARN_RATIO: Final = Decimal("0.8")


@dataclass(frozen=True, slots=True)
class Gauge:
    limit: Decimal
    current: Decimal
    breached: bool


def _max_contracts(view: AccountView) -> Gauge:
    config = view.rules.max_contracts
    count = view.contract_count(CountType(config.count_type))
    return Gauge(Decimal(config.limit), Decimal(count), count > config.limit)


def _per_instrument(view: AccountView) -> Gauge | None:
    config = view.rules.max_contracts_per_instrument
    limits: dict[str, int] = dict(config.limits)
    unlisted = config.unknown_symbol_limit
    for position in view.positions():
        root = view.root_of(position.contract_id)
        if root not in limits and unlisted is not None:
            limits[root] = unlisted
    if not limits:
        return None

    def pressure(root: str) -> tuple[Decimal, int]:
        count, limit = view.root_count(root), limits[root]
        ratio = Decimal(count) / limit if limit else (Decimal("Infinity") if count else ZERO)
        return ratio, -limit  # ties: the tighter limit

    root = max(sorted(limits), key=pressure)
    count = view.root_count(root)
    return Gauge(Decimal(limits[root]), Decimal(count), count > limits[root])


def _realized_loss(view: AccountView) -> Gauge:
    limit = view.rules.daily_realized_loss.loss_limit
    loss = max(ZERO, -view.daily_realized())
    return Gauge(limit, loss, loss >= limit)


def _unrealized_loss(view: AccountView) -> Gauge:
    config = view.rules.daily_unrealized_loss
    upnl = view.account_upnl()
    if config.scope == "total":
        loss = max(ZERO, -upnl.total) if upnl.per_position else ZERO
    else:
        loss = max((max(ZERO, -value) for value in upnl.per_position.values()), default=ZERO)
    return Gauge(config.loss_limit, loss, bool(upnl.per_position) and loss >= config.loss_limit)


def _unrealized_profit(view: AccountView) -> Gauge:
    config = view.rules.max_unrealized_profit
    upnl = view.account_upnl()
    if config.scope == "total":
        profit = max(ZERO, upnl.total) if upnl.per_position else ZERO
    else:
        profit = max((max(ZERO, value) for value in upnl.per_position.values()), default=ZERO)
    return Gauge(config.profit_target, profit, bool(upnl.per_position) and profit >= config.profit_target)


def _frequency(view: AccountView) -> Gauge | None:
    limits = view.rules.trade_frequency_limit.limits
    counts = view.trade_counts(view.now)
    windows = [(count, limit) for count, limit in ((counts.minute, limits.per_minute),
                                                   (counts.hour, limits.per_hour),
                                                   (counts.session, limits.per_session))
               if limit is not None]
    if not windows:
        return None
    count, limit = max(windows, key=lambda w: (Decimal(w[0]) / w[1], -w[1]))
    return Gauge(Decimal(limit), Decimal(count), count > limit)


_GAUGES: Final[dict[str, Callable[[AccountView], Gauge | None]]] = {
    "RULE-001": _max_contracts,
    "RULE-002": _per_instrument,
    "RULE-003": _realized_loss,
    "RULE-004": _unrealized_loss,
    "RULE-005": _unrealized_profit,
    "RULE-006": _frequency,
}


def _condition_holds(view: AccountView, rule_id: str) -> bool:
    """Breach conditions of limit-less rules that hold without a lockout record."""
    if rule_id == "RULE-010":
        account = view.account()
        return account is not None and account.can_trade is False
    if rule_id == "RULE-011":
        blocked = frozenset(view.rules.symbol_blocks.blocked_symbols)
        held = [p.contract_id for p in view.positions()] + [o.contract_id for o in view.working_orders()]
        return any(view.root_of(contract_id) in blocked for contract_id in held)
    return False


def _acting(view: AccountView, rule_id: str) -> bool:
    """RULE-008: a position without a stop has a grace deadline still ahead; RULE-012: a stop is managed."""
    memory = view.rule_state(rule_id)
    if not memory:
        return False
    if rule_id == "RULE-008":
        return any(deadline > view.now and view.position(contract_id) is not None
                   and not view.has_stop(contract_id) for contract_id, deadline in memory.items())
    return rule_id == "RULE-012"


def rule_statuses(view: AccountView) -> list[dict[str, Any]]:
    """The 12 rules in id order as the snapshot lists them."""
    locked_by = {record.rule_id for record in view.active_lockouts()}
    result: list[dict[str, Any]] = []
    for info in RULE_CATALOG:
        enabled = bool(getattr(view.rules, info.key).enabled)
        gauge = _GAUGES[info.rule_id](view) if enabled and info.rule_id in _GAUGES else None
        if not enabled:
            status = OK
        elif info.rule_id in locked_by or (gauge is not None and gauge.breached) \
                or _condition_holds(view, info.rule_id):
            status = BREACHED
        elif gauge is not None and gauge.limit > 0 and gauge.current >= gauge.limit * WARN_RATIO:
            status = WARN
        elif gauge is None and _acting(view, info.rule_id):
            status = ACTIVE
        else:
            status = OK
        row: dict[str, Any] = {
            "rule_id": info.rule_id, "name": info.name, "enabled": enabled,
            "limit": None if gauge is None else to_json_number(gauge.limit),
            "current": None if gauge is None else to_json_number(gauge.current),
            "status": status,
        }
        if info.rule_id == "RULE-006" and enabled:
            row["limits"] = _frequency_limits(view)
        result.append(row)
    return result


def _frequency_limits(view: AccountView) -> dict[str, int]:
    """Every RULE-006 window's limit (an addition to §4.4's row, which names only the nearest window),
    so a dashboard can show `1/3 per min, 2/10 per h` as `cli.md` §1.4 draws it."""
    limits = view.rules.trade_frequency_limit.limits
    windows = {"minute": limits.per_minute, "hour": limits.per_hour, "session": limits.per_session}
    return {window: limit for window, limit in windows.items() if limit is not None}

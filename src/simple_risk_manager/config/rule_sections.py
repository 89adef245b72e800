"""The 12 rule sections of `risk_config.yaml` `rules` (`config.md` §4.3, `rules.md` RULE-001…012).

These typed, validated models are what the rule engine reads. Defaults and ranges are those of the
parameter tables; `problems()` holds the cross-field checks of §4.4 and `RulesConfig.warnings()` the
warnings, which never stop the daemon.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from simple_risk_manager.config.base import ConfigModel, hinted, required
from simple_risk_manager.config.fields import (
    DAY_NAMES,
    DayName,
    Flag,
    ListOf,
    Money,
    NotNull,
    SessionBreachCooldown,
    SymbolRoot,
    TimeOfDay,
    UnknownSymbolAction,
    ZoneName,
    choice,
    int_in,
    optional_int_in,
)
from simple_risk_manager.config.issues import Path, Problem, Verbatim

CountType = Literal["gross", "net"]
ContractsEnforcement = Literal["close_all", "reduce_to_limit"]
RealizedLossAction = Literal["CLOSE_ALL_AND_LOCKOUT", "CLOSE_ALL_POSITIONS"]
Scope = Literal["per_position", "total"]

MAX_LOSS_TIERS = 10
_ENABLED_MISSING = "missing; every rule section must say enabled: true or enabled: false (D-42)"
_SECTION_MISSING = "missing; all 12 rule sections are required (use enabled: false)"
_POSITIVE_MAGNITUDE = "positive magnitude, e.g. {example}"
_TIERS_REPLACE = "replaced by loss_thresholds, a list of {loss_amount, cooldown_duration} tiers (D-23)"


def duplicates(items: Sequence[object], path: Path) -> Iterator[Problem]:
    """`path[i]: duplicate of path[j]` for every repeated item (j = its first occurrence)."""
    first: dict[object, int] = {}
    for index, item in enumerate(items):
        if item in first:
            yield Problem((index,), f"duplicate of {_path_text(path)}[{first[item]}]", item)
        else:
            first[item] = index


def _path_text(path: Path) -> str:
    return ".".join(str(part) for part in path)


def _alias_hint(root: str, target: str) -> str:
    return f"{root} is an alias of {target} (global.symbol_aliases), so it never matches; write {target}"


class RuleSection(ConfigModel):
    """Keys every section has, and the keys of the source schema no section accepts any more."""

    enabled: Flag = required(_ENABLED_MISSING)

    legacy_keys: ClassVar[Mapping[str, str]] = {
        "action": "not a key of this rule: only daily_realized_loss has an action; this rule's action "
                  "is fixed (see its scope, lockout or enforcement keys)",
        "reset_time": "moved: the trading day is set once in global.daily_reset_time "
                      "(per account: reset_time in accounts.yaml) (D-13)",
        "reset_timezone": "moved: the reset zone is global.timezone (per account: timezone in accounts.yaml)",
        "timezone": "moved: the reset zone is global.timezone (per account: timezone in accounts.yaml)",
    }


class MaxContracts(RuleSection):
    """RULE-001: cap on open contracts across all instruments."""

    limit: Annotated[int, int_in(1, 1000)] = 5
    count_type: Annotated[CountType, choice(CountType)] = "gross"
    enforcement: Annotated[ContractsEnforcement, choice(ContractsEnforcement)] = "close_all"

    legacy_keys: ClassVar[Mapping[str, str]] = {
        **RuleSection.legacy_keys,
        "close_all": "replaced by enforcement: close_all (D-09)",
        "reduce_to_limit": "replaced by enforcement: reduce_to_limit (D-09)",
    }


class MaxContractsPerInstrument(RuleSection):
    """RULE-002: per-symbol-root caps."""

    limits: dict[SymbolRoot, Annotated[int, int_in(1, 1000)]] = Field(default_factory=dict)
    enforcement: Annotated[ContractsEnforcement, choice(ContractsEnforcement)] = "reduce_to_limit"
    unknown_symbol_action: UnknownSymbolAction = "block"

    @property
    def unknown_symbol_limit(self) -> int | None:
        """Contracts allowed for an unlisted root: 0 (`block`), N, or None (`allow_unlimited`)."""
        if self.unknown_symbol_action == "block":
            return 0
        if self.unknown_symbol_action == "allow_unlimited":
            return None
        return int(self.unknown_symbol_action.removeprefix("allow_with_limit:"))

    def problems(self) -> Iterator[Problem]:
        if self.enabled and not self.limits and self.unknown_symbol_action == "block":
            yield Problem(("unknown_symbol_action",),
                          "with no limits listed, block would close every position; list limits "
                          "or use allow_unlimited / allow_with_limit:N", self.unknown_symbol_action)


class DailyRealizedLoss(RuleSection):
    """RULE-003: hard daily loss limit on realized P&L."""

    loss_limit: Money = hinted(Decimal("500.00"), _POSITIVE_MAGNITUDE.format(example=500))
    action: Annotated[RealizedLossAction, choice(RealizedLossAction)] = "CLOSE_ALL_AND_LOCKOUT"

    legacy_keys: ClassVar[Mapping[str, str]] = {
        **RuleSection.legacy_keys,
        "lockout_until": "removed: the lockout always lasts until the next daily reset (D-46)",
    }


class _UnrealizedSection(RuleSection):
    scope: Annotated[Scope, choice(Scope)] = "per_position"
    lockout: Flag = False

    legacy_keys: ClassVar[Mapping[str, str]] = {
        **RuleSection.legacy_keys,
        "action": "replaced by scope (per_position or total) and lockout (D-16)",
        "mode": "replaced by scope (per_position or total); breakeven stops are "
                "trade_management.auto_breakeven (D-16)",
    }

    def problems(self) -> Iterator[Problem]:
        if self.lockout and self.scope == "per_position":
            yield Problem(("lockout",), "only allowed with scope: total", self.lockout)


class DailyUnrealizedLoss(_UnrealizedSection):
    """RULE-004: floating loss per position or for the account."""

    loss_limit: Money = hinted(Decimal("300.00"), _POSITIVE_MAGNITUDE.format(example=300))


class MaxUnrealizedProfit(_UnrealizedSection):
    """RULE-005: take profit at a dollar target."""

    profit_target: Money = hinted(Decimal("1000.00"), "positive amount, e.g. 1000")


class FrequencyLimits(ConfigModel):
    per_minute: Annotated[int | None, optional_int_in(1, 1000)] = 3
    per_hour: Annotated[int | None, optional_int_in(1, 10_000)] = 10
    per_session: Annotated[int | None, optional_int_in(1, 100_000)] = 50

    def problems(self) -> Iterator[Problem]:
        if self.per_minute is None and self.per_hour is None and self.per_session is None:
            yield Problem((), "at least one of per_minute, per_hour, per_session must be set",
                          {"per_minute": None, "per_hour": None, "per_session": None})


class FrequencyCooldowns(ConfigModel):
    enabled: Flag = True
    per_minute_breach: Annotated[int, int_in(1, 86_400)] = 60
    per_hour_breach: Annotated[int, int_in(1, 86_400)] = 1800
    per_session_breach: SessionBreachCooldown = "until_reset"


class TradeFrequencyLimit(RuleSection):
    """RULE-006: trades per rolling minute, rolling hour and trading day."""

    limits: FrequencyLimits = FrequencyLimits()
    cooldown_on_breach: FrequencyCooldowns = FrequencyCooldowns()

    legacy_keys: ClassVar[Mapping[str, str]] = {
        **RuleSection.legacy_keys,
        "max_trades": "replaced by limits.per_minute, limits.per_hour and limits.per_session (D-19)",
        "time_window_minutes": "replaced by limits.per_minute, limits.per_hour and limits.per_session (D-19)",
        "cooldown_seconds": "replaced by cooldown_on_breach.per_minute_breach, per_hour_breach and "
                            "per_session_breach (D-19)",
    }


class LossTier(ConfigModel):
    loss_amount: Money = hinted(..., _POSITIVE_MAGNITUDE.format(example=100))
    cooldown_duration: Annotated[int, int_in(1, 86_400)]


_DEFAULT_TIERS = (
    LossTier(loss_amount=Decimal("100.00"), cooldown_duration=300),
    LossTier(loss_amount=Decimal("200.00"), cooldown_duration=900),
    LossTier(loss_amount=Decimal("300.00"), cooldown_duration=1800),
)


class CooldownAfterLoss(RuleSection):
    """RULE-007: a forced break after a losing trade, longer for bigger losses."""

    loss_thresholds: Annotated[tuple[LossTier, ...], ListOf] = _DEFAULT_TIERS

    legacy_keys: ClassVar[Mapping[str, str]] = {
        **RuleSection.legacy_keys,
        "loss_threshold": _TIERS_REPLACE,
        "cooldown_seconds": _TIERS_REPLACE,
    }

    def problems(self) -> Iterator[Problem]:
        tiers = self.loss_thresholds
        where = ("loss_thresholds",)
        if not tiers:
            yield Problem(where, "at least one tier is required", [])
        if len(tiers) > MAX_LOSS_TIERS:
            yield Problem(where, f"at most {MAX_LOSS_TIERS} tiers are allowed",
                          Verbatim(f"{len(tiers)} tiers"))
        amounts = [tier.loss_amount for tier in tiers]
        for problem in duplicates(amounts, where):
            yield Problem((*where, *problem.path, "loss_amount"), problem.message, problem.value)
        for index, tier in enumerate(tiers):
            longer = [(other_index, other) for other_index, other in enumerate(tiers)
                      if other.loss_amount < tier.loss_amount
                      and other.cooldown_duration > tier.cooldown_duration]
            if longer:
                other_index, other = longer[0]
                yield Problem(
                    (*where, index, "cooldown_duration"),
                    f"shorter than the {other.cooldown_duration} s of the smaller loss "
                    f"loss_thresholds[{other_index}] ({other.loss_amount}); a bigger loss needs an equal "
                    "or longer cooldown",
                    tier.cooldown_duration,
                )


class NoStopLossGrace(RuleSection):
    """RULE-008: every new position needs a stop within the grace period."""

    grace_period_seconds: Annotated[int, int_in(1, 3600)] = 30


class SessionWindow(ConfigModel):
    start: TimeOfDay = "08:30"
    end: TimeOfDay = "15:00"
    timezone: Annotated[ZoneName | None, NotNull] = None  # None: global.timezone (never an account's zone)

    def problems(self) -> Iterator[Problem]:
        if self.start == self.end:
            yield Problem((), "start and end must differ", Verbatim(f'"{self.start}" for both'))


class SessionBlockOutside(RuleSection):
    """RULE-009: trade only inside the session, on allowed days, never on holidays."""

    global_session: SessionWindow = SessionWindow()
    allowed_days: Annotated[tuple[DayName, ...], ListOf] = DAY_NAMES[:5]
    respect_holidays: Flag = True
    close_positions_at_session_end: Flag = True
    lockout_outside_session: Flag = True

    legacy_keys: ClassVar[Mapping[str, str]] = {
        **RuleSection.legacy_keys,
        "allowed_hours": "replaced by global_session.start and global_session.end",
        "per_instrument_sessions": "not supported: one global_session applies to every instrument (D-25)",
    }

    def problems(self) -> Iterator[Problem]:
        if not self.allowed_days:
            yield Problem(("allowed_days",), f"must list at least one day of {', '.join(DAY_NAMES)}", [])
        for problem in duplicates(self.allowed_days, ("allowed_days",)):
            yield problem.under(("allowed_days",))
        if self.lockout_outside_session and not self.close_positions_at_session_end:
            yield Problem(("close_positions_at_session_end",),
                          "must be true when lockout_outside_session is true", False)


class AuthLossGuard(RuleSection):
    """RULE-010: flatten and lock while the platform reports canTrade false."""

    auto_unlock_on_restore: Flag = True
    check_on_startup: Flag = True
    alert_on_disconnect: Flag = True


class SymbolBlocks(RuleSection):
    """RULE-011: never hold or work orders in blocked instruments."""

    blocked_symbols: Annotated[tuple[SymbolRoot, ...], ListOf] = ()
    close_existing: Flag = True

    def problems(self) -> Iterator[Problem]:
        for problem in duplicates(self.blocked_symbols, ("blocked_symbols",)):
            yield problem.under(("blocked_symbols",))


class AutoBreakeven(ConfigModel):
    enabled: Flag = True
    profit_trigger_ticks: Annotated[int, int_in(1, 10_000)] = 10
    offset_ticks: Annotated[int, int_in(0, 10_000)] = 0

    def problems(self) -> Iterator[Problem]:
        if self.offset_ticks >= self.profit_trigger_ticks:
            yield Problem(("offset_ticks",),
                          f"must be less than profit_trigger_ticks ({self.profit_trigger_ticks})",
                          self.offset_ticks)


class TrailingStop(ConfigModel):
    enabled: Flag = True
    activation_ticks: Annotated[int, int_in(1, 10_000)] = 20
    trail_distance_ticks: Annotated[int, int_in(1, 10_000)] = 10


class TradeManagement(RuleSection):
    """RULE-012: automatic initial stop, breakeven and trailing stop."""

    auto_stop_loss: Flag = True
    stop_loss_ticks: Annotated[int, int_in(1, 10_000)] = 10
    auto_breakeven: AutoBreakeven = AutoBreakeven()
    trailing_stop: TrailingStop = TrailingStop()

    legacy_keys: ClassVar[Mapping[str, str]] = {
        **RuleSection.legacy_keys,
        "update_frequency": "removed: the stop is moved at most once per second, when it improves by at "
                            "least one tick (D-29)",
    }


class RulesConfig(ConfigModel):
    """`rules`: all 12 sections, each stating `enabled` (D-42)."""

    max_contracts: MaxContracts = required(_SECTION_MISSING)
    max_contracts_per_instrument: MaxContractsPerInstrument = required(_SECTION_MISSING)
    daily_realized_loss: DailyRealizedLoss = required(_SECTION_MISSING)
    daily_unrealized_loss: DailyUnrealizedLoss = required(_SECTION_MISSING)
    max_unrealized_profit: MaxUnrealizedProfit = required(_SECTION_MISSING)
    trade_frequency_limit: TradeFrequencyLimit = required(_SECTION_MISSING)
    cooldown_after_loss: CooldownAfterLoss = required(_SECTION_MISSING)
    no_stop_loss_grace: NoStopLossGrace = required(_SECTION_MISSING)
    session_block_outside: SessionBlockOutside = required(_SECTION_MISSING)
    auth_loss_guard: AuthLossGuard = required(_SECTION_MISSING)
    symbol_blocks: SymbolBlocks = required(_SECTION_MISSING)
    trade_management: TradeManagement = required(_SECTION_MISSING)

    def warnings(self, symbol_aliases: Mapping[str, str]) -> Iterator[Problem]:
        """`config.md` §4.4 Warnings: legal but probably not what the trader meant; and roots that are
        alias names, which never match because every root is aliased before matching (D-12)."""
        for root in self.max_contracts_per_instrument.limits:
            if root in symbol_aliases:
                yield Problem(("max_contracts_per_instrument", "limits", root),
                              _alias_hint(root, symbol_aliases[root]))
        for index, root in enumerate(self.symbol_blocks.blocked_symbols):
            if root in symbol_aliases:
                yield Problem(("symbol_blocks", "blocked_symbols", index),
                              _alias_hint(root, symbol_aliases[root]), root)
        limits = self.trade_frequency_limit.limits
        base = ("trade_frequency_limit", "limits")
        windows = [("per_minute", limits.per_minute), ("per_hour", limits.per_hour),
                   ("per_session", limits.per_session)]
        for (name, value), (wider, wider_value) in itertools.pairwise(windows):
            if value is not None and wider_value is not None and value > wider_value:
                yield Problem((*base, name), f"above {wider} ({wider_value}), so the {wider} limit "
                                             f"is always reached first", value)
        listed = self.max_contracts_per_instrument.limits
        for index, root in enumerate(self.symbol_blocks.blocked_symbols):
            if root in listed:
                yield Problem(("symbol_blocks", "blocked_symbols", index),
                              f"{root} also has a limit in max_contracts_per_instrument.limits; "
                              "the block wins", root)
        manage = self.trade_management
        if manage.enabled and not (manage.auto_stop_loss or manage.auto_breakeven.enabled
                                   or manage.trailing_stop.enabled):
            yield Problem(("trade_management",), "enabled, but auto_stop_loss, auto_breakeven and "
                                                 "trailing_stop are all off, so it does nothing")
        if not self.auth_loss_guard.enabled:
            yield Problem(("auth_loss_guard", "enabled"), "disabled: when the platform stops the account "
                                                          "(canTrade false) nothing is flattened or locked",
                          False)
        if not self.daily_realized_loss.enabled:
            yield Problem(("daily_realized_loss", "enabled"), "disabled: there is no daily loss limit", False)

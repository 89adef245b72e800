"""The 12 rules as data: id, `risk_config.yaml` section key, human name, section model (one place)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from simple_risk_manager.config import rule_sections as sections


@dataclass(frozen=True, slots=True)
class RuleInfo:
    rule_id: str
    key: str
    name: str
    model: type[sections.RuleSection]


RULE_CATALOG: Final = (
    RuleInfo("RULE-001", "max_contracts", "Max Contracts", sections.MaxContracts),
    RuleInfo("RULE-002", "max_contracts_per_instrument", "Max Contracts Per Instrument",
             sections.MaxContractsPerInstrument),
    RuleInfo("RULE-003", "daily_realized_loss", "Daily Realized Loss", sections.DailyRealizedLoss),
    RuleInfo("RULE-004", "daily_unrealized_loss", "Daily Unrealized Loss", sections.DailyUnrealizedLoss),
    RuleInfo("RULE-005", "max_unrealized_profit", "Max Unrealized Profit", sections.MaxUnrealizedProfit),
    RuleInfo("RULE-006", "trade_frequency_limit", "Trade Frequency Limit", sections.TradeFrequencyLimit),
    RuleInfo("RULE-007", "cooldown_after_loss", "Cooldown After Loss", sections.CooldownAfterLoss),
    RuleInfo("RULE-008", "no_stop_loss_grace", "No Stop-Loss Grace", sections.NoStopLossGrace),
    RuleInfo("RULE-009", "session_block_outside", "Session Block Outside Hours",
             sections.SessionBlockOutside),
    RuleInfo("RULE-010", "auth_loss_guard", "Auth Loss Guard", sections.AuthLossGuard),
    RuleInfo("RULE-011", "symbol_blocks", "Symbol Blocks", sections.SymbolBlocks),
    RuleInfo("RULE-012", "trade_management", "Trade Management", sections.TradeManagement),
)


def rule_info(id_or_key: str) -> RuleInfo:
    """By rule id (`RULE-003`, any case) or section key (`daily_realized_loss`), as the Admin CLI accepts."""
    wanted = id_or_key.strip()
    for info in RULE_CATALOG:
        if wanted.upper() == info.rule_id or wanted == info.key:
            return info
    raise KeyError(f"unknown rule {id_or_key!r}: use RULE-001 … RULE-012 or a section key "
                   "such as daily_realized_loss")

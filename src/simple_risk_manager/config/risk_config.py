"""`risk_config.yaml`: global settings and the 12 rule sections (`config.md` §4.1–§4.2)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, ClassVar, Final

from pydantic import Field

from simple_risk_manager.config.base import ConfigModel, required
from simple_risk_manager.config.fields import (
    Flag,
    IsoDate,
    ListOf,
    SymbolRoot,
    TimeOfDay,
    Version,
    ZoneName,
    int_in,
)
from simple_risk_manager.config.issues import Problem
from simple_risk_manager.config.rule_sections import RulesConfig, duplicates
from simple_risk_manager.state.contracts import DEFAULT_SYMBOL_ALIASES  # D-12, one definition

DEFAULT_TIMEZONE: Final = "America/Chicago"
DEFAULT_RESET_TIME: Final = "17:00"


class GlobalSettings(ConfigModel):
    timezone: ZoneName = DEFAULT_TIMEZONE
    daily_reset_time: TimeOfDay = DEFAULT_RESET_TIME
    include_fees: Flag = True
    max_quote_age_seconds: Annotated[int, int_in(1, 300)] = 10
    symbol_aliases: dict[SymbolRoot, SymbolRoot] = Field(default_factory=lambda: dict(DEFAULT_SYMBOL_ALIASES))
    holidays: Annotated[tuple[IsoDate, ...], ListOf] = ()

    legacy_keys: ClassVar[Mapping[str, str]] = {
        "strict_mode": "removed: it had no defined meaning, every check is always strict (D-41)",
        "logging_level": "removed: set the log level in logging.yaml (level: INFO) (D-41)",
    }

    def problems(self) -> Iterator[Problem]:
        for alias, target in self.symbol_aliases.items():
            if target == alias:
                yield Problem(("symbol_aliases", alias), "maps to itself; remove it", target)
            elif target in self.symbol_aliases:
                yield Problem(("symbol_aliases", alias),
                              f"alias chain: {target} is itself an alias of {self.symbol_aliases[target]}; "
                              f"map {alias} directly to the final root", target)
        for problem in duplicates(self.holidays, ("holidays",)):
            yield problem.under(("holidays",))


class RiskConfig(ConfigModel):
    version: Version = 1
    global_: GlobalSettings = Field(default_factory=GlobalSettings, alias="global")
    rules: RulesConfig = required("missing; the rules mapping with all 12 rule sections is required")

"""Properties every rule keeps (hypothesis): money limits trigger when reached, counts when exceeded (D-06),
and a rule's answer does not depend on the order in which the positions were opened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.rules.base import AccountView, RuleResult
from simple_risk_manager.rules.cooldown_after_loss import CooldownAfterLossRule
from simple_risk_manager.rules.daily_realized_loss import DailyRealizedLossRule
from simple_risk_manager.rules.daily_unrealized_loss import DailyUnrealizedLossRule
from simple_risk_manager.rules.events import RuleEvent, Sweep
from simple_risk_manager.rules.max_contracts import MaxContractsRule
from simple_risk_manager.rules.max_contracts_per_instrument import MaxContractsPerInstrumentRule
from simple_risk_manager.rules.max_unrealized_profit import MaxUnrealizedProfitRule
from simple_risk_manager.rules.no_stop_loss_grace import NoStopLossGraceRule
from simple_risk_manager.rules.session_block_outside import SessionBlockOutsideRule
from simple_risk_manager.rules.symbol_blocks import SymbolBlocksRule
from simple_risk_manager.rules.trade_frequency_limit import TradeFrequencyLimitRule
from simple_risk_manager.rules.trade_management import TradeManagementRule

from .world import ES, M2K, MES, MNQ, MNQ_H26, NQ, RTY, World, chicago, metadata

PROPERTY = settings(max_examples=40, deadline=None)
CENTS = st.integers(min_value=1, max_value=100_000_000).map(lambda c: Decimal(c) / 100)  # 0.01 … 1 000 000
ONE_CENT = Decimal("0.01")
CONTRACTS = (MNQ, MNQ_H26, MES, ES, NQ, RTY, M2K)


def _breaches(result: RuleResult) -> list[A]:
    return [d.action for d in result.decisions]


# --- money limits: inclusive ------------------------------------------------------------------------

@PROPERTY
@given(limit=CENTS)
def test_rule_003_daily_realized_loss_triggers_exactly_at_the_limit(limit: Decimal) -> None:
    def day_at(pnl: Decimal) -> list[A]:
        world = World()
        world.configure_global(include_fees=False)
        world.configure("daily_realized_loss", loss_limit=limit)
        return _breaches(DailyRealizedLossRule().evaluate(world.view(), world.fill(MNQ, "sell", 1, 21000,
                                                                                     pnl=pnl)))

    assert day_at(-limit) == [A.CLOSE_ALL_AND_LOCKOUT]
    assert day_at(-limit + ONE_CENT) == []


@PROPERTY
@given(loss=CENTS.filter(lambda amount: amount <= 300_000))
def test_rule_007_order_loss_triggers_exactly_at_the_tier(loss: Decimal) -> None:
    def trade_at(pnl: Decimal) -> list[A]:
        world = World()
        world.configure_global(include_fees=False)
        tier = {"loss_amount": loss, "cooldown_duration": 60}
        world.configure("cooldown_after_loss", loss_thresholds=[tier])
        return _breaches(CooldownAfterLossRule().evaluate(world.view(), world.fill(MNQ, "sell", 1, 21000,
                                                                                     pnl=pnl)))

    assert trade_at(-loss) == [A.COOLDOWN]
    assert trade_at(-loss + ONE_CENT) == []


@PROPERTY
@given(contract=st.sampled_from(CONTRACTS), long=st.booleans(), size=st.integers(1, 10),
       ticks=st.integers(1, 4000), profit=st.booleans())
def test_rules_004_005_unrealized_thresholds_trigger_exactly_when_reached(
        contract: str, long: bool, size: int, ticks: int, profit: bool) -> None:
    meta = metadata(contract)
    threshold = ticks * meta.tick_value * size  # exactly `ticks` ticks against (or for) the position
    avg = Decimal(5000)
    direction = (1 if long else -1) * (1 if profit else -1)

    def upnl_after(moved_ticks: int) -> list[A]:
        world = World()
        if profit:
            world.configure("max_unrealized_profit", profit_target=threshold)
            rule: Any = MaxUnrealizedProfitRule()
        else:
            world.configure("daily_unrealized_loss", loss_limit=threshold)
            rule = DailyUnrealizedLossRule()
        world.open_position(contract, "long" if long else "short", size, avg)
        event = world.quote(contract, last=avg + direction * moved_ticks * meta.tick_size)
        return _breaches(rule.evaluate(world.view(), event))

    assert upnl_after(ticks) == [A.CLOSE_POSITION]
    assert upnl_after(ticks - 1) == []


# --- counts: strict ---------------------------------------------------------------------------------

@PROPERTY
@given(limit=st.integers(1, 30), split=st.lists(st.sampled_from(CONTRACTS[:5]), min_size=1, max_size=4))
def test_rule_001_contract_count_triggers_only_above_the_limit(limit: int, split: list[str]) -> None:
    def holding(total: int) -> list[A]:
        world = World()
        world.configure("max_contracts", limit=limit)
        sizes = {c: 0 for c in split}
        for index in range(total):  # spread `total` contracts over the chosen contracts
            sizes[split[index % len(split)]] += 1
        for contract, size in sizes.items():
            if size:
                world.open_position(contract, "long", size, 5000)
        return _breaches(MaxContractsRule().evaluate(world.view(), Sweep()))

    assert holding(limit) == []
    assert holding(limit + 1) == [A.CLOSE_ALL_POSITIONS]


@PROPERTY
@given(limit=st.integers(1, 30), front=st.integers(0, 31))
def test_rule_002_root_count_triggers_only_above_its_limit(limit: int, front: int) -> None:
    def holding(total: int) -> list[A]:
        world = World()
        world.configure("max_contracts_per_instrument", limits={"MNQ": limit}, enforcement="reduce_to_limit")
        in_front = min(front, total)
        if in_front:
            world.open_position(MNQ, "long", in_front, 21000)
        if total - in_front:
            world.open_position(MNQ_H26, "long", total - in_front, 21100)  # same root, next expiry
        return _breaches(MaxContractsPerInstrumentRule().evaluate(world.view(), Sweep()))

    assert holding(limit) == []
    assert set(holding(limit + 1)) == {A.REDUCE_TO_LIMIT}


@PROPERTY
@given(limit=st.integers(1, 12))
def test_rule_006_trades_per_minute_trigger_only_above_the_limit(limit: int) -> None:
    def trading(trades: int) -> list[A]:
        world = World(now=chicago(2025, 11, 24, 9))
        world.configure("trade_frequency_limit", limits={"per_minute": limit, "per_hour": None,
                                                         "per_session": None})
        start, result = world.now, RuleResult()
        for index in range(trades):  # all inside one rolling minute
            world.now = start + timedelta(seconds=index)
            result = TradeFrequencyLimitRule().evaluate(world.view(), world.fill(MNQ, "buy", 1, 21000))
        return _breaches(result)

    assert trading(limit) == []
    assert trading(limit + 1) == [A.COOLDOWN]


# --- order independence -------------------------------------------------------------------------------

POSITION_RULES: tuple[Callable[[], Any], ...] = (
    MaxContractsRule, MaxContractsPerInstrumentRule, DailyUnrealizedLossRule, MaxUnrealizedProfitRule,
    NoStopLossGraceRule, SessionBlockOutsideRule, SymbolBlocksRule, TradeManagementRule,
)

_POSITION = st.tuples(st.booleans(), st.integers(1, 4), st.integers(-400, 400))


@PROPERTY
@given(held=st.dictionaries(st.sampled_from(CONTRACTS), _POSITION, min_size=1, max_size=len(CONTRACTS)),
       order=st.randoms(use_true_random=False), outside_session=st.booleans())
def test_results_do_not_depend_on_the_order_positions_were_opened(
        held: dict[str, tuple[bool, int, int]], order: Any, outside_session: bool) -> None:
    contracts = sorted(held)
    shuffled = list(contracts)
    order.shuffle(shuffled)
    now = chicago(2025, 11, 24, 16 if outside_session else 10)

    def view_after(opening_order: list[str]) -> AccountView:
        world = World(now=now)
        world.configure("max_contracts", enforcement="reduce_to_limit")
        world.configure("trade_management", enabled=True)
        for contract in opening_order:
            long, size, move = held[contract]
            avg = Decimal(5000)
            world.open_position(contract, "long" if long else "short", size, avg,
                                position_id=CONTRACTS.index(contract) + 1)
            world.quote(contract, last=avg + move * metadata(contract).tick_size)
        return world.view()

    first, second = view_after(contracts), view_after(shuffled)
    event: RuleEvent = Sweep()  # the event on which every position rule looks at the whole account
    for make in POSITION_RULES:
        rule = make()
        a, b = rule.evaluate(first, event), rule.evaluate(second, event)
        assert a == b, f"{rule.rule_id} depends on the opening order {shuffled}"

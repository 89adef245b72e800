"""In-memory trackers (MOD-002 … MOD-009): plain objects without I/O, mutated only by the dispatcher."""

# MOD-002 lockouts, MOD-003 timers, MOD-004 calendar and reset scheduler (explicit re-exports)
from simple_risk_manager.state.calendar import SessionConfig as SessionConfig
from simple_risk_manager.state.calendar import in_session as in_session
from simple_risk_manager.state.calendar import is_holiday as is_holiday
from simple_risk_manager.state.calendar import next_reset_after as next_reset_after
from simple_risk_manager.state.calendar import next_session_end as next_session_end
from simple_risk_manager.state.calendar import next_session_start as next_session_start
from simple_risk_manager.state.calendar import reset_instant as reset_instant
from simple_risk_manager.state.calendar import session_start as session_start
from simple_risk_manager.state.calendar import trading_day_of as trading_day_of
from simple_risk_manager.state.lockouts import LockChange as LockChange
from simple_risk_manager.state.lockouts import LockoutManager as LockoutManager
from simple_risk_manager.state.lockouts import TradingState as TradingState
from simple_risk_manager.state.lockouts import TradingStatus as TradingStatus
from simple_risk_manager.state.reset_schedule import ResetConfig as ResetConfig
from simple_risk_manager.state.reset_schedule import ResetOutcome as ResetOutcome
from simple_risk_manager.state.reset_schedule import ResetScheduler as ResetScheduler
from simple_risk_manager.state.timers import TimerManager as TimerManager
from simple_risk_manager.state.timers import grace_timer_name as grace_timer_name
from simple_risk_manager.state.timers import lockout_timer_name as lockout_timer_name
from simple_risk_manager.state.timers import reset_timer_name as reset_timer_name
from simple_risk_manager.state.timers import session_end_timer_name as session_end_timer_name

# isort: split
# MOD-005 P&L, MOD-006 quotes, MOD-007 contracts, MOD-008 trade counter, MOD-009 state mirror
from simple_risk_manager.state.contracts import DEFAULT_SYMBOL_ALIASES as DEFAULT_SYMBOL_ALIASES
from simple_risk_manager.state.contracts import ContractCache as ContractCache
from simple_risk_manager.state.contracts import symbol_root as symbol_root
from simple_risk_manager.state.pnl import AccountUpnl as AccountUpnl
from simple_risk_manager.state.pnl import FillEffect as FillEffect
from simple_risk_manager.state.pnl import FillOutcome as FillOutcome
from simple_risk_manager.state.pnl import PnlTracker as PnlTracker
from simple_risk_manager.state.pnl import account_upnl as account_upnl
from simple_risk_manager.state.pnl import position_upnl as position_upnl
from simple_risk_manager.state.positions import CanTradeChange as CanTradeChange
from simple_risk_manager.state.positions import CountType as CountType
from simple_risk_manager.state.positions import OrderChange as OrderChange
from simple_risk_manager.state.positions import PositionTransition as PositionTransition
from simple_risk_manager.state.positions import StateChanges as StateChanges
from simple_risk_manager.state.positions import StateManager as StateManager
from simple_risk_manager.state.quotes import QuoteTracker as QuoteTracker
from simple_risk_manager.state.quotes import SubscriptionChange as SubscriptionChange
from simple_risk_manager.state.quotes import is_quote_stale as is_quote_stale
from simple_risk_manager.state.trade_counter import FillCount as FillCount
from simple_risk_manager.state.trade_counter import TradeCounter as TradeCounter
from simple_risk_manager.state.trade_counter import TradeCounts as TradeCounts

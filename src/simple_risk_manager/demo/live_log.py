"""The demo's readable live log: one line per broadcast message (`broadcast-api.md` §4–§5), plus the
scripted trader's narration and the demo's own notices.

    10:02:03  8003 Daily loss      RULE-003 CLOSE_ALL_AND_LOCKOUT - daily realized loss ... reached limit
              500.00 -> 1 position closed, locked until 22:02 CDT [SUCCESS, 14 ms]

Times are shown in the demo's zone. Output is plain ASCII so it prints on any console. Quotes are not
logged (they would drown everything else); the trader's narration names every price it sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TextIO
from zoneinfo import ZoneInfo

from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.clock import Clock
from simple_risk_manager.domain.times import parse_utc

_ACCOUNT_WIDTH: Final = 20
_CENT: Final = Decimal("0.01")
#: Market orders are shown through their fill and position lines; their order events only when unusual.
_MARKET_ORDER_SHOWN: Final = frozenset({"CANCELLED", "REJECTED", "EXPIRED"})
_ASCII: Final = str.maketrans({"→": "->", "←": "<-", "≥": ">=", "≤": "<=", "–": "-", "—": "-", "×": "x",
                               "…": "...", "•": "*", "−": "-", "\u00a0": " "})


def money(value: Any) -> str:
    """A JSON number as money: two decimals, exact (`-562.5` → `-562.50`)."""
    return str(Decimal(str(value)).quantize(_CENT))


def signed_money(value: Any) -> str:
    amount = Decimal(str(value)).quantize(_CENT)
    return f"+{amount}" if amount > 0 else str(amount)


def price(value: Any) -> str:
    """At least two decimals, as a platform shows prices (`21000` → `21000.00`, `2400.1` → `2400.10`)."""
    amount = Decimal(str(value))
    exponent = amount.as_tuple().exponent
    return str(amount if isinstance(exponent, int) and exponent < -2 else amount.quantize(_CENT))


def ascii_text(text: str) -> str:
    """The daemon's reasons use a few typographic symbols; the log stays ASCII on every console."""
    return text.translate(_ASCII).encode("ascii", "replace").decode("ascii")


def contract_name(contract_id: Any) -> str:
    """`CON.F.US.MES.Z26` → `MES Z26`; anything else unchanged."""
    parts = str(contract_id).split(".")
    return f"{parts[3]} {parts[4]}" if len(parts) == 5 else str(contract_id)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class LogFormat:
    """Turns messages into lines; knows the zone and the account nicknames (from `hello`)."""

    def __init__(self, zone: ZoneInfo, nicknames: Mapping[int, str] | None = None) -> None:
        self.zone = zone
        self.nicknames: dict[int, str] = dict(nicknames or {})

    # --- pieces ------------------------------------------------------------------------------------

    def clock_time(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).strftime("%H:%M:%S")

    def until(self, text: Any, reference: datetime) -> str:
        """A lock end in local time (seconds only when it has some, as a cooldown's end does); the
        weekday too when it is not on the reference's local day."""
        local = parse_utc(str(text)).astimezone(self.zone)
        clock = "%H:%M:%S" if local.second or local.microsecond else "%H:%M"
        same_day = local.date() == reference.astimezone(self.zone).date()
        return local.strftime(f"{clock} %Z" if same_day else f"%a {clock} %Z")

    def account(self, account_id: int | None) -> str:
        if account_id is None:
            return " " * _ACCOUNT_WIDTH
        label = f"{account_id} {self.nicknames.get(account_id, '')}".rstrip()
        return label[:_ACCOUNT_WIDTH].ljust(_ACCOUNT_WIDTH)

    def line(self, instant: datetime, account_id: int | None, text: str) -> str:
        return ascii_text(f"{self.clock_time(instant)}  {self.account(account_id)}  {text}")

    # --- messages ----------------------------------------------------------------------------------

    def lines(self, message: Message) -> list[str]:
        """The log lines of one message; none for quotes and unknown types."""
        if message.type == "hello":
            self.nicknames.update({int(a["account_id"]): a.get("nickname") or ""
                                   for a in message.data.get("accounts", [])})
        at = parse_utc(message.ts)
        if message.type == "snapshot":
            return [self.line(at, account.get("account_id"), text)
                    for account in message.data.get("accounts", [])
                    for text in self._snapshot_account(account, at)]
        text = self.text(message, at)
        return [] if text is None else [self.line(at, message.account_id, text)]

    def describe(self, message: Message) -> str | None:
        """The line text of one message without time and account (the summary's headlines)."""
        text = self.text(message, parse_utc(message.ts))
        return None if text is None else ascii_text(text)

    def text(self, message: Message, at: datetime) -> str | None:
        data = message.data
        match message.type:
            case "hello":
                return (f"connected to daemon {data.get('daemon_version')} (run {data.get('run_id')}), "
                        f"{plural(len(data.get('accounts', [])), 'account')}")
            case "daemon_status":
                hubs = data.get("hubs") or {}
                return (f"daemon {data.get('status')} - {data.get('message')} (user hub {hubs.get('user')}, "
                        f"market hub {hubs.get('market')})")
            case "error":
                return f"daemon refused a request: {data.get('code')}: {data.get('message')}"
            case "GatewayUserTrade":
                return self._trade(data)
            case "GatewayUserPosition":
                return self._position(data)
            case "GatewayUserOrder":
                return self._order(data)
            case "lockout_set":
                until = ("until the broker re-enables trading" if data.get("locked_until") is None
                         else f"until {self.until(data['locked_until'], at)}")
                return f"LOCKED by {data.get('rule_id')} {until} ({data.get('kind')}) - {data.get('reason')}"
            case "lockout_cleared":
                after = "account still locked" if data.get("still_locked") else "trading allowed again"
                return f"lock of {data.get('rule_id')} lifted ({data.get('cleared_by')}); {after}"
            case "enforcement_action":
                return self._enforcement(data, at)
            case "daily_reset":
                return (f"new trading day {data.get('trading_date')}: previous day "
                        f"{signed_money(data.get('previous_realized_pnl', 0))} over "
                        f"{plural(int(data.get('previous_trade_count', 0)), 'trade')}")
        return None  # MarketQuote (not logged) and types this version does not know

    def _trade(self, data: Mapping[str, Any]) -> str:
        pnl = data.get("profit_and_loss")
        result = "opening" if pnl is None else f"P&L {signed_money(pnl)}"
        voided = " VOIDED" if data.get("voided") else ""
        return (f"fill {data.get('side')} {data.get('size')} {contract_name(data.get('contract_id'))} @ "
                f"{price(data.get('price'))}{voided} ({result}, fees {money(data.get('fees') or 0)}) -> day "
                f"{signed_money(data.get('daily_realized_pnl') or 0)}, "
                f"{plural(int(data.get('trade_count') or 0), 'trade')}")

    def _position(self, data: Mapping[str, Any]) -> str:
        name = contract_name(data.get("contract_id"))
        if not data.get("size"):
            return f"position {name} closed"
        stop = ", protected by a stop" if data.get("has_stop") else ""
        average = price(data.get("average_price"))
        return f"position {data.get('type')} {data.get('size')} {name} @ {average}{stop}"

    def _order(self, data: Mapping[str, Any]) -> str | None:
        status = str(data.get("status"))
        if data.get("type") == "MARKET" and status not in _MARKET_ORDER_SHOWN:
            return None
        prices = "".join(f" {label} {price(data[key])}" for key, label in
                         (("limit_price", "limit"), ("stop_price", "stop")) if data.get(key) is not None)
        filled = f" @ {price(data['fill_price'])}" if status == "FILLED" and data.get("fill_price") else ""
        tag = " (stop-loss)" if data.get("is_stop_loss") else ""
        return (f"order {data.get('order_id')} {data.get('side')} {data.get('type')} {data.get('size')} "
                f"{contract_name(data.get('contract_id'))}{prices} {status}{filled}{tag}")

    def _enforcement(self, data: Mapping[str, Any], at: datetime) -> str:
        details: Mapping[str, Any] = data.get("details") or {}
        effects = []
        if details.get("positions_closed"):
            effects.append(f"{plural(int(details['positions_closed']), 'position')} closed")
        if details.get("orders_cancelled"):
            effects.append(f"{plural(int(details['orders_cancelled']), 'order')} cancelled")
        if details.get("lockout_until"):
            effects.append(f"locked until {self.until(details['lockout_until'], at)}")
        result = f" -> {', '.join(effects)}" if effects else ""
        outcome = str(data.get("outcome"))
        elapsed = data.get("execution_time_ms")
        status = outcome if elapsed is None else f"{outcome}, {elapsed} ms"
        error = f": {details['error']}" if outcome == "FAILED" and details.get("error") else ""
        return f"{data.get('rule_id')} {data.get('action')} - {data.get('reason')}{result} [{status}{error}]"

    def _snapshot_account(self, account: Mapping[str, Any], at: datetime) -> list[str]:
        positions = account.get("positions") or []
        state = (f"realized {signed_money(account.get('realized_pnl') or 0)}, "
                 f"{plural(len(positions), 'open position')}")
        locks = [f"locked by {lock.get('rule_id')} "
                 + ("until the broker re-enables trading" if lock.get("locked_until") is None
                    else f"until {self.until(lock['locked_until'], at)}")
                 for lock in account.get("lockouts") or []]
        return [f"snapshot: {state}; " + ("; ".join(locks) if locks else "not locked")]


class LiveLog:
    """The plain view of `srm demo`: prints every line as it happens (see `DemoView`)."""

    def __init__(self, stream: TextIO, zone: ZoneInfo, clock: Clock,
                 format_: LogFormat | None = None) -> None:
        """`format_`: one shared with another log of the same run (it learns the nicknames)."""
        self.format = format_ or LogFormat(zone)
        self._stream = stream
        self._clock = clock
        self._daemon_state: tuple[Any, ...] | None = None

    def _write(self, lines: list[str]) -> None:
        if lines:
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()

    def notice(self, text: str) -> None:
        self._write([self.format.line(self._clock.now(), None, text)])

    def narrate(self, account_id: int, text: str) -> None:
        self._write([self.format.line(self._clock.now(), account_id, f"trader: {text}")])

    def message(self, message: Message) -> None:
        if message.type == "daemon_status":  # heartbeats every 10 s: show changes only
            hubs = message.data.get("hubs") or {}
            state = (message.data.get("status"), hubs.get("user"), hubs.get("market"))
            if state == self._daemon_state:
                return
            self._daemon_state = state
        self._write(self.format.lines(message))

    def summary(self, lines: list[str]) -> None:
        self._write(["", *lines])

"""Typed events: what the gateway client hands to the daemon after parsing the wire exactly once.

Each user-hub event carries one parsed domain object; quotes are partial (the quote tracker merges
them). Connection events let the daemon reconcile after every (re)connect and let RULE-010 alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from simple_risk_manager.domain.models import Account, Order, Position, Quote, Trade


@dataclass(frozen=True, slots=True)
class AccountUpdated:
    account: Account


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    order: Order


@dataclass(frozen=True, slots=True)
class PositionUpdated:
    position: Position


@dataclass(frozen=True, slots=True)
class TradeReceived:
    trade: Trade


@dataclass(frozen=True, slots=True)
class QuoteUpdated:
    """A GatewayQuote; fields the gateway did not send are None and keep their previous value."""

    quote: Quote


@dataclass(frozen=True, slots=True)
class HubConnectionChanged:
    """A hub connected (first time or again: the daemon reconciles) or was lost.

    `hub` is "user" or "market"; `login` names the credential set (the username, never the key).
    """

    hub: str
    login: str
    connected: bool
    at: datetime
    reconnect: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SessionLoggedOut:
    """GatewayLogout: the session was taken over elsewhere; re-authenticate and reconnect."""

    hub: str
    login: str
    at: datetime


GatewayEvent = (AccountUpdated | OrderUpdated | PositionUpdated | TradeReceived | QuoteUpdated
                | HubConnectionChanged | SessionLoggedOut)

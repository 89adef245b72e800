"""The local WebSocket feed for the dashboards (`broadcast-api.md`): the daemon's server, what it
reads from the daemon, and a small client for the Trader CLI."""

from simple_risk_manager.broadcast.client import BroadcastClient, Disconnected, reconnect_delay
from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.broadcast.provider import AccountRef, SnapshotProvider
from simple_risk_manager.broadcast.server import BroadcastServer

__all__ = [
    "AccountRef",
    "BroadcastClient",
    "BroadcastServer",
    "Disconnected",
    "Message",
    "SnapshotProvider",
    "reconnect_delay",
]

"""The ProjectX gateway client: what the engine calls (`base.Gateway`) and its implementation."""

from simple_risk_manager.gateway.auth import Credentials
from simple_risk_manager.gateway.base import (
    AuthenticationFailed,
    BadRequest,
    Gateway,
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    HubInvocationFailed,
    LoginOutcome,
    RateLimited,
    Unauthorized,
)
from simple_risk_manager.gateway.hubs import HubOptions
from simple_risk_manager.gateway.projectx import GatewaySettings, ProjectXGateway
from simple_risk_manager.gateway.reconcile import ReconcileResult, apply_reconcile, fetch_reconcile

__all__ = [
    "AuthenticationFailed",
    "BadRequest",
    "Credentials",
    "Gateway",
    "GatewayError",
    "GatewayRejected",
    "GatewaySettings",
    "GatewayUnavailable",
    "HubInvocationFailed",
    "HubOptions",
    "LoginOutcome",
    "ProjectXGateway",
    "RateLimited",
    "ReconcileResult",
    "Unauthorized",
    "apply_reconcile",
    "fetch_reconcile",
]

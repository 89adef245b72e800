"""Simple Risk Manager: a real-time risk guard for TopstepX / ProjectX Gateway accounts."""

__version__ = "0.1.0"

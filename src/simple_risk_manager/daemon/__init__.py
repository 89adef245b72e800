"""The daemon process, `srm run` (`daemon.md`): it wires the gateway, the engine, the store and the
broadcast server, runs them on one event loop and owns start-up, shutdown and the crash path."""

from simple_risk_manager.daemon.process import Daemon, run_daemon
from simple_risk_manager.daemon.summary import PREFIX

__all__ = ["PREFIX", "Daemon", "run_daemon"]

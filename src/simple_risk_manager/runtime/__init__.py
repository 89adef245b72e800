"""Process plumbing for `srm run` and the CLIs: directories, exit codes, the instance lock, logging,
systemd notification and shutdown signals (`daemon.md` §1–§3, §8).

Modules are imported directly (``from simple_risk_manager.runtime.paths import resolve_directories``);
this package re-exports nothing so that `config` can use `paths` without importing logging setup.
"""

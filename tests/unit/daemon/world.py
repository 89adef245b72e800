"""The rule tests' `World` (real trackers, validated config, real `AccountView`), loaded from its file so
the daemon's tests build accounts exactly as the rule tests do, without a copy."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "rules" / "world.py"
_NAME = "daemon_tests_rule_world"


def _load() -> object:
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


world = _load()

from __future__ import annotations

from pathlib import Path

import pytest

from .fakes import AdminHarness


@pytest.fixture
def harness(tmp_path: Path) -> AdminHarness:
    """Shipped risk_config.yaml, the template as accounts.yaml, and an admin password set."""
    h = AdminHarness(tmp_path)
    h.install_shipped()
    return h

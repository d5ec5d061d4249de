"""The report tests read hand-built payloads and load no model."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _import_once() -> None:
    """Overrides tests/gate_project.py's bitsandbytes import (tens of seconds) for this folder only."""

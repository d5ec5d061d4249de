"""Fault tests load no bitsandbytes model in this process: skip the session-wide bitsandbytes import
of tests/conftest.py."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _import_once() -> None:
    """Overrides the fixture of the same name in tests/gate_project.py (pytester runs only)."""

"""The project's one plugin list: medcheck's pytest plugin (fixtures/) and pytester for tests/.

With medcheck installed (`pip install -e .` or `pip install .`), fixtures/ is the package
`medcheck_pytest`, which pytest has already registered through its `pytest11` entry point: its
modules are listed under that name, so pytest sees them registered and nothing registers twice.
In a checkout without an install they come from fixtures/.
"""

try:
    from medcheck_pytest.plugin import pytest_plugins as _medcheck
except ModuleNotFoundError:
    from fixtures.plugin import pytest_plugins as _medcheck

pytest_plugins = [*_medcheck, "pytester"]

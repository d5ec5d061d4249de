"""Closed --medcheck-* options take their choices from the registries, and refuse anything else before
a model loads; a project without a pairs file runs its own tests with the plugin off."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medcheck.backends import BACKENDS
from medcheck.settings import DEVICES, DTYPES, PROFILES, PROTOCOLS
from medcheck.strategies import STRATEGIES
from tests.gate_project import REPO, plugin_help

CLOSED = {"--medcheck-profile": list(PROFILES), "--medcheck-protocol": list(PROTOCOLS),
          "--medcheck-dtype": list(DTYPES), "--medcheck-device": list(DEVICES),
          "--medcheck-backend": list(BACKENDS), "--medcheck-strategy": list(STRATEGIES)}


@pytest.mark.parametrize("option", list(CLOSED))
def test_help_lists_the_registry_as_choices(option):
    assert f"  {option}={{{','.join(CLOSED[option])}}}" in plugin_help()


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """An empty project with the repo's plugin list and one plain test of its own."""
    shutil.copy(REPO / "conftest.py", pytester.path / "conftest.py")
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    return pytester


@pytest.mark.parametrize("option", list(CLOSED))
def test_a_value_outside_the_choices_is_a_usage_error(project, option):
    result = project.runpytest_inprocess(option, "nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert f"argument {option}: invalid choice: 'nosuch'" in err
    assert all(repr(choice) in err for choice in CLOSED[option])


def test_without_a_pairs_file_the_plugin_is_off_and_says_so(project):
    result = project.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["medcheck: off: no suites/pairs/default.yaml under *"])


def test_a_medcheck_option_without_a_pairs_file_says_what_is_missing(project):
    result = project.runpytest_inprocess("--medcheck-limit", "3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{Path('suites', 'pairs', 'default.yaml')}: pairs file not found" in result.stderr.str()

"""The README says what the code does: its options table against the options the plugin adds
(`pytest --help` with the repo's plugin list), its extras against pyproject.toml, its environment
variables against the ones the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

from tests.gate_project import plugin_help

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
OPTION_ROW = re.compile(r"^\| `(--medcheck-[a-z0-9-]+)([^`]*)`", re.MULTILINE)


def _help_options() -> dict[str, list[str] | None]:
    """--medcheck-* option -> its choices (None for an open option), as pytest --help lists them."""
    found: dict[str, list[str] | None] = {}
    for name, choices in re.findall(r"^ {2}(--medcheck-[a-z0-9-]+)(?:=\{([^}]*)\})?", plugin_help(), re.MULTILINE):
        found[name] = choices.split(",") if choices else None
    assert found, "pytest --help lists no --medcheck-* option: is the plugin registered?"
    return found


def _table_rows() -> dict[str, str]:
    """--medcheck-* option -> what follows its name in the first cell of its README table row."""
    rows: dict[str, str] = {}
    for name, rest in OPTION_ROW.findall(README):
        assert name not in rows, f"README's options table has two rows for {name}"
        rows[name] = rest
    return rows


def test_every_option_has_a_readme_row_and_every_row_an_option():
    options, rows = _help_options(), _table_rows()
    missing = sorted(set(options) - set(rows))
    stale = sorted(set(rows) - set(options))
    assert not missing, f"options the plugin adds but README's options table lacks: {missing} (add a row each)"
    assert not stale, f"README's options table names options the plugin does not add: {stale} (remove the rows)"


def test_closed_options_list_their_choices_in_the_readme():
    rows = _table_rows()
    for name, choices in _help_options().items():
        if choices is None:
            continue
        listed = rows[name].strip().replace("\\|", "|").split("|")
        wanted = "\\|".join(choices)
        assert listed == choices, (f"README's row for {name} lists {'|'.join(listed)!r}; the option accepts "
                                   f"{'|'.join(choices)!r} (write `{name} {wanted}`)")


def test_readme_extras_are_pyproject_extras():
    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    line = re.search(r"^- Extras: (.*?)(?=^\S|^- |\n\n)", README, re.MULTILINE | re.DOTALL)
    assert line, "README has no '- Extras: ...' list (under 'Which torch')"
    named = {w for w in re.findall(r"`([a-z0-9-]+)`", line.group(1)) if not w.startswith(("bnb-", "gptq-", "awq-"))}
    assert named == extras, (f"README's extras {sorted(named)} differ from pyproject.toml's {sorted(extras)}: "
                             "name each extra once, with what it brings")


def test_every_environment_variable_the_code_reads_is_in_the_readme():
    sources = [*REPO.glob("medcheck/**/*.py"), *REPO.glob("fixtures/*.py")]
    used = {v for path in sources for v in re.findall(r"\bMEDCHECK_[A-Z_]+\b", path.read_text(encoding="utf-8"))}
    table = set(re.findall(r"^\| `(MEDCHECK_[A-Z_]+)`", README, re.MULTILINE))
    assert used, "no MEDCHECK_* variable found in medcheck/ or fixtures/"
    assert not used - table, f"variables the code reads but README's variables table lacks: {sorted(used - table)}"
    assert not table - used, f"README's variables table names variables no code reads: {sorted(table - used)}"

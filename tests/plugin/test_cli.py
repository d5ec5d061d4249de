"""The `medcheck` command line: --version, help with a description and examples per subcommand,
`medcheck ls`, and --cache-dir / --data-dir before or after the subcommand, from the environment too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medcheck import __version__, datasets, tracks
from medcheck.__main__ import COMMANDS, build_parser, main
from medcheck.backends import BACKENDS
from medcheck.compression import RECIPES
from medcheck.datasets import SAMPLES_DIR

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m medcheck ARGS` in a fresh process (what the console script runs)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("MEDCHECK_DATA_DIR", "MEDCHECK_CACHE_DIR")}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "medcheck", *args], capture_output=True, text=True, timeout=300,
                          env={**environ, **(env or {})})


def test_version():
    done = _cli("--version")
    assert done.returncode == 0 and done.stdout.startswith(f"medcheck {__version__} from "), done.stdout + done.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_subcommand_has_a_description_and_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert COMMANDS[command][1].split()[0] in out and "examples:" in out and f"medcheck {command}" in out
    assert "--cache-dir DIR" in out and "--data-dir DIR" in out


def test_ls_lists_every_track_dataset_compression_and_backend_without_torch():
    code = ("import io, json, sys, contextlib\nfrom medcheck.__main__ import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n    code = main(['ls', '--json'])\n"
            "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules, 'ls': json.loads(out.getvalue())}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["code"] == 0 and not result["torch"], "medcheck ls imported torch"
    listing = result["ls"]
    assert [t["name"] for t in listing["tracks"]] == list(tracks.TRACKS)
    assert [d["id"] for d in listing["datasets"]] == datasets.dataset_ids()
    assert all(d["sample_items"] > 0 and d["looks_for"] for d in listing["datasets"])
    assert [c["name"] for c in listing["compressions"]][:len(RECIPES)] == list(RECIPES)
    assert [b["name"] for b in listing["backends"]] == list(BACKENDS)
    medbullets = next(d for d in listing["datasets"] if d["id"] == "medbullets_op5")
    assert "medbullets/medbullets_op5.csv" in medbullets["looks_for"]


def test_ls_counts_items_in_the_data_dir_given_before_or_after_the_command(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLES_DIR / "pubmed_qa", data / "pubmed_qa")
    expected = datasets.load("pubmed_qa").total
    for args in (["ls", "datasets", "--data-dir", str(data)], ["--data-dir", str(data), "ls", "datasets"]):
        done = _cli(*args)
        assert done.returncode == 0, done.stderr
        rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[5:] if line.strip()}
        assert rows["pubmed_qa"][4] == str(expected) and rows["medqa"][4] == "missing"
        assert f"data dir:  {data}" in done.stdout


def test_environment_variables_are_the_defaults_and_options_win(tmp_path):
    env = {"MEDCHECK_DATA_DIR": str(tmp_path), "MEDCHECK_CACHE_DIR": str(tmp_path / "cache")}
    done = _cli("ls", "backends", env=env)
    assert f"data dir:  {tmp_path}\ncache dir: {tmp_path / 'cache'}" in done.stdout, done.stdout + done.stderr
    done = _cli("--cache-dir", str(tmp_path / "other"), "ls", "backends", env=env)
    assert f"cache dir: {tmp_path / 'other'}" in done.stdout


@pytest.mark.parametrize("argv", [["--cache-dir", "A", "verify", "R"], ["verify", "R", "--cache-dir", "A"],
                                  ["verify", "--cache-dir", "A", "R"]])
def test_cache_dir_before_or_after_the_subcommand(argv):
    assert build_parser().parse_args(argv).cache_dir == Path("A")


def test_after_the_subcommand_wins_over_before():
    assert build_parser().parse_args(["--cache-dir", "A", "ls", "--cache-dir", "B"]).cache_dir == Path("B")


def test_ls_refuses_an_unknown_section_and_a_missing_data_dir(tmp_path, capsys):
    assert main(["ls", "dataset"]) == 2
    assert "did you mean datasets" in capsys.readouterr().err
    assert main(["ls", "--data-dir", str(tmp_path / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().err

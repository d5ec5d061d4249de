"""A build made where the building library is installed is found where it is not (a vLLM machine
loading what a build machine made); never one of another recipe, base or an unfinished build."""

from __future__ import annotations

import json
import os
from dataclasses import replace

from medcheck.compression import LoadOptions
from medcheck.compression.applied import MARKER, AppliedRecipe

BUILT = AppliedRecipe("gptq-w4", library="gptqmodel==7.6.0", params={"bits": 4, "group_size": 64}, calibrated=True)
HERE = replace(BUILT, library="gptqmodel==not-installed")


def _build(options: LoadOptions, recipe: AppliedRecipe, base: str, age: float = 0.0, finished: bool = True):
    key = recipe.cache_key(replace(options, base_fingerprint=base))
    folder = options.cache_dir / "compressed" / f"{recipe.name}-{key}"
    folder.mkdir(parents=True)
    if finished:
        (folder / MARKER).write_text(json.dumps({"recipe": recipe.describe(), "base_fingerprint": base}))
        os.utime(folder / MARKER, (1e9 + age, 1e9 + age))
    return folder


def test_a_build_of_any_library_version_is_used_where_the_library_is_missing(tmp_path):
    options = LoadOptions("float32", "cpu", cache_dir=tmp_path, base_fingerprint="base")
    older = _build(options, replace(BUILT, library="gptqmodel==7.5.0"), "base", age=0)
    newer = _build(options, BUILT, "base", age=10)
    _build(options, replace(BUILT, params={"bits": 4, "group_size": 128}), "base", age=20)   # another recipe
    _build(options, BUILT, "other-base", age=30)                                            # another base
    folder, marker = HERE.ensure_built("/dense", options)
    assert folder == newer != older and marker["recipe"]["library"] == "gptqmodel==7.6.0"


def test_nothing_finished_means_a_build_is_attempted(tmp_path):
    class Builds(AppliedRecipe):
        def build(self, dense_path, out, options):
            (out / "model.safetensors").write_text("built")

    options = LoadOptions("float32", "cpu", cache_dir=tmp_path, base_fingerprint="base")
    _build(options, BUILT, "base", finished=False)
    here = Builds(HERE.name, library=HERE.library, params=HERE.params, calibrated=True)
    folder, _ = here.ensure_built("/dense", options)
    assert (folder / "model.safetensors").read_text() == "built"
    assert json.loads((folder / MARKER).read_text())["recipe"]["library"] == "gptqmodel==not-installed"

"""Recipes applied to a dense model once, saved to the cache, and loaded from there afterwards.

The cache folder is keyed by the base model's fingerprint and the recipe's description (name,
parameters, library version, calibration set), so a changed input never reuses a stale model.
A build is written to `<key>.partial` and renamed when complete: an interrupted build is redone.
Where the building library is not installed (a vLLM machine loading what a build machine made),
a finished build of the same recipe on the same base is used whatever library version made it;
its marker, which the report carries, names that version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medcheck.compression import LoadOptions
from medcheck.compression.dense import load_pretrained
from medcheck.errors import ModelLoadError

logger = logging.getLogger(__name__)

MARKER = "medcheck-recipe.json"
NOT_INSTALLED = "==not-installed"   # the library part of a recipe whose builder is missing here


@dataclass(frozen=True)
class AppliedRecipe:
    """Subclasses implement `apply(model, tokenizer, calibration)` (in place) or override `build`."""

    name: str
    library: str = "medcheck"
    params: dict[str, Any] = field(default_factory=dict)
    calibrated: bool = False

    def describe(self) -> dict[str, Any]:
        from medcheck.compression.calibration import CALIBRATION_ID

        info = {"name": self.name, "library": self.library, "params": dict(self.params)}
        if self.calibrated:
            info["calibration"] = CALIBRATION_ID
        return info

    # -- what a subclass provides ---------------------------------------------------------------
    def apply(self, model: Any, tokenizer: Any, calibration: list[Any]) -> Any:
        raise NotImplementedError

    def build(self, dense_path: str, out: Path, options: LoadOptions) -> None:
        """Default: load the dense model in float32, apply, save as safetensors."""
        import torch
        from transformers import AutoTokenizer

        from medcheck.compression.calibration import calibration_batches

        torch.manual_seed(options.seed)
        tokenizer = AutoTokenizer.from_pretrained(dense_path)
        model = load_pretrained(dense_path, LoadOptions(dtype="float32", device=options.device,
                                                        allow_pickle=options.allow_pickle,
                                                        trust_remote_code=options.trust_remote_code))
        model.eval()
        batches = calibration_batches(tokenizer, seed=options.seed) if self.calibrated else []
        with torch.no_grad():
            model = self.apply(model, tokenizer, batches)
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)

    # -- shared machinery -----------------------------------------------------------------------
    def cache_key(self, options: LoadOptions) -> str:
        payload = json.dumps({"base": options.base_fingerprint, "recipe": self.describe()}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:20]

    def ensure_built(self, dense_path: str, options: LoadOptions) -> tuple[Path, dict[str, Any]]:
        """The compressed checkpoint folder, building it first if needed; and its marker."""
        if options.cache_dir is None:
            raise ModelLoadError(f"{self.name}: no cache dir to keep the compressed model in")
        out = options.cache_dir / "compressed" / f"{self.name}-{self.cache_key(options)}"
        if not (out / MARKER).is_file() and self.library.endswith(NOT_INSTALLED):
            out = self._built_elsewhere(options) or out
        if not (out / MARKER).is_file():
            tmp = out.with_name(out.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            logger.info("compressing with %s into %s (once)", self.name, out)
            t0 = time.perf_counter()
            self.build(dense_path, tmp, options)
            from medcheck.models import fingerprint_dir

            marker = {"recipe": self.describe(), "base_fingerprint": options.base_fingerprint,
                      "compress_seconds": round(time.perf_counter() - t0, 2),
                      "fingerprint": fingerprint_dir(tmp, options.cache_dir)}
            (tmp / MARKER).write_text(json.dumps(marker, indent=1))
            shutil.rmtree(out, ignore_errors=True)
            os.replace(tmp, out)
        return out, json.loads((out / MARKER).read_text())

    def _built_elsewhere(self, options: LoadOptions) -> Path | None:
        """The newest finished build of this recipe on this base, made by any version of its library."""
        want = {k: v for k, v in self.describe().items() if k != "library"}
        found = []
        for marker in (options.cache_dir or Path()).glob(f"compressed/{self.name}-*/{MARKER}"):
            try:
                made = json.loads(marker.read_text())
            except (OSError, ValueError):
                continue
            recipe = {k: v for k, v in (made.get("recipe") or {}).items() if k != "library"}
            if recipe == want and made.get("base_fingerprint") == options.base_fingerprint:
                found.append((marker.stat().st_mtime, marker.parent))
        return max(found)[1] if found else None

    def built_marker(self, checkpoint: str, options: LoadOptions) -> dict[str, Any]:
        """What the build recorded (compression time, fingerprint), for the report."""
        return self.ensure_built(checkpoint, options)[1]

    def load(self, checkpoint: str, options: LoadOptions) -> Any:
        folder, _ = self.ensure_built(checkpoint, options)
        return load_pretrained(str(folder), options).to(options.device)

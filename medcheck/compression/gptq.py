"""GPTQ and AWQ weight-only quantization with gptqmodel, saved as real packed checkpoints.

Unlike the fake-quantized recipes (rtn, smoothquant), these write the integer-packed format that
serving stacks load: `config.json` gets a `quantization_config` (quant_method "gptq" or "awq") and
transformers loads the folder back through gptqmodel's kernels (GPTQ also needs `optimum`).

- GPTQ (Frantar et al. 2023): per layer, the weights are rounded column by column and the rounding
  error is pushed onto the not-yet-quantized columns through the inverse Hessian of the layer's
  calibration inputs. Symmetric, group size 64, no act-order (desc_act False).
- AWQ (Lin et al. 2024): per-input-channel scales searched on calibration activations protect the
  salient channels, then clipping search and round-to-nearest; asymmetric (zero point), group
  size 64, GEMM layout.

The quantization runs in a child process (`python -m medcheck.compression.gptq JOB`): gptqmodel
ends the whole interpreter with os._exit(1) when one of its worker threads raises, which would kill
the pytest run with no report; in a child it becomes a ModelLoadError quoting the log's tail.
The child's output goes to `<out>.log`, kept when the build fails.

On a CPU-only machine gptqmodel needs, in the environment before it is imported:
GPTQMODEL_CPU_WORKERS >= 2 (its model-loader pool asks for 2 workers and stops at once on a
2-core machine otherwise) and GPTQMODEL_TORCH_EXTENSIONS_DIR (the C++ op it compiles on first use
goes under the cache dir, not ~/.cache/gptqmodel). AWQ is packed by the portable `awq_torch` kernel
(the default AWQ GEMM kernel needs CUDA and 4 bits).

AWQ packing fix (param `pack_clamp`): gptqmodel 7.6.0's AwqTorchLinear.pack re-rounds each weight
with the scales cast to bf16/fp16 and does not clamp the result to [0, 2^bits - 1]; at 8 bits the
scale's rounding error is about one level, so the largest weights round to 2^bits and the packer's
bit mask wraps them to 0 (measured on SmolLM2: ~0.1% of the weights, top-1 agreement with dense
fell to 29%). `_clamped_awq_pack` clamps them to the top level, as gptqmodel's GPTQ packer does.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from medcheck.compression import LoadOptions
from medcheck.compression.applied import AppliedRecipe
from medcheck.errors import ConfigError, ModelLoadError

INSTALL_HINT = "pip install 'medcheck[gptq]'"
METHODS = ("gptq", "awq")
AWQ_OUT_MULTIPLE = 64      # gptqmodel's AWQ clip search splits output rows in batches of 256 or 64
IMPORT_FAILED = 3          # the child's exit code when gptqmodel does not import
CHILD_PREFIX = "medcheck:"   # how the child's log lines start in its output

logger = logging.getLogger(__name__)


def _gptqmodel_version() -> str:
    try:
        return version("gptqmodel")
    except PackageNotFoundError:
        return "not-installed"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):   # ValueError: a module set to None in sys.modules
        return False


def _missing() -> str | None:
    if not _installed("gptqmodel"):
        return f"gptqmodel is not installed: {INSTALL_HINT}"
    if not _installed("optimum"):
        return f"optimum is not installed (transformers needs it to load GPTQ checkpoints): {INSTALL_HINT}"
    return None


def gptqmodel_available() -> str | None:
    """None when gptqmodel imports; otherwise a message saying what is wrong and how to install it."""
    problem = _missing()
    if problem is not None:
        return problem
    configure_environment(None)
    try:
        import gptqmodel  # noqa: F401
    except Exception as exc:  # a broken install raises anything from ImportError to RuntimeError
        return f"gptqmodel is installed but does not import ({type(exc).__name__}: {exc}): {INSTALL_HINT}"
    return None


def configure_environment(cache_dir: Path | None, env: MutableMapping[str, str] = os.environ) -> None:
    """gptqmodel's settings that must be in the environment before it is imported (or first used)."""
    workers = env.get("GPTQMODEL_CPU_WORKERS", "")
    if not workers.isdigit() or int(workers) < 2:
        env["GPTQMODEL_CPU_WORKERS"] = str(max(2, os.cpu_count() or 2))
    if cache_dir is not None and not env.get("GPTQMODEL_TORCH_EXTENSIONS_DIR"):
        ext = Path(cache_dir) / "gptqmodel-ext"
        ext.mkdir(parents=True, exist_ok=True)
        env["GPTQMODEL_TORCH_EXTENSIONS_DIR"] = str(ext)


def _widths(config: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """(input widths, output widths) of the decoder Linears of a Llama-like config, by role."""
    hidden = config.get("hidden_size")
    if not isinstance(hidden, int):
        return {}, {}
    heads = config.get("num_attention_heads") or 1
    head_dim = config.get("head_dim") or hidden // heads
    kv = (config.get("num_key_value_heads") or heads) * head_dim
    inner = config.get("intermediate_size")
    ins = {"q/k/v_proj, gate/up_proj (hidden_size)": hidden,
           "o_proj (num_attention_heads * head_dim)": heads * head_dim}
    outs = {"o_proj, down_proj (hidden_size)": hidden, "v_proj (num_key_value_heads * head_dim)": kv}
    if isinstance(inner, int):
        ins["down_proj (intermediate_size)"] = inner
        outs["gate/up_proj (intermediate_size)"] = inner
    return ins, outs


def check_widths(dense_path: str, group_size: int, recipe: str, method: str = "gptq") -> None:
    """ConfigError unless `group_size` divides every decoder Linear's input width (and, for AWQ,
    64 divides every output width gptqmodel clips), read from the checkpoint's config.json."""
    if group_size != -1 and group_size <= 0:
        raise ConfigError(f"recipe {recipe}", "group_size", f"{group_size} must be positive (or -1 for per-channel)")
    config_file = Path(dense_path) / "config.json"
    if not config_file.is_file():
        return  # gptqmodel will say what is missing
    config = json.loads(config_file.read_text(encoding="utf-8"))
    ins, outs = _widths(config.get("text_config", config))
    bad = {name: w for name, w in ins.items() if group_size != -1 and w % group_size}
    if bad:
        fits = [g for g in (32, 64, 128) if all(w % g == 0 for w in ins.values())]
        raise ConfigError(
            f"recipe {recipe}", "group_size",
            f"{group_size} does not divide the input width of "
            + ", ".join(f"{name} = {w}" for name, w in bad.items()) + f" in {config_file}",
            f"use a group size dividing every input width {sorted(set(ins.values()))}: "
            f"{fits or 'none of 32, 64, 128'}")
    bad = {name: w for name, w in outs.items() if w % AWQ_OUT_MULTIPLE}
    if method == "awq" and bad:
        raise ConfigError(
            f"recipe {recipe}", "model",
            f"gptqmodel's AWQ needs every clipped output width divisible by {AWQ_OUT_MULTIPLE}; "
            + ", ".join(f"{name} = {w}" for name, w in bad.items()) + f" in {config_file}",
            "use GPTQ for this model")


@dataclass(frozen=True)
class GPTQModelRecipe(AppliedRecipe):
    """params: method ("gptq"|"awq"), bits, group_size, sym, desc_act, n_samples, seq_len[, pack_clamp]."""

    def _settings(self) -> dict[str, Any]:
        p = dict(self.params)
        if p.get("method") not in METHODS:
            raise ConfigError(f"recipe {self.name}", "method", f"{p.get('method')!r} is not one of {METHODS}")
        if p.get("bits") not in (4, 8):
            raise ConfigError(f"recipe {self.name}", "bits", f"{p.get('bits')!r}: only 4 and 8 are supported here")
        return p

    def calibration(self, tokenizer: Any, seed: int) -> list[dict[str, list[int]]]:
        from medcheck.compression.calibration import calibration_texts

        out = []
        for text in calibration_texts(self.params["n_samples"], seed):
            ids = tokenizer(text, add_special_tokens=False).input_ids[: self.params["seq_len"]]
            out.append({"input_ids": ids, "attention_mask": [1] * len(ids)})
        return out

    def build(self, dense_path: str, out: Path, options: LoadOptions) -> None:
        """Quantize in a child process (see the module doc); raise ModelLoadError if it fails."""
        p = self._settings()
        check_widths(dense_path, p["group_size"], self.name, p["method"])
        problem = _missing()
        if problem is not None:
            raise ModelLoadError(f"recipe {self.name}: {problem}")
        env = dict(os.environ)
        configure_environment(options.cache_dir, env)
        root = str(Path(__file__).resolve().parents[2])   # so the child imports this medcheck
        env["PYTHONPATH"] = os.pathsep.join([root] + [x for x in [env.get("PYTHONPATH")] if x])
        job = {"name": self.name, "library": self.library, "params": p, "dense_path": str(dense_path),
               "out": str(out), "device": options.device, "seed": options.seed,
               "trust_remote_code": options.trust_remote_code}
        log = Path(out).with_name(Path(out).name + ".log")
        logger.info("%s: gptqmodel runs in a child process, output in %s", self.name, log)
        with open(log, "wb") as sink:
            code = subprocess.run([sys.executable, "-m", "medcheck.compression.gptq", json.dumps(job)],
                                  env=env, stdout=sink, stderr=subprocess.STDOUT).returncode
        if code == IMPORT_FAILED:
            raise ModelLoadError(f"recipe {self.name}: gptqmodel does not import: {_tail(log, 3)}\n  {INSTALL_HINT}")
        if code != 0 or not (Path(out) / "config.json").is_file():
            raise ModelLoadError(f"recipe {self.name}: gptqmodel failed (exit code {code}); "
                                 f"full log: {log}\n{_tail(log, 25)}")
        for line in _tail(log, 200).splitlines():   # the clamp count, logged by the child (_child)
            if line.strip().startswith(CHILD_PREFIX):
                logger.info("%s", line.strip().removeprefix(CHILD_PREFIX).strip())
        log.unlink()

    def quantize_here(self, dense_path: str, out: Path, device: str, seed: int, trust_remote_code: bool) -> None:
        """What the child process does: GPTQModel.load, quantize on calibration text, save with the tokenizer."""
        p = self._settings()
        import torch
        from gptqmodel import BACKEND, GPTQModel, QuantizeConfig
        from transformers import AutoTokenizer

        torch.manual_seed(seed)
        tokenizer = AutoTokenizer.from_pretrained(dense_path, trust_remote_code=trust_remote_code)
        config = dict(bits=p["bits"], group_size=p["group_size"], sym=p["sym"], desc_act=p["desc_act"],
                      method=p["method"], device="cpu" if device == "cpu" else None)
        backend = BACKEND.AUTO
        if p["method"] == "awq":
            config["format"] = "gemm"
            backend = BACKEND.AWQ_TORCH   # portable packer; AWQ_GEMM needs CUDA and 4 bits
        model = GPTQModel.load(dense_path, QuantizeConfig(**config), trust_remote_code=trust_remote_code)
        with _clamped_awq_pack(self.name, enabled=bool(p.get("pack_clamp"))):
            model.quantize(self.calibration(tokenizer, seed), batch_size=1, backend=backend)
            model.save(str(out))
        tokenizer.save_pretrained(out)

    def load(self, checkpoint: str, options: LoadOptions) -> Any:
        configure_environment(options.cache_dir)   # transformers loads the checkpoint through gptqmodel
        problem = gptqmodel_available()
        if problem is not None:
            raise ModelLoadError(f"recipe {self.name}: {problem}")
        return super().load(checkpoint, options)


def _tail(log: Path, n: int) -> str:
    """The last n non-blank lines of a log full of progress bars (carriage returns)."""
    text = log.read_bytes().decode("utf-8", errors="replace").replace("\r", "\n")
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join("  " + line[:300] for line in lines[-n:])


@contextmanager
def _clamped_awq_pack(recipe: str, enabled: bool) -> Iterator[None]:
    """Clamp AWQ integer weights to [0, 2^bits - 1] before gptqmodel packs them (see the module doc)."""
    if not enabled:
        yield
        return
    from gptqmodel.nn_modules.qlinear import torch_awq

    original, clamped = torch_awq.pack_awq, [0]

    def pack_awq(iweights: Any, izeros: Any, bits: int) -> Any:
        top = 2 ** bits - 1
        clamped[0] += int(((iweights < 0) | (iweights > top)).sum())
        return original(iweights.clamp(0, top), izeros, bits)

    torch_awq.pack_awq = pack_awq
    try:
        yield
    finally:
        torch_awq.pack_awq = original
        logger.info("%s: clamped %d AWQ weights that gptqmodel would have wrapped around the integer range",
                    recipe, clamped[0])


def make(method: str, bits: int, group_size: int = 64, n_samples: int = 32, seq_len: int = 256) -> GPTQModelRecipe:
    params: dict[str, Any] = {"method": method, "bits": bits, "group_size": group_size, "sym": method == "gptq",
                              "desc_act": False, "n_samples": n_samples, "seq_len": seq_len}
    if method == "awq":
        params["pack_clamp"] = True
    return GPTQModelRecipe(f"{method}-w{bits}", library=f"gptqmodel=={_gptqmodel_version()}",
                           params=params, calibrated=True)


GPTQ_W4 = make("gptq", 4)
GPTQ_W8 = make("gptq", 8)
AWQ_W4 = make("awq", 4)
AWQ_W8 = make("awq", 8)


def _child(job_json: str) -> int:
    job = json.loads(job_json)
    configure_environment(None)
    # medcheck's log records go to the child's output, which the parent reads back by this prefix
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(CHILD_PREFIX + " %(message)s"))
    for name in {"medcheck", logger.name}:   # run with -m, this module logs as __main__
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        import gptqmodel  # noqa: F401
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return IMPORT_FAILED
    recipe = GPTQModelRecipe(job["name"], library=job["library"], params=job["params"], calibrated=True)
    recipe.quantize_here(job["dense_path"], Path(job["out"]), job["device"], job["seed"], job["trust_remote_code"])
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))

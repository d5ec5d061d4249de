"""Memory and latency against prompt length (seed 001): the same question after 0, 1, 3 and 5
solved examples, through the backend in use, batch size 1.

The prompts are MedQA items answered in free text (the bundled `medqa_gen` sample and its dev
shots), assembled by the few-shot strategy exactly as the biomedical NLP track assembles them, so
the lengths are those a few-shot gate really sends. Each length gets one memory run
(`Backend.peak_memory`), then `repeats` timed runs; medians are reported. The memory run is the
warm-up of its length (the same kernels on the same shapes, untimed); the model itself was warmed
by `efficiency.measure` before the sweep, so a separate warm-up run per length would only add time
(4 runs to the sweep's 16 with the default four lengths and three repeats).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from medcheck.backends import Backend

TASK = "medqa_gen"


def shot_prompts(shots: Sequence[int], seed: int) -> dict[int, str]:
    """k -> the user prompt with k solved examples before the question."""
    from medcheck import datasets
    from medcheck.datasets.types import TextItem
    from medcheck.prompting import spec_of
    from medcheck.strategies import Strategy, pick_shots, user_prompt

    spec = spec_of(TASK)
    root = datasets.SAMPLES_DIR
    item = datasets.load(TASK, limit=1, seed=seed).items[0]
    if not isinstance(item, TextItem):
        raise TypeError(f"{TASK}: expected a generative dataset (text items), got {type(item).__name__}")
    pool = pick_shots(spec.shots(root), max(shots, default=0), seed, "efficiency", {item.id})
    if len(pool) < max(shots, default=0):
        raise ValueError(f"{TASK} has {len(pool)} dev examples; the sweep asks for {max(shots)}")
    instruction = spec.instruction(root)
    return {k: user_prompt(spec, item, Strategy("few-shot", shots=max(k, 1)), instruction, pool[:k])
            for k in shots}


def sweep(backend: Backend, shots: Sequence[int], *, max_new_tokens: int, repeats: int, seed: int = 1234,
          progress: Callable[[], None] | None = None) -> dict[str, dict[str, float]]:
    """"k" -> {prompt_tokens, memory_bytes, ttft_s, act_s} for each number of shots."""
    from medcheck.efficiency import one_run

    out: dict[str, dict[str, float]] = {}
    for k, prompt in shot_prompts(shots, seed).items():
        rendered = backend.chat(prompt)[0]

        def run(rendered: str = rendered) -> tuple[float, float, int, int]:
            result = one_run(backend, rendered, max_new_tokens, seed)
            if progress:
                progress()
            return result

        memory, _ = backend.peak_memory(run)
        runs = [run() for _ in range(repeats)]
        out[str(k)] = {"prompt_tokens": runs[0][3], "memory_bytes": memory,
                       "ttft_s": statistics.median(r[0] for r in runs), "act_s": statistics.median(r[1] for r in runs)}
    return out

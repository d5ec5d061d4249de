"""Shared prompt prefixes: which prompts of one engine call share how many leading tokens.

A generative dataset's prompts repeat its fixed part (the chat template's system turn, the
task's instruction, few-shot examples) before the item's own text: on the gate's bundled
biomedical NLP sets 47% of the prompt tokens (zero-shot, 5 items each) and 73% on a 30-item
few-shot run are such repeats. The decode loop computes a family's shared prefix once and
prefills only each member's remainder on top of it (`hf_generate`).

Families come from the prompts alone, so no caller has to declare them: sort the token lists,
then cut the sorted order into runs maximising the tokens saved, each run sharing the longest
prefix all its members have (at most each member's length - 1, so every member still has a
token of its own to prefill, whose logits start its answer). A run costs one extra forward pass,
counted as `overhead` tokens, so a few tokens in common (a bare chat-template header) do not make
a family unless enough members share them.
"""

from __future__ import annotations

from collections.abc import Sequence

OVERHEAD = 16   # tokens' worth of cost of one more forward pass (a family's prefix)
WINDOW = 512    # longest family considered: keeps the search O(n x WINDOW)


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    k = 0
    while k < n and a[k] == b[k]:
        k += 1
    return k


def families(prompts: Sequence[Sequence[int]], overhead: int = OVERHEAD,
             window: int = WINDOW) -> list[tuple[int, int]]:
    """Per prompt (in input order): (family, shared prefix length). Prompts that share nothing worth
    computing once are their own family with prefix 0. Deterministic for given prompts."""
    n = len(prompts)
    order = sorted(range(n), key=lambda i: (list(prompts[i]), i))
    common = [_common(prompts[order[k]], prompts[order[k + 1]]) for k in range(n - 1)]
    best = [0] * (n + 1)     # best[j]: tokens saved by the best cut of order[:j]
    start = list(range(n + 1))   # start[j]: where the last run of that cut begins
    for j in range(1, n + 1):
        best[j], start[j] = best[j - 1], j - 1   # order[j - 1] alone
        shared = len(prompts[order[j - 1]]) - 1
        for i in range(j - 2, max(-1, j - 1 - window), -1):   # the run order[i:j]
            shared = min(shared, common[i], len(prompts[order[i]]) - 1)
            if shared <= 0:
                break
            gain = best[i] + shared * (j - i - 1) - overhead
            if gain > best[j]:
                best[j], start[j] = gain, i
    out = [(i, 0) for i in range(n)]
    j = n
    while j > 0:
        i = start[j]
        if j - i > 1:
            shared = min(min(common[i:j - 1]), *(len(prompts[order[k]]) - 1 for k in range(i, j)))
            for k in range(i, j):
                out[order[k]] = (order[i], shared)
        j = i
    return out

"""lm-eval's split of a log-likelihood request into context and continuation token ids.

Shared by the engines that tokenise on our side, so that every backend scores the same tokens.
"""

from __future__ import annotations

from collections.abc import Callable

Encode = Callable[[str], list[int]]


def split_request(encode: Encode, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids), as lm-eval makes them.

    Trailing spaces of the context move to the continuation, and the continuation's tokens are
    those of the whole string past the context's own tokens (at least one token).
    """
    stripped = context.rstrip(" ")
    cont = context[len(stripped):] + continuation
    ctx_ids = encode(stripped)
    whole = encode(stripped + cont)
    return ctx_ids, whole[len(ctx_ids):] or whole[-1:]


def window(ctx_ids: list[int], cont_ids: list[int], max_length: int) -> tuple[list[int], int]:
    """lm-eval's truncation: the last `max_length` tokens of context + continuation, and where the
    continuation starts in them (at least 1: the first scored token needs a token before it)."""
    whole = (ctx_ids + cont_ids)[-max_length:]
    return whole, max(1, len(whole) - len(cont_ids))

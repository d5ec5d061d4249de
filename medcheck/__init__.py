"""medcheck: a pytest release gate for compressed (quantized or pruned) medical LLMs.

Importing this package is cheap on purpose: torch, transformers and friends load only
when a backend or a compression recipe is used.
"""

import os

# oneDNN keeps a compiled kernel per matrix shape (bnb-int8's integer matmul, bfloat16 linears on a
# CPU), up to 1024, and generation and scoring meet hundreds of shapes: 114 gate prompts through
# bnb-int8 peaked at 1.76 GB resident with 1024 kept, 1.32 GB with 32, at the same tokens/s. torch
# reads the setting when it loads, so it is set here, before any backend imports it; a value the
# user set wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "32")

__version__ = "0.1.0"

__all__ = ["__version__"]

"""medcheck: a pytest release gate for compressed (quantized or pruned) medical LLMs.

Importing this package is cheap on purpose: torch, transformers and friends load only
when a backend or a compression recipe is used.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

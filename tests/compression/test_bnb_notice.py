"""bitsandbytes' per-forward cast notice: shown once, then not even built."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture
def bnb_logger():
    from medcheck.compression import bnb

    logger = logging.getLogger("bitsandbytes.autograd._functions")
    level, filters, seen = logger.level, list(logger.filters), bnb._DropCastNotice.seen
    bnb._DropCastNotice.seen = False
    logger.addFilter(bnb._DropCastNotice())
    yield logger
    logger.setLevel(level)
    logger.filters[:] = filters
    bnb._DropCastNotice.seen = seen


def test_the_cast_notice_shows_once_and_later_ones_are_not_built(bnb_logger, caplog):
    caplog.set_level(logging.WARNING, logger=bnb_logger.name)
    for _ in range(3):
        bnb_logger.warning("MatMul8bitLt: inputs will be cast from %s to float16 during quantization", "bf16")
    assert [r.getMessage() for r in caplog.records].count(
        "MatMul8bitLt: inputs will be cast from bf16 to float16 during quantization") == 1
    assert not bnb_logger.isEnabledFor(logging.WARNING)     # later calls return before making a record

"""The socket guard of the offline tests: every connect or lookup raises NetworkUsed and is recorded."""

from tests.faults.test_offline_by_default import no_network  # noqa: F401  (fixture)

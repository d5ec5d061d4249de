"""A pytest plugin for fault tests: SIGKILL the run at a chosen statement of its results store.

`MEDCHECK_KILL_AT="COMMIT:2"` kills the process as its results store starts its second statement
beginning with COMMIT: that chunk's rows are written but not committed. Any SQL prefix works
(`BEGIN`, `INSERT OR REPLACE INTO records`). Loaded with `-p tests.faults.killer`; without the
variable it does nothing. The kill comes from SQLite's trace callback, so the library carries no
test hook. It is installed at import: `-p` plugins are imported before the gate's own plugins
open the store in their `pytest_configure`.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from medcheck.store import ResultStore


def install() -> None:
    spec = os.environ.get("MEDCHECK_KILL_AT")
    if not spec:
        return
    prefix, _, nth = spec.rpartition(":")
    seen = [0]
    opened = ResultStore.__init__

    def trace(sql: str) -> None:
        if sql.lstrip().upper().startswith(prefix.upper()):
            seen[0] += 1
            if seen[0] == int(nth):
                os.kill(os.getpid(), signal.SIGKILL)

    def init(self: ResultStore, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        self._db.set_trace_callback(trace)

    ResultStore.__init__ = init  # type: ignore[method-assign]


install()

"""Worker processes on one machine (pytest-xdist, `-n N`): their threads, and when more cannot help.

torch starts a thread per core in every process, so N workers on C cores would run N x C threads
that take turns on C cores (and evict each other's caches): each worker gets max(1, C // N) threads
instead, unless OMP_NUM_THREADS says otherwise (the user's setting wins). A worker needs at least
one core of its own, so beyond C workers (on the CPU) the tests are grouped for C of them and the
rest stay idle; the run says so once.
"""

from __future__ import annotations

import os
import sys
from typing import Any

ENV = "OMP_NUM_THREADS"   # what torch (OpenMP) reads when it starts; a user's value is kept


def cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one, e.g. under taskset)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def threads_per_worker(workers: int, cores: int) -> int:
    return max(1, cores // max(1, workers))


def use_threads(workers: int) -> int:
    """Give this worker its share of the cores, unless OMP_NUM_THREADS is set; the threads it will use.

    The variable reaches torch when it is imported later (and any subprocess); where torch is
    already imported, its pool is resized too."""
    if not os.environ.get(ENV, "").strip():
        os.environ[ENV] = str(n := threads_per_worker(workers, cores()))
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(n)
    return threads()


def threads() -> int:
    """The threads torch computes with in this process (without importing torch to ask)."""
    if "torch" in sys.modules:
        return int(sys.modules["torch"].get_num_threads())
    return _given() or cores()


def _given() -> int | None:
    given = os.environ.get(ENV, "").strip()
    return int(given) if given.isdigit() and int(given) > 0 else None


def threads_of_workers(workers: int) -> int:
    """The threads each worker of a run of `workers` computes with (this process's own in a serial run)."""
    if workers <= 1:
        return threads()
    return _given() or threads_per_worker(workers, cores())


def slots(workers: int, cores: int, gpus: int) -> int:
    """How many workers can compute at once: each needs a GPU or, on the CPU, a core of its own."""
    return workers if gpus else max(1, min(workers, cores))


def advice(workers: int, cores: int, gpus: int, groups: int) -> str | None:
    """One line for a run whose extra workers cannot help (`groups`: the scheduling groups formed
    for `slots` workers), or None."""
    slot = slots(workers, cores, gpus)
    useful = min(slot, groups)
    if useful >= workers or not groups:   # no tests collected (a wrong path): nothing to advise on
        return None
    why = []
    if slot < workers:
        why.append(f"-n {workers} on {_count(cores, 'core')}: a worker needs a core of its own, so the tests are "
                   f"grouped for {_count(slot, 'worker')}")
    if groups < slot:
        why.append(f"{'' if why else f'-n {workers}: '}{_count(groups, 'group')} of tests (a model with its "
                   f"compressions, or one pair) for {_count(slot, 'worker')}")
    idle = _count(workers - useful, "worker")
    return f"{'; '.join(why)}: {idle} will have nothing to do (-n {useful} does the same work)"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def runtime(workers: int) -> dict[str, Any]:
    """The run record's account of parallelism: worker processes, threads each, cores seen."""
    return {"workers": workers, "threads": threads(), "cores": cores()}

"""medcheck.parallel: threads per worker, how many workers can compute at once, and the line a run
with idle workers prints."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from medcheck import parallel


@pytest.mark.parametrize(("workers", "cores", "threads"), [(1, 2, 2), (2, 2, 1), (4, 2, 1), (2, 16, 8), (3, 16, 5)])
def test_each_worker_gets_its_share_of_the_cores(workers, cores, threads):
    assert parallel.threads_per_worker(workers, cores) == threads


def test_on_the_cpu_no_more_workers_compute_than_there_are_cores():
    assert parallel.slots(4, 2, gpus=0) == 2 and parallel.slots(2, 8, gpus=0) == 2
    assert parallel.slots(4, 2, gpus=2) == 4   # each GPU worker drives its own device


def test_advice_names_idle_workers_and_why():
    assert parallel.advice(2, 2, 0, groups=2) is None and parallel.advice(1, 1, 0, groups=1) is None
    cores = parallel.advice(4, 2, 0, groups=2)
    assert cores is not None and cores.startswith("-n 4 on 2 cores") and "2 workers will have nothing to do" in cores
    groups = parallel.advice(4, 16, 0, groups=3)
    assert groups is not None and groups.startswith("-n 4: 3 groups") and "-n 3 does the same work" in groups
    assert parallel.advice(8, 2, 4, groups=8) is None   # on GPUs cores do not bound the workers
    assert parallel.advice(2, 2, 0, groups=0) is None   # nothing collected: no advice beside pytest's own error


def _threads_in_a_worker(env: dict[str, str]) -> list[int]:
    """use_threads(2) in a fresh process, then torch's own count after it is imported."""
    code = "from medcheck import parallel; print(parallel.use_threads(2)); import torch; print(torch.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=300)
    return [int(line) for line in out.stdout.split()]


def test_a_worker_computes_with_its_share_unless_the_user_says_otherwise():
    env = {k: v for k, v in os.environ.items() if k != parallel.ENV}
    share = max(1, parallel.cores() // 2)
    assert _threads_in_a_worker(env) == [share, share]
    mine = parallel.cores()   # torch caps OMP_NUM_THREADS at the cores
    assert _threads_in_a_worker({**env, parallel.ENV: str(mine)}) == [mine, mine]

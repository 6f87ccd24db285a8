"""JobProcesses (lic.codec.job_processes): results in job order, a job's exception raised in the
caller, a dead process reported, every process killed and reaped when the caller leaves by an
exception (also one raised while a process is still starting and has not read its jobs), and a
worker whose caller is gone ending quietly."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest
from test_signals import _cmdline, _descendants, _running

from lic.codec.job_processes import JobProcesses, _serve


def square_and_pid(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def die() -> None:
    os._exit(7)


def test_results_come_in_job_order_from_a_fixed_share_of_processes() -> None:
    with JobProcesses(square_and_pid, [(v,) for v in range(5)], processes=2) as jobs:
        found = jobs.results()
    assert [square for square, _ in found] == [0, 1, 4, 9, 16]
    pids = [pid for _, pid in found]
    assert pids[0] == pids[2] == pids[4] != pids[1] == pids[3] != os.getpid()  # job i in process i % 2


def test_a_jobs_exception_is_raised_in_the_caller() -> None:
    with JobProcesses(fail, [("no luck",)], processes=1) as jobs, pytest.raises(ValueError, match="no luck"):
        jobs.results()


def test_a_process_that_dies_is_reported_with_its_exit_code() -> None:
    with JobProcesses(die, [()], processes=1) as jobs, pytest.raises(RuntimeError, match="exit code 7"):
        jobs.results()


def test_leaving_by_an_exception_kills_and_reaps_every_process() -> None:
    big = bytes(8 << 20)  # larger than a pipe holds: sent only once the process has imported lic
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), JobProcesses(len, [(big,), (big,)], processes=2) as jobs:
        pids = [process.pid for process in jobs._processes]
        raise KeyboardInterrupt
    assert time.monotonic() - started < 60
    assert pids and not any(_running(pid) for pid in pids)


def test_a_process_whose_caller_is_gone_ends_quietly() -> None:
    """The caller killed before it sent the jobs: the process reads end-of-file and returns, no traceback."""
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs,))
    process.start()
    theirs.close()
    mine.close()
    process.join(60)
    assert process.exitcode == 0


@pytest.mark.parametrize("delay", [0.0005, 0.001, 0.002, 0.004, 0.01, 0.05, 0.3, 1.0])
def test_a_stop_at_any_moment_kills_the_processes(delay: float) -> None:
    """A handler that raises lands while the processes start, while they read their jobs or while they run
    them: none survives, also with another thread running (it takes process-directed signals when the main
    thread blocks them: in CI, after tests that started torch's threads, a SIGALRM landed inside
    ``Process.start`` despite a signal mask, and the spawned child outlived the test)."""
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    other_thread_done = threading.Event()
    threading.Thread(target=other_thread_done.wait, daemon=True).start()
    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, delay)
    try:
        with pytest.raises(KeyboardInterrupt), JobProcesses(time.sleep, [(3,), (3,)], processes=2) as running:
            running.results()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        other_thread_done.set()
    survivors = [pid for pid in _descendants(os.getpid()) if _running(pid) and "spawn_main" in _cmdline(pid)]
    assert not survivors, [_cmdline(pid) for pid in survivors]

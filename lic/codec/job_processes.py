"""Independent jobs run in spawned processes that a stopped encoder always ends at once.

:class:`JobProcesses` starts its processes, hands each its share of the jobs through a pipe
and collects the results in job order, while the caller works on something else (the
overfit encoder fits its first candidate meanwhile). Leaving it, by an exception (the
:class:`~lic.cli.signals.Stopped` of SIGINT, SIGTERM or SIGHUP, a ``KeyboardInterrupt``, an
error) or normally, kills every process still running with SIGKILL and reaps it, with nothing
else to wait for. It replaces a ``multiprocessing.Pool``, whose ``terminate`` takes the task
queue's lock and joins a worker-handler thread before it reaches the workers: a
stopped ``lic encode --mode overfit`` hung for over 120 s on that path once in CI (SIGHUP
while the candidate process was still starting, 2026-12-04; not reproduced here in 22 tries
at delays from 0 to 3 s).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import multiprocessing.process
import pickle
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from lic.deferred_signals import CATCHABLE, deferred


class JobProcesses:
    """``function(*job)`` for every job, in up to ``processes`` spawned processes (a context manager).

    Job ``i`` runs in process ``i % processes``, so which jobs share a process does not depend on
    timing. Ctrl-C reaches the whole foreground group and the caller decides, so the processes
    ignore SIGINT: from their first instruction when this is built on the main thread
    (:func:`starting_processes`), else from :func:`_serve`. ``function`` must be importable by name. Jobs and results
    travel as plain pickles: torch's multiprocessing pickler would share tensors through the
    sending process, which has exited by the time its last result is read.
    """

    def __init__(self, function: Callable[..., Any], jobs: Sequence[tuple], processes: int) -> None:
        self._count = len(jobs)
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self._connections: list[multiprocessing.connection.Connection] = []
        shares = [list(jobs[i::processes]) for i in range(min(processes, len(jobs)))]
        try:
            with starting_processes():
                context = multiprocessing.get_context("spawn")  # forking a process running torch's pools can deadlock
                for _ in shares:
                    mine, theirs = context.Pipe()
                    process = context.Process(target=_serve, args=(theirs,), daemon=True)
                    self._processes.append(process)
                    self._connections.append(mine)
                    process.start()
                    theirs.close()
            for connection, share in zip(self._connections, shares, strict=True):
                connection.send_bytes(pickle.dumps((function, share)))  # read once the process has imported lic
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> JobProcesses:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def results(self) -> list[Any]:
        """Every job's result in job order; a job's exception is raised here."""
        found: list[Any] = [None] * self._count
        for index in range(self._count):
            connection = self._connections[index % len(self._connections)]
            try:
                succeeded, value = pickle.loads(connection.recv_bytes())
            except (EOFError, OSError):  # ended before or while sending its result
                process = self._processes[index % len(self._processes)]
                process.join(5)
                raise RuntimeError(f"a worker process ended without its result (exit code {process.exitcode})") \
                    from None
            if not succeeded:
                raise value
            found[index] = value
        return found

    def close(self) -> None:
        """Kills and reaps every process that is still running (idempotent; signals put off meanwhile)."""
        with deferred(CATCHABLE):
            for process in self._processes:
                if process.pid is not None and process.exitcode is None:
                    process.kill()
            for process in self._processes:
                if process.pid is not None:
                    process.join()
            for connection in self._connections:
                connection.close()
            self._processes, self._connections = [], []


def _serve(connection: multiprocessing.connection.Connection) -> None:
    """A worker process: runs its share of the jobs, sending back each result or exception."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # also when started from a thread other than the main one
    try:
        function, jobs = pickle.loads(connection.recv_bytes())
    except (EOFError, OSError):  # the caller ended before or while sending the jobs (killed, say)
        return
    for job in jobs:
        try:
            reply = (True, function(*job))
        except Exception as error:  # noqa: BLE001 - it is raised again in the caller
            reply = (False, error)
        try:
            message = pickle.dumps(reply)
        except Exception as error:  # noqa: BLE001 - an exception that cannot be pickled
            message = pickle.dumps((False, RuntimeError(f"{type(error).__name__}: {error}")))
        try:
            connection.send_bytes(message)
        except OSError:  # the caller is gone (a broken pipe): nobody wants the rest
            return


@contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Processes started inside ignore Ctrl-C from their first instruction (main thread only; else a no-op).

    An ignored signal stays ignored through ``exec`` and Python keeps it so, so they ignore it even
    while they import torch: a Ctrl-C reaches the whole foreground group, and the parent decides. A
    Ctrl-C to the parent in those few milliseconds is lost (an ignored signal is discarded).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def starting_processes() -> Iterator[None]:
    """Wraps starting worker processes (main thread; elsewhere a no-op): they ignore Ctrl-C from their first
    instruction (:func:`_children_ignore_sigint`), and every other signal with a Python handler is put off.

    Put off, a signal cannot fall between a process's creation and its registration (a process
    the caller does not know of could not be killed: in CI a SIGALRM whose handler raised landed
    inside ``Process.start``, after the spawn, and left the child running). Its handler runs
    when this ends, after SIGINT's handler is back.
    """
    with deferred(CATCHABLE - {signal.SIGINT}), _children_ignore_sigint():
        yield

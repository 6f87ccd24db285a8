"""Putting off Python signal handlers while a few operations run as one step.

A signal mask would not do: a signal sent to the process goes to any thread that does not
block it (torch's thread pools, say), and CPython then runs the handler on the main thread
whatever the main thread's mask. (The first version of :mod:`lic.codec.job_processes` held
SIGTERM and SIGHUP with a mask; with one other thread running, a stop still landed inside
``Process.start`` in 10 of 18 tries. :mod:`lic.io.cleanup` masked them too, and a stop once
landed between creating a temporary file and registering it, which left the file behind.)
So :func:`deferred` swaps the handlers themselves for a recorder while the step runs.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

CATCHABLE = frozenset(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
"""The signals a Python handler can be installed for."""


@contextmanager
def deferred(signals: Iterable[int]) -> Iterator[None]:
    """On the main thread: those of ``signals`` that have a Python handler, arriving inside, run it at the end
    (elsewhere a no-op: handlers run on the main thread only).

    Each signal put off is raised again once, in the order they came, after the handlers are back, so what a
    handler raises leaves from the end of the block. Blocks nest: an inner one hands its signals to the outer.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {}
    for signum in sorted(set(signals)):
        handler = signal.getsignal(signum)
        if callable(handler):
            previous[signum] = signal.signal(signum, lambda number, frame: pending.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)  # its handler runs here, and what it raises leaves from here

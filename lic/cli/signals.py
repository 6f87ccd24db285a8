"""How the ``lic`` command stops on SIGINT, SIGTERM and SIGHUP.

:func:`installed` turns the first of these signals into :class:`Stopped`, raised in the
main thread, and ignores the ones after it, so the way out runs uninterrupted: every
writer drops its temporary file, a batch terminates and joins its workers, and
:func:`lic.cli.main.main` removes whatever the cleanup registry
(:mod:`lic.io.cleanup`) still holds, then exits with 128 + the signal number
(130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from lic.io.cleanup import STOP_SIGNALS


class Stopped(BaseException):
    """The command was stopped by a signal (a ``BaseException``, like ``KeyboardInterrupt``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal number, as a shell reports a process killed by it."""
        return 128 + self.signum

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}"


def _stop(signum: int, frame: object) -> None:
    for stop in STOP_SIGNALS:
        signal.signal(stop, signal.SIG_IGN)
    raise Stopped(signum)


@contextmanager
def installed() -> Iterator[None]:
    """Raises :class:`Stopped` on the first stopping signal while inside (main thread only; else a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {stop: signal.signal(stop, _stop) for stop in STOP_SIGNALS}
    try:
        yield
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)

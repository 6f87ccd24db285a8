"""The temporary paths lic has created and not yet renamed into place or removed.

Every temporary output file or folder is created through :func:`temporary_file` /
:func:`temporary_folder` and leaves the registry through :func:`settle` (renamed into
place, or removed). A process stopped by a signal empties it with :func:`remove_all`
(the CLI's handlers, :mod:`lic.cli.signals`, and the batch workers' do), so no hidden
partial file survives an interrupted command. Creation and settling run with the
stopping signals' handlers put off (:func:`lic.deferred_signals.deferred`), so a signal
never falls between creating a path and registering it, or between renaming it and
forgetting it.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lic.deferred_signals import deferred

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals after which lic removes its temporary files."""

_pending: set[Path] = set()


@contextmanager
def signals_held() -> Iterator[None]:
    """Puts off the handlers of :data:`STOP_SIGNALS` (run on exit) while a few file operations run as one step."""
    with deferred(STOP_SIGNALS):
        yield


def _default_permissions(path: Path, directory: bool) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if directory else 0o666) & ~umask)


def temporary_file(directory: Path, name: str, suffix: str = ".tmp") -> Path:
    """A new, registered, hidden file ``.NAME.XXXX<suffix>`` in ``directory`` with normal permissions."""
    with signals_held():
        fd, created = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=directory)
        os.close(fd)
        _pending.add(Path(created))
    _default_permissions(Path(created), directory=False)
    return Path(created)


def temporary_folder(directory: Path, name: str) -> Path:
    """A new, registered, hidden folder ``.NAME.XXXX`` in ``directory`` with normal permissions."""
    with signals_held():
        created = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=directory))
        _pending.add(created)
    _default_permissions(created, directory=True)
    return created


def settle(path: Path) -> None:
    """Forgets ``path`` (call with signals held, right after renaming it into place)."""
    _pending.discard(path)


def remove(path: Path) -> None:
    """Removes a registered temporary file or folder (what is left of it) and forgets it."""
    with signals_held():
        _remove(path)
        _pending.discard(path)


def remove_all() -> None:
    """Removes every registered temporary path: the last step of a process stopped by a signal."""
    for path in list(_pending):
        _remove(path)
    _pending.clear()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)

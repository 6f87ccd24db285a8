"""One rule for every file lic writes: streams, images, video files, reports.

* ``-`` is standard output.
* A new path, or with ``force`` an existing regular file, is written to a hidden
  temporary file beside it and renamed into place once complete: never a partial file. The temporary file is
  created when the :class:`OutputFile` is made, before any coding, so an unwritable
  place is reported at once and by the name the user gave.
* With ``force``, a character device or a FIFO (or a link to one) is written through:
  opened and written, never replaced (``-o /dev/null`` leaves ``/dev/null`` alone).
* Anything else that exists is refused: a folder, a block device, a socket, a symbolic
  link to a file or a dangling one (replacing the link, or the file it points to, would
  touch a file the user did not name); so is any existing path without ``force``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from lic.errors import LicError
from lic.io import cleanup

STDOUT = "-"
"""The output name that means standard output (and the input name that means standard input)."""


def is_stdio(path: str | Path) -> bool:
    """True for ``-``."""
    return str(path) == STDOUT


class OutputFile:
    """An output reserved before coding; :meth:`write` (or :meth:`open` + :meth:`commit`) fills it."""

    def __init__(self, path: str | Path, force: bool = False, suffix: str = ".tmp") -> None:
        self.name = str(path)
        self.to_stdout = is_stdio(path)
        self.special = False
        self._tmp: Path | None = None
        self._handle: BinaryIO | None = None
        if self.to_stdout:
            return
        path = Path(path)
        try:
            info = path.stat()
        except FileNotFoundError:
            if path.is_symlink():
                raise LicError(f"{path} is a dangling symbolic link") from None
            info = None
        except OSError as exc:
            raise LicError(f"{path}: {exc.strerror}") from None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise LicError(f"{path} is a directory")
        if info is not None and not force:
            raise LicError(f"{path} exists (use --force to overwrite)")
        if info is not None and (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
            self.special, self.target = True, path
            return
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise LicError(f"{path} is not a regular file; lic writes only files, character devices and FIFOs")
        if info is not None and path.is_symlink():
            raise LicError(f"{path} is a symbolic link to a file; give the file's own path to replace it")
        self.target = path
        directory = self.target.parent if str(self.target.parent) else Path(".")
        if not directory.is_dir():
            raise LicError(f"{directory}: no such directory")
        try:
            self._tmp = cleanup.temporary_file(directory, self.target.name, suffix)
        except OSError as exc:
            raise LicError(f"{path}: cannot write in {directory} ({exc.strerror})") from None

    def open(self) -> BinaryIO:
        """The binary file to write to (standard output, the device or FIFO, or the temporary file)."""
        if self._handle is None:
            try:
                self._handle = self._open()
            except OSError as exc:
                if exc.errno == errno.ENXIO:
                    raise LicError(f"{self.name}: a FIFO with no reader") from None
                raise LicError(f"{self.name}: {exc.strerror}") from None
        return self._handle

    def _open(self) -> BinaryIO:
        if self.to_stdout:
            sys.stdout.flush()
            return sys.stdout.buffer
        if self.special:  # a FIFO without a reader fails at once instead of blocking
            fd = os.open(self.target, os.O_WRONLY | os.O_NONBLOCK)
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            return os.fdopen(fd, "wb")
        return open(self._tmp, "wb")

    def commit(self) -> None:
        """Completes the output: the temporary file is renamed into place."""
        try:
            if self._handle is not None:
                self._handle.flush() if self.to_stdout else self._handle.close()
        except OSError as exc:
            self.discard()
            raise LicError(f"{self.name}: {exc.strerror}") from None
        if self._tmp is not None:
            with cleanup.signals_held():
                os.replace(self._tmp, self.target)
                cleanup.settle(self._tmp)
            self._tmp = None

    def discard(self) -> None:
        """Drops what was written (to a temporary file; a device or standard output keeps it)."""
        if self._handle is not None and not self.to_stdout:
            try:
                self._handle.close()
            except OSError:
                pass
        if self._tmp is not None:
            cleanup.remove(self._tmp)
            self._tmp = None

    def write(self, fill: Callable[[BinaryIO], None]) -> None:
        """Runs ``fill(file)``, then commits; on any failure nothing is left behind."""
        try:
            fill(self.open())
        except BaseException as exc:
            self.discard()
            if isinstance(exc, OSError) and not isinstance(exc, LicError):
                raise LicError(f"{self.name}: {exc.strerror or exc}") from None
            raise
        self.commit()

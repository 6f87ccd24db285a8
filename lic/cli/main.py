"""The ``lic`` command line: the parser built from the command table (:mod:`lic.cli.commands`),
one-line error reports and the exit statuses."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from lic.cli import signals
from lic.cli.commands import COMMANDS
from lic.cli.common import EXIT_ERROR, EXIT_INTERNAL, EXIT_USAGE
from lic.errors import LicError
from lic.io import cleanup


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The ``lic`` argument parser."""
    parser = _Parser(prog="lic", description="lic: learned image codec")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lic`` console script; returns the exit status.

    SIGINT, SIGTERM and SIGHUP stop it cleanly (:mod:`lic.cli.signals`): no temporary or
    partial file and no worker process is left, and the status is 128 + the signal number.
    """
    args = build_parser().parse_args(argv)
    from lic.limits import set_pixel_limit

    set_pixel_limit(getattr(args, "max_pixels", None))
    with signals.installed():
        try:
            return _run(args)
        except signals.Stopped as exc:
            sys.stderr.write(f"lic: {exc}\n")
            return exc.exit_status
        finally:
            cleanup.remove_all()
            set_pixel_limit(None)


def _run(args: argparse.Namespace) -> int:
    """Runs the sub-command; every error becomes one line on stderr and an exit status."""
    try:
        return args.func(args)
    except LicError as exc:
        sys.stderr.write(f"lic: error: {exc}\n")
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("lic: interrupted\n")
        return 130
    except MemoryError:
        sys.stderr.write("lic: error: out of memory\n")
        return EXIT_ERROR
    except OSError as exc:
        sys.stderr.write(f"lic: error: {exc.filename or ''}: {exc.strerror or exc}\n")
        return EXIT_ERROR
    except Exception as exc:
        if os.environ.get("LIC_DEBUG"):
            raise
        sys.stderr.write(f"lic: internal error: {type(exc).__name__}: {exc} (set LIC_DEBUG=1 for details)\n")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())

"""Ray for lic: importing it, starting or joining a runtime, running tasks with a bounded queue."""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from lic.errors import LicError
from lic.extras import import_optional

Item = TypeVar("Item")



def import_ray() -> ModuleType:
    """The ``ray`` module; a :class:`LicError` naming the extra to install when it is missing."""
    return import_optional("ray", "Ray", "ray", "--ray")


@contextmanager
def ray_session(address: str | None = None, cpus: int | None = None) -> Iterator[ModuleType]:
    """Ray, connected for the block.

    Inside a program that already called ``ray.init`` the block uses that runtime and
    leaves it running. Otherwise ``address`` ``None`` (or ``""``) starts a local runtime of
    ``cpus`` CPUs (default: all cores), without dashboard and with Ray's own logging
    quiet, and stops it after the block; ``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"``
    joins a running cluster (``ray start --head`` on its head node) and disconnects after.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    if cpus is not None and address:
        raise LicError("--workers sets the size of a local Ray runtime; a cluster has its own size")
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address:
        _join(ray, address, quiet)
    else:
        # Ray runs task workers 15 nice levels below the driver; a local runtime is meant to be
        # what --workers is, so its workers keep the priority of the command that started them.
        os.environ.setdefault("RAY_worker_niceness", "0")
        try:
            ray.init(address="local", num_cpus=cpus or os.cpu_count() or 1, include_dashboard=False, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise LicError(f"cannot start a local Ray runtime: {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(ray: ModuleType, address: str, timeout: float = 10.0) -> None:
    """Fails fast when nothing answers at ``HOST:PORT``, ``ray://HOST:PORT`` or the address ``auto``
    stands for (``ray.init`` would retry for minutes)."""
    target = address
    if address == "auto":  # RAY_ADDRESS, or the cluster the last `ray start` here recorded
        try:
            target = ray._private.services.canonicalize_bootstrap_address("auto") or ""
        except Exception:  # noqa: BLE001 - Ray's private helper moved or failed: let ray.init find it
            return
    host, _, port = target.removeprefix("ray://").rpartition(":")
    if "://" in host or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        where = address if target == address else f"{address} ({target})"
        raise LicError(f"cannot join the Ray cluster at {where}: {exc.strerror or exc}") from None


def _join(ray: ModuleType, address: str, options: dict) -> None:
    """``ray.init(address)``, with what Ray's C++ core writes to stderr meanwhile held back: while a
    cluster refuses the connection it prints a warning a second; the reason goes into one error."""
    _check_reachable(ray, address)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            ray.init(address=address, **options)
            return
        except (ConnectionError, RuntimeError, ValueError) as exc:
            error = exc
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        held.seek(0)
        said = held.read().decode(errors="replace")
    hint = (" (the cluster uses token authentication: set RAY_AUTH_MODE=token and give its token in "
            "~/.ray/auth_token or RAY_AUTH_TOKEN)") if "AuthToken" in said else ""
    raise LicError(f"cannot join the Ray cluster at {address}: {error}{hint}")


def absolute(path: Path | None) -> Path | None:
    """``path`` made absolute on the driver: Ray workers do not run in the driver's folder."""
    return None if path is None else Path(path).absolute()


def cluster_cpus() -> int:
    """CPUs of the connected Ray cluster (at least 1)."""
    return max(1, int(import_ray().cluster_resources().get("CPU", 1)))


def run_tasks(items: Iterable[Item], submit: Callable[[Item], Any], done: Callable[[Item, Any], None],
              in_flight: int) -> None:
    """Runs ``submit(item)`` (which returns a Ray object reference) for every item, with at most
    ``in_flight`` unfinished at once, and calls ``done(item, result)`` as each one finishes.

    A task that Ray could not complete (its worker died more often than its retries allow,
    its node left the cluster) gives ``done(item, error)`` with the ``ray.exceptions.RayError``.
    An exception from ``done`` cancels the tasks still running and propagates.
    """
    ray = import_ray()
    queue = iter(items)
    running: dict[Any, Item] = {}

    def top_up() -> None:
        for item in queue:
            running[submit(item)] = item
            if len(running) >= in_flight:
                return

    try:
        top_up()
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                item = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    result = exc
                done(item, result)
            top_up()
    except BaseException:  # done() gave up, or the user interrupted: leave no task running
        for ref in running:
            ray.cancel(ref)
        raise


def task_failure(error: BaseException) -> str:
    """One line for a task Ray gave up on."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"Ray task failed: {type(error).__name__}{': ' + first if first else ''}"

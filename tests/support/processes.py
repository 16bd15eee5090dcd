"""What the throwaway test servers (tests.support.postgres_server, tests.support.redis_server) share.

Free ports, bounded polling, child processes that are always stopped (``finally`` blocks, an ``atexit``
hook, and a Linux parent-death signal so that even a ``kill -9`` of pytest does not leave servers behind),
the errors that tell a skip from a failure, and the context-manager protocol of a server provider.
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

LOCALHOST = "127.0.0.1"


class ServiceUnavailable(Exception):
    """The service cannot be provided in this environment (missing binaries, ...): tests should skip."""


class ServiceStartError(RuntimeError):
    """The service binaries are there but the server did not come up: a real error, not a skip."""


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port that nothing listens on right now (bind to port 0, read it back, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:]) or "<empty log>"


_cleanups: dict[int, Callable[[], None]] = {}
_cleanups_lock = threading.Lock()


def register_cleanup(key: object, func: Callable[[], None]) -> None:
    """Run ``func`` at interpreter exit unless :func:`unregister_cleanup` is called first."""
    with _cleanups_lock:
        _cleanups[id(key)] = func


def unregister_cleanup(key: object) -> None:
    with _cleanups_lock:
        _cleanups.pop(id(key), None)


@atexit.register
def _run_cleanups_at_exit() -> None:
    with _cleanups_lock:
        funcs = list(_cleanups.values())
        _cleanups.clear()
    for func in reversed(funcs):
        with contextlib.suppress(Exception):
            func()


def _parent_death_preexec(sig: signal.Signals) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when pytest dies (even by SIGKILL).

    CPython calls ``preexec_fn`` after the ``user=``/``group=`` switch, and the switch would clear the
    setting, so this order is the one that works.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    parent_pid = os.getpid()

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(sig))
        if os.getppid() != parent_pid:  # parent already gone between fork and prctl
            os.kill(os.getpid(), sig)

    return preexec


class ManagedProcess:
    """A server child process with a log file that is stopped by :meth:`stop` (idempotent) or at exit."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        log_path: Path,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        user: int | None = None,
        group: int | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        death_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.args = list(args)
        self.log_path = log_path
        self.stop_signal = stop_signal
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                user=user,
                group=group,
                extra_groups=[] if user is not None else None,
                start_new_session=True,  # a Ctrl-C in the terminal must not reach the servers first
                preexec_fn=_parent_death_preexec(death_signal),
            )
        register_cleanup(self, self._stop_at_exit)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def _stop_at_exit(self) -> None:
        self.stop(timeout=5.0)

    def stop(self, timeout: float = 10.0, sig: signal.Signals | None = None) -> int | None:
        """Send the stop signal, wait up to ``timeout`` seconds, then SIGKILL. Returns the exit code."""
        try:
            if self.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.popen.send_signal(sig or self.stop_signal)
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        self.popen.kill()
                    self.popen.wait(5)
            return self.popen.returncode
        finally:
            unregister_cleanup(self)


def wait_until_ready[T](
    check: Callable[[], T],
    *,
    process: ManagedProcess,
    what: str,
    timeout: float,
) -> T:
    """Poll ``check`` until it returns without raising; bounded by ``timeout`` and by the process dying."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    last_error: BaseException | None = None
    while True:
        if not process.running:
            raise ServiceStartError(
                f"{what} exited with code {process.popen.returncode} before it was ready.\n"
                f"command: {' '.join(process.args)}\n"
                f"--- log tail ({process.log_path}) ---\n{log_tail(process.log_path)}"
            )
        try:
            return check()
        except Exception as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise ServiceStartError(
                f"{what} did not become ready within {timeout:.0f}s (last error: {last_error!r}).\n"
                f"--- log tail ({process.log_path}) ---\n{log_tail(process.log_path)}"
            )
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.25)


def remove_tree(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


def new_password() -> str:
    return secrets.token_urlsafe(18)


class ServiceProvider[InfoT](abc.ABC):
    """A server the tests use: :meth:`start` gives how to reach it, :meth:`cleanup` (always) releases it.

    As a context manager, ``with provider as info:`` starts it and cleans up after, also when the start fails.
    """

    _info: InfoT | None = None

    @abc.abstractmethod
    def start(self) -> InfoT: ...

    @abc.abstractmethod
    def cleanup(self) -> None: ...

    @property
    def info(self) -> InfoT:
        if self._info is None:
            raise RuntimeError(f"{type(self).__name__}.start() has not been called")
        return self._info

    def __enter__(self) -> InfoT:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()


class LocalServer[InfoT](ServiceProvider[InfoT]):
    """A server process the tests start themselves, in a temporary directory that :meth:`cleanup` removes."""

    base_dir: Path | None = None
    process: ManagedProcess | None = None

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the server process, keeping its directory (the port is then closed)."""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            remove_tree(self.base_dir)
            self.base_dir = None
            unregister_cleanup(self)

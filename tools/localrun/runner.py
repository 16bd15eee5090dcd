"""Run bootstrap.py in a child interpreter isolated the way Lambda is, and enforce the timeouts."""

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import IO, Any

from localrun.cfn_yaml import TemplateError
from localrun.function import FunctionSpec

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase (imports and module-level code)
# A bound for an init that a starved machine never lets run: Lambda's longest invocation.
INIT_WALL_LIMIT_S = 900.0
# What the Lambda Python runtime itself provides besides the standard library (the AWS SDK and its
# dependencies). Taken from this interpreter's environment, placed after the layers as in Lambda.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


@dataclass(frozen=True)
class RunOutcome:
    payload_json: str | None
    error: dict[str, Any] | None
    logs: str
    duration_ms: float
    timed_out: bool
    init_ms: float = 0.0  # the init phase's own time (what Lambda's 10 s limit applies to)
    init_cpu_wait_ms: float = 0.0  # and the time it only waited for a CPU, not counted


def python_for(runtime: str) -> str:
    """The interpreter of the function's runtime: this one if the versions match, else pythonX.Y on PATH."""
    if not runtime.startswith("python3."):
        raise TemplateError(f"runtime {runtime!r}: localrun runs Python functions only")
    version = runtime.removeprefix("python")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        raise TemplateError(f"runtime {runtime} needs python{version} on PATH")
    return found


def sys_path_for(spec: FunctionSpec, runtime_sdk_dir: Path | None) -> list[str]:
    """/var/task, then /opt/python/lib/pythonX.Y/site-packages and /opt/python, then the runtime's SDK.

    Lambda extracts all layers into one /opt, later layers overwriting earlier ones; listing the
    later layers first gives the same winner for a module present in two layers.
    """
    version = spec.runtime.removeprefix("python")
    layers = list(reversed(spec.layers))
    paths = [spec.code_dir]
    paths += [layer.content_dir / "python" / "lib" / f"python{version}" / "site-packages" for layer in layers]
    paths += [layer.content_dir / "python" for layer in layers]
    paths = [p for p in paths if p.is_dir()]
    if runtime_sdk_dir is not None:
        paths.append(runtime_sdk_dir)
    return [str(p) for p in paths]


def make_runtime_sdk_dir(parent: Path) -> Path | None:
    """A directory with links to the SDK packages that the Lambda runtime ships, and nothing else."""
    sdk_dir = parent / "runtime-sdk"
    sdk_dir.mkdir()
    linked = 0
    for name in RUNTIME_SDK:
        spec = find_spec(name)
        if spec is None or spec.origin is None:
            continue  # not installed here: the function fails on it as it would without an SDK
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (sdk_dir / source.name).symlink_to(source)
        linked += 1
    return sdk_dir if linked else None


def _pump(stream: IO[bytes], sink: IO[str] | None, captured: list[str]) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace")
        captured.append(line)
        if sink is not None:
            sink.write(line)
            sink.flush()


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the handler's own children go too
    process.wait()


def cpu_wait_seconds(pid: int) -> float:
    """How long the process's threads have waited for a CPU while runnable, from Linux's schedstat.

    0 where the kernel does not report it (not Linux): the init is then timed by the wall clock.
    """
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0.0
    total_ns = 0
    for task in tasks:
        try:  # "<ns on a CPU> <ns waiting on a runqueue> <timeslices>"
            total_ns += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return total_ns / 1e9


@dataclass
class _Init:
    """The init phase as the function lived it: wall time minus the time it only waited for a CPU."""

    ready: bool | None = None  # True: init is over; False: it overstayed; None: the child ended first
    own_s: float = 0.0
    cpu_wait_s: float = 0.0
    overloaded: bool = False  # it overstayed INIT_WALL_LIMIT_S without using INIT_TIMEOUT_S of its own


def _wait_ready(process: subprocess.Popen[bytes], ready_fd: int) -> _Init:
    """Wait until the child says init is over, allowing it INIT_TIMEOUT_S of its own time.

    Lambda gives every environment its own CPU share, so its 10 s limit is the function's own
    slowness: imports, module-level code, a blocking call. Here other processes share the cores; the
    time the child was runnable but waited for a CPU is another process's doing and is not counted.
    """
    started = time.monotonic()
    init = _Init()

    def measure() -> float:
        wall = time.monotonic() - started
        # max(): the wait of a thread that ended is no longer reported, but it was waited.
        init.cpu_wait_s = max(init.cpu_wait_s, cpu_wait_seconds(process.pid))
        init.own_s = max(wall - init.cpu_wait_s, 0.0)
        return wall

    while True:
        wall = measure()
        if init.own_s >= INIT_TIMEOUT_S or wall >= INIT_WALL_LIMIT_S:
            init.ready, init.overloaded = False, init.own_s < INIT_TIMEOUT_S
            return init
        # Own time grows at most as fast as wall time: nothing can overstay before this wakes.
        budget = min(INIT_TIMEOUT_S - init.own_s, INIT_WALL_LIMIT_S - wall)
        readable, _, _ = select.select([ready_fd], [], [], budget)
        if readable:
            init.ready = True if os.read(ready_fd, 1) == b"I" else None
            measure()
            return init


def _supervise(process: subprocess.Popen[bytes], ready_fd: int, timeout_s: int) -> tuple[str | None, _Init]:
    """Wait for the child within Lambda's limits; kill it and say why when it overstays."""
    init = _Init()
    try:
        init = _wait_ready(process, ready_fd)
        if init.overloaded:
            _kill(process)
            return (
                f"Init phase did not end within {INIT_WALL_LIMIT_S:.0f} seconds, "
                f"{init.cpu_wait_s:.0f} of them waiting for a CPU: this machine is overloaded",
                init,
            )
        if init.ready is False:
            _kill(process)
            return f"Init phase timed out after {INIT_TIMEOUT_S:.2f} seconds", init
        try:
            process.wait(timeout=timeout_s if init.ready else None)
        except subprocess.TimeoutExpired:
            _kill(process)
            return f"Task timed out after {timeout_s:.2f} seconds", init
        return None, init
    finally:
        if process.poll() is None:
            _kill(process)


def _outcome(result_path: Path, returncode: int) -> tuple[str | None, dict[str, Any] | None]:
    if not result_path.exists():  # the interpreter died: sys.exit, os._exit, a signal
        how = f"signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
        return None, {"errorType": "Runtime.ExitError", "errorMessage": f"Runtime exited with error: {how}"}
    outcome = json.loads(result_path.read_text(encoding="utf-8"))
    return outcome.get("payload_json"), outcome.get("error")


def run(
    spec: FunctionSpec,
    event: Any,
    env: Mapping[str, str],
    *,
    invoked_function_arn: str,
    request_id: str,
    log_sink: IO[str] | None,
    runtime_sdk: bool = True,
) -> RunOutcome:
    python = python_for(spec.runtime)
    with tempfile.TemporaryDirectory(prefix="localrun-") as tmp:
        work = Path(tmp)
        ready_read, ready_write = os.pipe()
        request = {
            "handler": spec.handler,
            "task_root": str(spec.code_dir),
            "sys_path": sys_path_for(spec, make_runtime_sdk_dir(work) if runtime_sdk else None),
            "event": event,
            "timeout_s": spec.timeout_s,
            "request_id": request_id,
            "invoked_function_arn": invoked_function_arn,
            "ready_fd": ready_write,
            "result_path": str(work / "result.json"),
        }
        (work / "request.json").write_text(json.dumps(request), encoding="utf-8")

        started = time.monotonic()
        # -I: no PYTHON* variables, no user site, no script directory on sys.path; -S: no site-packages
        # of the interpreter (or of this venv); -u: log lines appear when they are written.
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [python, "-I", "-S", "-u", str(BOOTSTRAP), str(work / "request.json")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=spec.code_dir,
            pass_fds=(ready_write,),
            start_new_session=True,  # its own process group, so that a kill takes its children too
        )
        os.close(ready_write)
        captured: list[str] = []
        assert process.stdout is not None
        pump = threading.Thread(target=_pump, args=(process.stdout, log_sink, captured), daemon=True)
        pump.start()
        try:
            timeout_error, init = _supervise(process, ready_read, spec.timeout_s)
        finally:
            os.close(ready_read)
        duration_ms = (time.monotonic() - started) * 1000
        pump.join(timeout=5)
        logs = "".join(captured)

        init_times = {"init_ms": init.own_s * 1000, "init_cpu_wait_ms": init.cpu_wait_s * 1000}
        if timeout_error is not None:
            error = {"errorType": "Sandbox.Timedout", "errorMessage": f"{request_id} {timeout_error}"}
            return RunOutcome(None, error, logs, duration_ms, timed_out=True, **init_times)
        payload_json, error_or_none = _outcome(work / "result.json", process.returncode)
        return RunOutcome(payload_json, error_or_none, logs, duration_ms, timed_out=False, **init_times)

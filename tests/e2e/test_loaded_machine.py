"""`make run` on a loaded machine: a built function's cold start through `runbook-local`, while every
core is busy, must not fail Lambda's 10 s init limit for time it only spent waiting for a CPU.

Lambda gives each environment its own CPU share; here the sandbox's functions share two cores with
everything else (four cold starts on the first tick, other people's tests). The build is copied
without bytecode, so every import compiles from source as on Lambda, where /opt is read-only.

The load: busy loops pinned to every core, as many as leave the function, by its own unloaded run's
CPU time, about twice Lambda's limit of wall time for the whole invocation. The test checks that
its init did take longer than the limit by the wall clock, so it cannot pass by the load being light.
"""

import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from localrun import runner
from tests.e2e.conftest import ROOT, LocalAws
from tests.support.clock_shift import child_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

RUNBOOK_LOCAL = Path(sys.executable).with_name("runbook-local")
EVENT = ROOT / "events" / "health_probe" / "schedule.json"
TARGET_WALL_S = 2 * runner.INIT_TIMEOUT_S
MAX_LOOPS_PER_CORE = 16


def cold_copy(built_template: Path, where: Path) -> Path:
    """The build without bytecode: a first cold start, as every cold start on Lambda is."""
    shutil.copytree(built_template.parent, where, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
    return where / built_template.name


@contextmanager
def busy_cores(per_core: int) -> Iterator[None]:
    """per_core busy loops pinned to each core, each in its own session: with autogroup scheduling
    (Linux's default for desktops) every session is one group, and the function's runbook-local
    child starts its own session too, so busy loops of one session would count as one."""
    loops = [
        subprocess.Popen(
            [sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"],
            start_new_session=True,
        )
        for cpu in sorted(os.sched_getaffinity(0))
        for _ in range(per_core)
    ]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def loops_per_core(cpu_s: float) -> int:
    """Busy loops per core that leave a run of cpu_s seconds of CPU about TARGET_WALL_S of wall time:
    with m loops on its core a process gets 1/(m + 1) of it."""
    return min(max(math.ceil(TARGET_WALL_S / cpu_s) - 1, 1), MAX_LOOPS_PER_CORE)


def invoke_cli(template: Path, config: Path, aws: LocalAws) -> subprocess.CompletedProcess[str]:
    pairs = {**aws.function_env(), "RUNBOOK_CONFIG": str(config), **child_env()}
    env_args = [arg for name, value in pairs.items() for arg in ("--env", f"{name}={value}")]
    return subprocess.run(
        [
            str(RUNBOOK_LOCAL),
            "invoke",
            "HealthProbeFunction",
            "-t",
            str(template),
            "-e",
            str(EVENT),
            *env_args,
        ],
        capture_output=True,
        text=True,
        timeout=500,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")},
        check=False,
    )


def cpu_seconds_of[T](run: Callable[[], T]) -> tuple[T, float]:
    """run()'s result and the CPU time (user + system) its child processes used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_a_cold_start_on_busy_cores_is_not_an_init_timeout(
    built_template: Path, local_aws: LocalAws, target_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "runbook.yaml"
    config.write_text(f"version: 1\nchecks:\n  - {{name: local-ok, kind: http, url: '{target_url}/ok'}}\n")

    unloaded_template = cold_copy(built_template, tmp_path / "unloaded")
    unloaded, cpu_s = cpu_seconds_of(lambda: invoke_cli(unloaded_template, config, local_aws))
    assert unloaded.returncode == 0, unloaded.stderr
    per_core = loops_per_core(cpu_s)

    with busy_cores(per_core):
        loaded = invoke_cli(cold_copy(built_template, tmp_path / "loaded"), config, local_aws)

    assert "Init phase timed out" not in loaded.stderr + loaded.stdout, loaded.stderr[-3000:]
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert json.loads(loaded.stdout)["checks"] == 1
    # The load was real: the init took longer than Lambda's limit by the wall clock, which is what
    # failed before; its own time is what the limit is about.
    init = re.search(r"\(init (\d+) ms, (\d+) ms more waiting for a CPU\)", loaded.stderr)
    assert init, loaded.stderr[-3000:]
    own_ms, waited_ms = float(init.group(1)), float(init.group(2))
    assert own_ms + waited_ms > runner.INIT_TIMEOUT_S * 1000, (per_core, own_ms, waited_ms)

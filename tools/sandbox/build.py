"""`sam build` for this machine's architecture, cached like the e2e tests' build (tests/e2e/conftest.py):
the dependency cache sits in the system temp dir, keyed by checkout and architecture and locked against
concurrent builds, so the sandbox and the e2e tests share it and nothing lands in the repository. The
sandbox keeps its build next to that cache; a second run rebuilds only what changed.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from localrun.api import host_architecture

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 900


class BuildError(Exception):
    pass


def default_cache_root(architecture: str) -> Path:
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"runbook-automation-sam-{checkout}-{architecture}"


def _python313_with_pip() -> Path:
    """sam's pip builder needs a python3.13 that has pip; the uv venv has none, its base interpreter has."""
    candidates = [Path(sys.base_prefix) / "bin" / "python3.13", Path(sys.executable)]
    found = shutil.which("python3.13")
    candidates += [Path(found)] if found else []
    for python in candidates:
        if not python.exists():
            continue
        probe = subprocess.run(  # noqa: S603 - fixed argv
            [python, "-m", "pip", "--version"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return python
    raise BuildError(
        "sam build needs python3.13 with pip on PATH; none of " + ", ".join(map(str, candidates))
    )


def _sam() -> str:
    beside_python = Path(sys.executable).with_name("sam")
    return str(beside_python) if beside_python.exists() else shutil.which("sam") or "sam"


def run_sam(
    args: list[str], *, cwd: Path, timeout: int = BUILD_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """`sam <args>` with a python3.13 that has pip first on PATH (sam's pip builder needs it)."""
    python = _python313_with_pip()
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["SAM_CLI_TELEMETRY"] = "0"
    try:
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            [_sam(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"sam {args[0]} took longer than {timeout}s") from None


def sam_build(
    cache_root: Path | None = None, architecture: str | None = None, build_dir: Path | None = None
) -> Path:
    """Build template.yaml for `architecture` (default: this machine's) into `build_dir` (default: the
    sandbox's, next to the cache); returns the built template."""
    architecture = architecture or host_architecture()
    cache_root = cache_root or default_cache_root(architecture)
    cache_root.mkdir(parents=True, exist_ok=True)
    build_dir = build_dir or cache_root / "sandbox" / "build"
    # sam keys its cache by the build graph it writes next to the build dir (build.toml); keeping that
    # file with the cache is what lets a build dir reuse the cached dependencies.
    graph, own_graph = cache_root / "build.toml", build_dir.parent / "build.toml"
    with (cache_root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # builds must not share a half-written cache
        build_dir.parent.mkdir(parents=True, exist_ok=True)
        if graph.exists():
            shutil.copyfile(graph, own_graph)
        args = [
            "build",
            "--template-file",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(build_dir),
            "--cache-dir",
            str(cache_root / "cache"),
            "--cached",  # its dependency folder is .aws-sam/deps under cwd: the cache root, not the repo
            "--parallel",
            "--parameter-overrides",
            f"Architecture={architecture}",
        ]
        built = run_sam(args, cwd=cache_root)
        if built.returncode == 0 and own_graph.exists():
            shutil.copyfile(own_graph, graph)
    if built.returncode != 0:
        raise BuildError(f"sam build failed:\n{built.stdout}\n{built.stderr}")
    return build_dir / "template.yaml"

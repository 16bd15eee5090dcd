"""Builds the CommonLayer into ARTIFACTS_DIR/python, compiled, for both Lambda architectures.

Why not sam's pip builder: it ships sources only, and /opt is read-only on Lambda, so every cold start
compiled the whole layer again (about 1.5 s of a 2.2 s init). Bytecode is written here with
unchecked-hash invalidation: zip and unzip change file times, and a timestamp-checked .pyc would be
ignored on Lambda. A makefile build is not told the architecture, so the layer carries both: pure
Python files are shared, and each compiled extension is named for its platform
(`*.cpython-313-aarch64-linux-gnu.so`, `*-x86_64-linux-gnu.so`), which is how CPython picks its own.
A file that the two architectures' wheels both ship with different contents stops the build.
"""

import compileall
import filecmp
import py_compile
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARCHITECTURES = ("x86_64", "aarch64")
# Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): wheels up to manylinux_2_34 load there.
GLIBC_TAGS = ("manylinux_2_34", "manylinux_2_28", "manylinux_2_17", "manylinux2014")
PIP_TIMEOUT_S = 600
RUNTIME = (3, 13)


class LayerBuildError(Exception):
    pass


def install(architecture: str, target: Path) -> None:
    platforms = [arg for tag in GLIBC_TAGS for arg in ("--platform", f"{tag}_{architecture}")]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target), "--requirement", str(HERE / "requirements.txt"),
        "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.13", *platforms,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)  # noqa: S603
    if done.returncode != 0:
        raise LayerBuildError(f"pip install for {architecture} failed:\n{done.stdout}\n{done.stderr}")


def merge(source: Path, destination: Path) -> None:
    """Copy `source` into `destination`; a file both hold must be the same, but for wheel metadata."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        target = destination / relative
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif not target.exists():
            shutil.copy2(path, target)
        elif not filecmp.cmp(path, target, shallow=False) and ".dist-info" not in relative.parts[0]:
            raise LayerBuildError(f"{relative} differs between architectures: one layer cannot hold both")


def build(artifacts: Path) -> None:
    if sys.version_info[:2] != RUNTIME:
        raise LayerBuildError(f"the layer's bytecode is for python3.13; this is {sys.version.split()[0]}")
    python = artifacts / "python"
    python.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="common-layer-") as scratch:
        for architecture in ARCHITECTURES:
            installed = Path(scratch) / architecture
            install(architecture, installed)
            merge(installed, python)
    shutil.copytree(HERE / "runbook", python / "runbook", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    compiled = compileall.compile_dir(
        python, quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    if not compiled:
        raise LayerBuildError("compileall could not compile every module of the layer")


if __name__ == "__main__":
    try:
        build(Path(sys.argv[1]))
    except LayerBuildError as error:
        sys.exit(f"build_layer: {error}")

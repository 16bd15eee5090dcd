"""What may import what between the top folders (STYLE: tests, benchmarks and local tools share their
test doubles from one package that product code never imports; the sandbox is a tool, not a test).

- layers/, functions/, tools/ and benchmarks/ never import from tests/: the shared doubles are the
  standins package (tools/standins), the pytest fixtures around them stay in tests/support;
- the product (layers/, functions/) never imports standins;
- the standins package, the sandbox and the benchmarks import without pytest and without tests/, as
  `make run` and `make bench` run them.
"""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_TESTS = ("layers", "functions", "tools", "benchmarks")
PRODUCT = ("layers", "functions")


def python_files(*folders: str) -> list[Path]:
    files = [
        path
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "__pycache__" not in path.parts and ".aws-sam" not in path.parts
    ]
    assert files, f"no Python files under {folders}"
    return files


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in `path`, also those inside functions, and of
    `importlib.import_module("...")` / `__import__("...")` with a literal name."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def imports_of(package: str, folders: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in python_files(*folders)
        for line, module in imported_modules(path)
        if module == package or module.startswith(f"{package}.")
    ]


@pytest.mark.parametrize("folder", NOT_TESTS)
def test_nothing_outside_tests_imports_from_tests(folder: str) -> None:
    found = imports_of("tests", (folder,))
    assert found == [], (
        "imports from tests/ (move what they need into tools/standins, which tests import too):\n"
        + "\n".join(found)
    )


def test_the_product_never_imports_the_standins() -> None:
    assert imports_of("standins", PRODUCT) == []


def test_the_finder_sees_imports_in_every_form(tmp_path: Path) -> None:
    """The check above cannot pass by not seeing an import."""
    source = tmp_path / "sample.py"
    source.write_text(
        textwrap.dedent(
            """
            import tests.support.aws
            from tests.support import standin_fixtures
            from . import relative


            def later():
                import importlib

                from tests import conftest

                return importlib.import_module("tests.support.readme")
            """
        )
    )
    modules = [module for _, module in imported_modules(source)]
    assert modules == ["tests.support.aws", "tests.support", "importlib", "tests", "tests.support.readme"]


# The child blocks both: `import pytest` and `import tests...` raise ImportError, as on a machine
# without the dev tools' pytest or run from outside the checkout's root.
_IMPORT_ALL = """
import importlib, pkgutil, sys

sys.modules["pytest"] = None
sys.modules["tests"] = None
names = []
for package in ("standins", "sandbox"):
    path = importlib.import_module(package).__path__
    names += [package, *(info.name for info in pkgutil.walk_packages(path, package + "."))]
names += sys.argv[1:]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def test_the_standins_the_sandbox_and_the_benchmarks_import_without_pytest_or_tests() -> None:
    benchmarks = [f"benchmarks.{path.stem}" for path in python_files("benchmarks") if path.stem != "__init__"]
    assert benchmarks
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, *benchmarks],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) > len(benchmarks) + 10  # the packages' modules were walked

"""tests/vendor/ holds copies of ../shared (vendors' specs, public sample payloads) so the suite runs
wherever the repository is checked out. Where ../shared is present, the copies must still match it."""

import importlib.machinery
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
VENDOR = ROOT / "tests" / "vendor"


def vendor_script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("vendor_shared", str(ROOT / "scripts" / "vendor-shared"))
    spec = importlib.util.spec_from_loader("vendor_shared", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shared() -> Path:
    if not (SHARED / "specs").is_dir():
        pytest.skip(f"{SHARED} is not beside the repository: nothing to compare the copies with")
    return SHARED


def test_copies_match_shared(shared: Path) -> None:
    for folder, names in vendor_script().COPIED.items():
        for name in names:
            assert (VENDOR / folder / name).read_bytes() == (shared / folder / name).read_bytes(), (
                f"tests/vendor/{folder}/{name} differs from {shared}: run scripts/vendor-shared"
            )


def test_rest_subset_is_what_the_script_makes_of_shared(shared: Path) -> None:
    script = vendor_script()
    whole = json.loads((shared / "specs" / "pagerduty-rest.openapi.json").read_text())
    vendored = json.loads((VENDOR / "specs" / "pagerduty-rest.subset.openapi.json").read_text())
    assert vendored == script.rest_subset(whole), "run scripts/vendor-shared"


def test_the_subset_keeps_every_operation_the_adapters_call() -> None:
    subset = json.loads((VENDOR / "specs" / "pagerduty-rest.subset.openapi.json").read_text())
    adapters = (ROOT / "layers/common/runbook/adapters/pagerduty.py").read_text()
    for path, methods in vendor_script().REST_OPERATIONS.items():
        assert set(methods) <= set(subset["paths"][path])
        assert path.split("/{")[0] in adapters, f"{path} is vendored but no adapter calls it"


def test_statuspage_subset_is_what_the_script_makes_of_shared(shared: Path) -> None:
    script = vendor_script()
    whole = json.loads((shared / "specs" / "statuspage.openapi.json").read_text())
    vendored = json.loads((VENDOR / "specs" / "statuspage.subset.openapi.json").read_text())
    assert vendored == script.statuspage_subset(whole), "run scripts/vendor-shared"


def test_the_statuspage_subset_keeps_every_operation_the_adapter_calls() -> None:
    subset = json.loads((VENDOR / "specs" / "statuspage.subset.openapi.json").read_text())
    adapter = (ROOT / "layers/common/runbook/adapters/statuspage.py").read_text()
    assert "api_key" in subset["components"]["securitySchemes"]
    for path, methods in vendor_script().STATUSPAGE_OPERATIONS.items():
        assert set(methods) <= set(subset["paths"][path])
        last = [part for part in path.split("/") if part and not part.startswith("{")][-1]
        assert f"/{last}" in adapter, f"{path} is vendored but no adapter calls it"
        assert any(method.upper() in adapter for method in methods)

"""The design lives in the repository (docs/ARCHITECTURE.md) and stays current with the code: the
documents point at nothing outside the checkout, and the design names every function and handler of
template.yaml, every environment variable the functions read and every kind of state-table item the
adapters write. A new one that the design does not describe fails here."""

import re
from pathlib import Path

import pytest

from localrun.cfn_yaml import load_template
from runbook.models.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "ARCHITECTURE.md"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Product code and its comments; tests/ and scripts/vendor-shared copy ../shared on purpose (vendoring).
PRODUCT = ["layers", "functions", "tools", "config", "events", "benchmarks", "template.yaml", "Makefile"]
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_ITEM_PREFIX = re.compile(r"\"([a-z]+#[a-z-]*)")


def design() -> str:
    assert DESIGN.is_file(), "the design document docs/ARCHITECTURE.md is missing"
    return DESIGN.read_text(encoding="utf-8")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository(document: Path) -> None:
    for target in _LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a URL or an anchor of the same page
        path = (document.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{document.name} links outside the repository: {target}"
        assert path.exists(), f"{document.name} links to a missing file: {target}"


def test_nothing_points_to_the_shared_folder_outside_the_checkout() -> None:
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*")]
    for entry in PRODUCT:
        path = ROOT / entry
        files += [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    pointing = [
        str(f.relative_to(ROOT))
        for f in files
        if "__pycache__" not in f.parts and "../shared" in f.read_text(encoding="utf-8", errors="ignore")
    ]
    assert pointing == []


def test_the_design_names_every_function_and_its_handler() -> None:
    text = design()
    for logical_id, resource in load_template(ROOT / "template.yaml")["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        module, function = properties["Handler"].rsplit(".", 1)
        handler = f"{properties['CodeUri'].rstrip('/')}/{module}.py:{function}"
        assert f"`{logical_id}`" in text, logical_id
        assert handler in text, handler


def test_the_design_names_every_environment_variable_the_functions_read() -> None:
    text = design()
    for field in Settings.model_fields.values():
        assert f"`{field.alias}`" in text, field.alias


def test_the_design_describes_every_kind_of_state_table_item() -> None:
    text = design()
    adapters = (ROOT / "layers" / "common" / "runbook" / "adapters").rglob("*.py")
    prefixes = {m for path in adapters for m in _ITEM_PREFIX.findall(path.read_text(encoding="utf-8"))}
    assert prefixes, "no state-table keys found in the adapters: has the key style changed?"
    assert sorted(p for p in prefixes if f"`{p}" not in text) == []

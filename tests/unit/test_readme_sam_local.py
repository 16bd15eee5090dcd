"""The README's `sam local invoke` recipe cannot run here (it needs Docker and an AWS account), but its
argument order can be checked: bash expands the block as a reader's shell would (with `uv` and
`make` recording their arguments instead of running), and sam's own command line parses each
invocation, as `sam local invoke` would before starting a container. So "HealthProbeFunction is not a
valid format" (the logical ID swallowed by --parameter-overrides) cannot come back."""

import json
import subprocess
from pathlib import Path

import click
import pytest
from samcli.commands.local.invoke.cli import cli as sam_local_invoke  # type: ignore[import-untyped]

from localrun.api import host_architecture
from localrun.cfn_yaml import load_template
from tests.support.readme import README

ROOT = README.parent
# Shell functions shadow the programs: each call appends its arguments, NUL-separated, one per line.
SHIMS = """\
uv() { printf '%s\\0' "$@" >> "$RECORD"; printf '\\n' >> "$RECORD"; }
make() { :; }
"""


def recipe() -> str:
    """The sh block of the README that runs `sam local invoke`, as written."""
    text = README.read_text(encoding="utf-8")
    blocks = text.split("```sh\n")[1:]
    (block,) = [b.split("```", 1)[0] for b in blocks if "sam local invoke " in b.split("```", 1)[0]]
    return block


def expanded_invocations(tmp_path: Path) -> list[list[str]]:
    record = tmp_path / "argv"
    record.touch()
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", SHIMS + recipe()],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "RECORD": str(record)},
        check=True,
        timeout=30,
    )
    calls = [line.split("\0")[:-1] for line in record.read_text().splitlines() if line]
    return [argv[4:] for argv in calls if argv[:4] == ["run", "sam", "local", "invoke"]]


def functions_by_code_dir() -> dict[str, str]:
    resources = load_template(ROOT / "template.yaml")["Resources"]
    return {
        Path(r["Properties"]["CodeUri"]).name: name
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }


def test_every_invocation_parses_with_sams_own_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invocations = expanded_invocations(tmp_path)
    assert invocations, "the recipe invokes nothing"
    monkeypatch.chdir(ROOT)  # sam reads samconfig.toml from here, as for a reader
    functions = functions_by_code_dir()
    for argv in invocations:
        try:
            params = sam_local_invoke.make_context("sam local invoke", list(argv)).params
        except click.ClickException as error:
            pytest.fail(f"sam local invoke {' '.join(argv)}: {error.format_message()}")
        event = Path(params["event"])
        assert (ROOT / event).is_file(), argv
        # The event belongs to the function invoked: events/<dir>/ goes to CodeUri functions/<dir>/.
        assert params["function_logical_id"] == functions[event.parent.name], argv
        assert (ROOT / params["env_vars"]).is_file(), argv
        json.loads((ROOT / params["env_vars"]).read_text())
        assert dict(params["parameter_overrides"]) == {"Architecture": host_architecture()}, argv


def test_the_recipe_invokes_every_sample_event(tmp_path: Path) -> None:
    invoked = {argv[argv.index("-e") + 1] for argv in expanded_invocations(tmp_path)}
    assert invoked == {str(p.relative_to(ROOT)) for p in (ROOT / "events").glob("*/*.json")}

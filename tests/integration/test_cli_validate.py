"""`runbook validate` refuses a config that cannot work in the functions template.yaml deploys (a check
timeout longer than its function may run) and warns about what would silently do nothing (no
`pagerduty:` or `statuspage:` section while the template deploys their functions)."""

from pathlib import Path

import pytest

from localrun.cfn_yaml import load_template
from runbook.cli import EXIT_BAD_CONFIG, EXIT_OK, main

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SECTIONS = (
    "pagerduty:\n"
    "  services: {platform: {routing_key: {ssm: /runbook/pagerduty/platform}}}\n"
    "  default_service: platform\n"
    "statuspage:\n"
    "  page_id: p\n"
    "  api_key: {ssm: /runbook/statuspage}\n"
    "  components: [{id: c, name: API, match: {check: [api]}}]\n"
)


def shipped_timeout(function: str) -> float:
    """The function's Timeout as template.yaml deploys it: the expectation comes from the template."""
    return float(load_template(TEMPLATE)["Resources"][function]["Properties"]["Timeout"])


def write(tmp_path: Path, text: str, name: str = "runbook.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def line_of(text: str, line: str) -> int:
    return text.splitlines().index(line) + 1


def test_a_check_timeout_longer_than_its_function_runs_is_refused(tmp_path, capsys):
    text = (
        "checks:\n"
        "  - name: api\n    kind: http\n    url: https://a.example.com/\n"
        "  - name: reports\n    kind: http\n    url: https://r.example.com/\n    timeout: 600s\n" + SECTIONS
    )
    config = write(tmp_path, text)
    assert main(["validate", "--config", config, "--template", str(TEMPLATE)]) == EXIT_BAD_CONFIG
    out, err = capsys.readouterr()
    assert "valid" not in out
    [problem] = err.splitlines()[1:]
    function_timeout = shipped_timeout("HealthProbeFunction")  # 55 s
    longest = function_timeout - 5 - 3  # probe.deadline_margin (5 s default), setup and grace (3 s)
    assert problem.startswith(
        f'  - line {line_of(text, "    timeout: 600s")}: checks[1] "reports" (http): timeout: '
    )
    assert f"600 s does not fit in HealthProbeFunction's run: its Timeout {function_timeout:g} s" in problem
    assert f"lower it to {longest:g}s at most, or raise the function's Timeout" in problem
    assert "never alerts" in problem


def test_the_template_in_the_current_directory_is_read_by_default(tmp_path, capsys, monkeypatch):
    config = write(
        tmp_path, "checks:\n  - {name: api, kind: heartbeat, max_age: 1h, timeout: 600s}\n" + SECTIONS
    )
    monkeypatch.chdir(ROOT)
    assert main(["validate", "--config", config]) == EXIT_BAD_CONFIG
    assert "does not fit in HealthProbeFunction's run" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # no template here: valid, and it says what it could not compare
    assert main(["validate", "--config", config]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.startswith(f"{config}: valid, 1 checks")
    assert "warning: no template.yaml in the current directory" in err
    assert "check timeouts were not compared" in err


def test_the_limits_follow_the_template_globals_and_the_deadline_margin(tmp_path, capsys):
    template = write(
        tmp_path,
        "Globals:\n  Function:\n    Timeout: 20\n"
        "Resources:\n"
        "  HealthProbeFunction:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: app.h}\n"
        "  QuotaCheckFunction:\n    Type: AWS::Serverless::Function\n    Properties: {Timeout: 60}\n",
        "template.yaml",
    )
    text = (
        "defaults: {timeout: 13s}\nprobe: {deadline_margin: 2s}\n"
        "checks:\n  - name: api\n    kind: http\n    url: https://a.example.com/\n"
        "integrations:\n  - {name: vendor, status_url: 'https://v.example.com/', timeout: 56s}\n" + SECTIONS
    )
    vendor = "  - {name: vendor, status_url: 'https://v.example.com/', timeout: 56s}"
    # 20 s (Globals) - 2 s margin - 3 s leaves 15 s: 13 s fits. 60 s - 2 s - 3 s leaves 55 s: 56 s does not.
    config = write(tmp_path, text)
    assert main(["validate", "--config", config, "--template", template]) == EXIT_BAD_CONFIG
    [problem] = capsys.readouterr().err.splitlines()[1:]
    assert problem.startswith(f'  - line {line_of(text, vendor)}: integrations[0] "vendor": timeout: 56 s')
    assert "does not fit in QuotaCheckFunction's run: its Timeout 60 s" in problem
    assert "lower it to 55s at most" in problem

    longer = text.replace("timeout: 13s", "timeout: 16s")
    config = write(tmp_path, longer)
    assert main(["validate", "--config", config, "--template", template]) == EXIT_BAD_CONFIG
    inherited = capsys.readouterr().err.splitlines()[1]
    assert inherited.startswith(
        f'  - line {line_of(longer, "  - name: api")}: checks[0] "api" (http): timeout'
        f" (from defaults.timeout, line {line_of(longer, 'defaults: {timeout: 16s}')}): 16 s does not fit"
        " in HealthProbeFunction's run: its Timeout 20 s"
    )
    assert "lower it to 15s at most" in inherited


def test_absent_pagerduty_and_statuspage_sections_are_warnings_after_the_ok_line(tmp_path, capsys):
    config = write(tmp_path, "checks:\n  - {name: api, kind: http, url: 'https://a.example.com/'}\n")
    assert main(["validate", "--config", config, "--template", str(TEMPLATE)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"{config}: valid, 1 checks, 0 integrations"
    assert err.splitlines() == [
        "warning: no `pagerduty:` section: alerts will not page anybody (PagerDutyEscalationFunction does "
        "nothing)",
        "warning: no `statuspage:` section: the status page will not be kept, nor #incident-room reminded "
        "(StatuspageUpdateFunction does nothing)",
    ]


@pytest.mark.parametrize("config", ["config/runbook.yaml", "config/examples/local.yaml"])
def test_the_shipped_configs_fit_the_template(config, capsys):
    assert main(["validate", "--config", str(ROOT / config), "--template", str(TEMPLATE)]) == EXIT_OK
    err = capsys.readouterr().err
    if config == "config/runbook.yaml":
        assert err == ""  # every section is there: nothing to warn about


def test_the_readme_states_the_limits_of_the_shipped_template():
    probe = shipped_timeout("HealthProbeFunction") - 5 - 3
    quota = shipped_timeout("QuotaCheckFunction") - 5 - 3
    assert f"{probe:g} s and {quota:g} s with the shipped template" in " ".join(
        (ROOT / "README.md").read_text().split()
    )

"""Bad config: each kind of mistake names the file, the line, the check and the field, and says what
is expected."""

from pathlib import Path

import pytest

from runbook.config_file import ConfigError, load_config, parse_config
from runbook.models.config import HttpCheck

ROOT = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "runbook.yaml")
    assert str(caught.value).startswith("runbook.yaml: ")
    return caught.value.problems


def test_shipped_configs_are_valid():
    shipped = load_config(ROOT / "config" / "runbook.yaml")
    assert {c.kind for c in shipped.checks} == {"http", "postgres", "redis", "queue", "heartbeat"}
    load_config(ROOT / "config" / "examples" / "local.yaml")


def test_defaults_are_inherited_unless_a_check_sets_its_own():
    config = parse_config(
        """
defaults: {timeout: 2s, failure_threshold: 3, sev: SEV3}
checks:
  - {name: a, kind: http, url: "https://a.example.com/"}
  - {name: b, kind: http, url: "https://b.example.com/", timeout: 500ms, sev: SEV1}
"""
    )
    a, b = config.checks
    assert (a.timeout, a.failure_threshold, a.sev) == (2.0, 3, "SEV3")
    assert (b.timeout, b.failure_threshold, b.sev) == (0.5, 3, "SEV1")


def test_wrong_duration_names_line_check_and_field():
    [problem] = problems(
        """checks:
  - name: api
    kind: http
    url: https://api.example.com/healthz
    expect:
      max_latency: fast
"""
    )
    assert problem.startswith('line 6: checks[0] "api" (http): expect.max_latency:')
    assert 'expected a duration like "200ms"' in problem
    assert "'fast'" in problem


def test_unknown_field_is_an_error_not_ignored():
    [problem] = problems("checks:\n  - {name: api, kind: http, url: 'https://a.example.com/', timout: 3s}\n")
    assert 'checks[0] "api" (http): timout: unknown field' in problem


def test_unknown_kind_lists_the_known_ones():
    [problem] = problems("checks:\n  - {name: ftp-server, kind: ftp}\n")
    assert "line 2" in problem
    assert "'http', 'postgres', 'redis', 'queue', 'heartbeat'" in problem
    assert "'ftp'" in problem


def test_missing_kind_and_missing_required_field():
    assert "kind is required" in problems("checks:\n  - {name: x}\n")[0]
    [problem] = problems("checks:\n  - name: db\n    kind: postgres\n    host: db.internal\n")
    assert 'checks[0] "db" (postgres): user: required field is missing' in problem


def test_nested_queue_backend_errors_point_inside_the_right_block():
    found = problems(
        """checks:
  - name: jobs
    kind: queue
    backend: bullmq
    queue: emails
    redis:
      hst: redis.internal
"""
    )
    assert 'line 7: checks[0] "jobs" (queue/bullmq): redis.host: required field is missing' in found
    assert any("redis.hst: unknown field" in p for p in found)
    [backend] = problems("checks:\n  - {name: jobs, kind: queue, backend: rabbit}\n")
    assert "backend must be one of" in backend


def test_plain_password_is_refused_with_what_to_write_instead():
    [problem] = problems("checks:\n  - {name: db, kind: postgres, host: h, user: u, password: hunter2}\n")
    assert "password: expected a secret reference: {ssm: /parameter/name} or {secret: name-or-arn" in problem
    assert "hunter2" not in problem  # the error would otherwise leak the secret it refuses


def test_password_in_url_is_refused():
    [problem] = problems("checks:\n  - {name: a, kind: http, url: 'https://u:hunter2@a.example.com/'}\n")
    assert "use a secret reference" in problem
    assert "hunter2" not in problem


def test_bad_names_and_duplicate_names():
    assert (
        "is not a valid name"
        in problems("checks:\n  - {name: Bad Name, kind: http, url: 'https://a.example.com/'}\n")[0]
    )
    twice = problems(
        "checks:\n  - {name: a, kind: http, url: 'https://a.example.com/'}\n"
        "  - {name: a, kind: http, url: 'https://b.example.com/'}\n"
    )
    assert twice == [
        "line 3: checks[1] \"a\" (http): name: 'a' is used twice; check and integration names must be "
        'unique: rename this one or checks[0] (checks[0] "a" (http) is on line 2)'
    ]


def test_invalid_defaults_are_reported_once_at_defaults():
    found = problems(
        "defaults: {timeout: soon}\nchecks:\n  - {name: a, kind: http, url: 'https://a.example.com/'}\n"
        "  - {name: b, kind: http, url: 'https://b.example.com/'}\n"
    )
    assert found == [
        'line 1: defaults.timeout: expected a duration like "200ms", "5s" or "15m", got \'soon\''
    ]


def test_yaml_syntax_error_has_line_and_column():
    [problem] = problems("checks:\n  - name: a\n    kind: [http\n")
    assert problem.startswith("line 4, column 1: not valid YAML")


def test_top_level_must_be_a_mapping_and_file_must_exist(tmp_path):
    assert "must be a mapping" in problems("- a\n- b\n")[0]
    with pytest.raises(ConfigError, match=r"file not found .*RUNBOOK_CONFIG"):
        load_config(tmp_path / "nope.yaml")


def test_secret_references_parse_in_headers():
    config = parse_config(
        "checks:\n  - name: a\n    kind: http\n    url: https://a.example.com/\n"
        "    headers: {Authorization: {secret: runbook/api, key: token}, User-Agent: runbook}\n"
    )
    check = config.checks[0]
    assert isinstance(check, HttpCheck)
    assert check.headers["User-Agent"] == "runbook"
    assert check.headers["Authorization"].describe() == "secret:runbook/api#token"  # type: ignore[union-attr]


def test_too_many_checks_is_refused():
    many = "checks:\n" + "".join(f"  - {{name: c{i}, kind: heartbeat, max_age: 1h}}\n" for i in range(2001))
    assert "at most 2000" in problems(many)[0]


def test_integration_errors_name_the_integration_and_the_field_inside_its_quota():
    found = problems(
        """integrations:
  - name: stripe
    status_url: https://api.stripe.example/status
    warning_percent: 96
  - name: maps
    status_url: https://maps.example/status
    auth: {header: Authorization, query: key, value: {secret: runbook/maps}}
    quota:
      source: body
      used: quota.used
      limt: quota.limit
"""
    )
    assert (
        'line 2: integrations[0] "stripe": warning_percent (96) must be below critical_percent (95)' in found
    )
    assert 'line 7: integrations[1] "maps": auth: set exactly one of auth.header or auth.query' in found
    assert any(p.startswith('line 11: integrations[1] "maps": quota.limt: unknown field') for p in found)


def test_checks_and_integrations_share_one_name_space():
    [twice] = problems(
        "checks:\n  - {name: stripe, kind: heartbeat, max_age: 1h}\n"
        "integrations:\n  - {name: stripe, status_url: 'https://api.stripe.example/status'}\n"
    )
    assert twice.startswith("line 4: integrations[0] \"stripe\": name: 'stripe' is used twice; check and")
    assert twice.endswith('(checks[0] "stripe" (heartbeat) is on line 2)')

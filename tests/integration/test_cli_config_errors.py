"""`runbook validate` on configs with the mistakes people make: the error names the line of the mistake
(counted here from the file the test writes) and says what to write instead; exit 2, no traceback."""

from pathlib import Path

import pytest

from runbook.cli import EXIT_BAD_CONFIG, main

HEADER = (
    "# yaml-language-server: $schema=./runbook.schema.json\n#\n# comments first, as in the shipped config\n"
)


def validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    path = tmp_path / "runbook.yaml"
    path.write_text(text)
    assert main(["validate", "--config", str(path)]) == EXIT_BAD_CONFIG
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line.removeprefix("  - ") for line in err.splitlines()[1:]]


def line_of(text: str, line: str, occurrence: int = 1) -> int:
    """1-based number of the `occurrence`-th line of `text` that equals `line`."""
    numbers = [n for n, content in enumerate(text.splitlines(), start=1) if content == line]
    return numbers[occurrence - 1]


def test_a_duplicate_name_points_at_the_second_name_line(tmp_path, capsys):
    text = (
        HEADER + "version: 1\n\ndefaults:\n  timeout: 5s\n\nchecks:\n"
        "  - name: api\n    kind: http\n    url: https://a.example.com/\n"
        "  - name: cache\n    kind: redis\n    host: cache.internal\n"
        "  - name: api\n    kind: heartbeat\n    max_age: 30m\n"
    )
    [problem] = validate(tmp_path, text, capsys)
    second, first = line_of(text, "  - name: api", 2), line_of(text, "  - name: api", 1)
    assert problem.startswith(f'line {second}: checks[2] "api" (heartbeat): name: ')
    assert "'api' is used twice" in problem
    assert f'checks[0] "api" (http) is on line {first}' in problem
    assert "rename" in problem


def test_a_name_shared_by_a_check_and_an_integration(tmp_path, capsys):
    text = (
        HEADER + "version: 1\nchecks:\n  - {name: stripe, kind: heartbeat, max_age: 1h}\n"
        "integrations:\n  - name: stripe\n    status_url: https://status.stripe.example/\n"
    )
    [problem] = validate(tmp_path, text, capsys)
    assert problem.startswith(f'line {line_of(text, "  - name: stripe")}: integrations[0] "stripe": name: ')


def test_a_list_item_indented_one_space_less(tmp_path, capsys):
    text = (
        HEADER + "version: 1\nchecks:\n"
        "  - name: api\n    kind: http\n    url: https://a.example.com/\n"
        " - name: db\n    kind: heartbeat\n    max_age: 1h\n"
    )
    [problem] = validate(tmp_path, text, capsys)
    assert problem.startswith(
        f"line {line_of(text, ' - name: db')}, column 2: `- name: db` is indented 1 space"
    )
    assert f"indent it 2 spaces like `- name: api` (line {line_of(text, '  - name: api')})" in problem
    assert "<block" not in problem


def test_a_key_indented_one_space_less_inside_a_list_item(tmp_path, capsys):
    text = (
        HEADER + "version: 1\nchecks:\n"
        "  - name: db\n    kind: postgres\n   host: db.internal\n    user: probe\n"
    )
    [problem] = validate(tmp_path, text, capsys)
    assert problem.startswith(f"line {line_of(text, '   host: db.internal')}, column 4: `host: db.internal`")
    assert "indent it 4 spaces like `kind: postgres`" in problem


def test_a_tab_in_the_indentation(tmp_path, capsys):
    text = HEADER + "version: 1\nchecks:\n  - name: api\n    kind: http\n\turl: https://a.example.com/\n"
    [problem] = validate(tmp_path, text, capsys)
    assert problem.startswith(
        f"line {line_of(text, chr(9) + 'url: https://a.example.com/')}, column 1: a tab"
    )
    assert "spaces only" in problem


def test_a_mapping_where_a_list_item_is_expected(tmp_path, capsys):
    text = (
        HEADER + "version: 1\nchecks:\n"
        "  - name: api\n    kind: http\n    url: https://a.example.com/\n"
        "  name: db\n  kind: heartbeat\n"
    )
    [problem] = validate(tmp_path, text, capsys)
    assert problem.startswith(f"line {line_of(text, '  name: db')}, column 3: `name: db` lines up with")
    assert "start a new item with `- `" in problem


def test_a_list_under_a_key_that_already_has_a_value(tmp_path, capsys):
    text = (
        HEADER + "version: 1\nchecks:\n"
        "  - name: api\n    kind: http\n    url: https://a.example.com/\n"
        "    expect:\n      status: 200\n      - 204\n"
    )
    [problem] = validate(tmp_path, text, capsys)
    assert problem.startswith(f"line {line_of(text, '      - 204')}, column 7: `- 204` is a list item")


def test_a_key_without_its_colon_is_reported_on_its_own_line_not_the_next(tmp_path, capsys):
    text = HEADER + "version: 1\nchecks:\n  - name: api\n    kind http\n    url: https://a.example.com/\n"
    [problem] = validate(tmp_path, text, capsys)
    assert problem.startswith(f"line {line_of(text, '    kind http')}, column 5: `kind http` is neither")


def test_a_quote_that_is_never_closed_is_reported_where_it_opens(tmp_path, capsys):
    text = HEADER + 'version: 1\nchecks:\n  - name: "api\n    kind: http\n    url: https://a.example.com/\n'
    [problem] = validate(tmp_path, text, capsys)
    assert problem.startswith(
        f"line {line_of(text, '  - name: "api')}, column 11: this quoted value is never closed"
    )


def test_a_value_with_a_colon_and_a_line_indented_too_deep(tmp_path, capsys):
    colon = (
        HEADER
        + "version: 1\nchecks:\n  - name: api\n    kind: heartbeat\n    max_age: 1h\n"
        + "    description: db: down\n"
    )
    [problem] = validate(tmp_path, colon, capsys)
    assert problem.startswith(
        f"line {line_of(colon, '    description: db: down')}, column 20: a `: ` inside a value"
    )
    deep = HEADER + "version: 1\nchecks:\n  - name: api\n    kind: http\n     url: https://a.example.com/\n"
    [problem] = validate(tmp_path, deep, capsys)
    assert problem.startswith(f"line {line_of(deep, '     url: https://a.example.com/')}, column 6: ")
    assert "deeper than `kind: http`" in problem


def test_a_key_given_twice_is_an_error_not_silently_the_last(tmp_path, capsys):
    text = (
        HEADER + "version: 1\nchecks:\n  - name: api\n    kind: heartbeat\n    max_age: 1h\n"
        "checks:\n  - name: db\n    kind: heartbeat\n    max_age: 1h\n"
    )
    [problem] = validate(tmp_path, text, capsys)
    second, first = line_of(text, "checks:", 2), line_of(text, "checks:", 1)
    assert problem.startswith(
        f"line {second}: `checks` is given twice in the same block (first on line {first})"
    )

"""PyYAML's syntax errors in words a person can act on, at the line of the mistake.

PyYAML reports where it noticed the problem (`problem_mark`). For an unfinished token (a key without
`:`, a quote that is never closed) that is a later line than the mistake: the token began at
`context_mark`. Indentation mistakes are named by what the line lines up with (or fails to) above it.
"""

from dataclasses import dataclass

import yaml

TAB_PROBLEM = "found character '\\t' that cannot start any token"


@dataclass(frozen=True)
class _Level:
    """An indentation open at the line in question: a key's column, or a list item's dash."""

    column: int
    line: int  # 1-based
    text: str  # the line from that column, as shown to the reader
    item: bool  # a list item's dash
    content: int  # for an item: the column of what follows `- `


def yaml_problem(error: yaml.YAMLError, text: str) -> str:
    lines = text.splitlines()
    problem = str(getattr(error, "problem", None) or error)
    context = str(getattr(error, "context", None) or "")
    mark = getattr(error, "problem_mark", None)
    start = getattr(error, "context_mark", None)
    if mark is None:
        return f"not valid YAML: {problem}"
    if problem == TAB_PROBLEM:
        return (
            f"line {mark.line + 1}, column {mark.column + 1}: a tab character; YAML indents with spaces "
            "only: replace the tab with spaces"
        )
    if context.startswith("while scanning a simple key") and start is not None:
        return (
            f"line {start.line + 1}, column {start.column + 1}: `{_shown(lines, start.line)}` is neither "
            "`key: value` nor a list item `- value`: add `: ` after the key (or quote the value of the "
            "line above if this line continues it)"
        )
    if context.startswith("while scanning a quoted scalar") and start is not None:
        return (
            f"line {start.line + 1}, column {start.column + 1}: this quoted value is never closed: add the "
            "closing quote (a quote inside a value is written \\\" in \"...\", or '' in '...')"
        )
    if problem == "mapping values are not allowed here":
        return _colon_problem(mark.line, mark.column, lines)
    if problem.startswith("expected <block end>"):
        return _indentation_problem(mark.line, lines)
    where = f"line {mark.line + 1}, column {mark.column + 1}: "
    if start is not None and context:
        return f"{where}not valid YAML: {problem} ({context} that starts on line {start.line + 1})"
    return f"{where}not valid YAML: {problem}"


def _colon_problem(row: int, column: int, lines: list[str]) -> str:
    """A `key:` YAML cannot take as one: either the line is indented deeper than the `key: value` above
    it (so it reads as a continuation of that value), or a value holds `: ` and needs quotes."""
    indent = _indent(lines[row]) if row < len(lines) else 0
    above = _previous(lines, row)
    where = f"line {row + 1}, column {indent + 1}"
    if above is not None and indent > _content_column(lines[above]) and ":" in lines[above]:
        return (
            f"{where}: `{_shown(lines, row)}` is indented {_spaces(indent)}, deeper than "
            f"`{_shown(lines, above)}` (line {above + 1}), which already has a value: indent it "
            f"{_spaces(_content_column(lines[above]))} like that line"
        )
    return (
        f"line {row + 1}, column {column + 1}: a `: ` inside a value: put the value in quotes "
        '(key: "text: with a colon")'
    )


def _indentation_problem(row: int, lines: list[str]) -> str:
    line = lines[row] if row < len(lines) else ""
    indent, shown = _indent(line), _shown(lines, row)
    levels = _open_levels(lines, row)
    is_item = shown.startswith("- ")
    where = f"line {row + 1}, column {indent + 1}"
    same = next((level for level in levels if level.column == indent), None)
    if same is not None and same.item:
        if shown.startswith("-"):  # `-name: x`: the dash needs a space to start an item
            return f"{where}: `{shown}` is not a list item: put a space after the `-`"
        return (
            f"{where}: `{shown}` lines up with the list items above (`{same.text}`, line {same.line}) "
            "but does not start with `- `: start a new item with `- `, or indent it "
            f"{_spaces(same.content)} to add it to the item above"
        )
    if same is not None and is_item:
        return (
            f"{where}: `{shown}` is a list item among the keys of `{same.text}` (line {same.line}): a list "
            "goes under its key, on the lines after it (`key:`, then its `- ` items indented below it)"
        )
    if same is not None:
        return (
            f"{where}: `{shown}` lines up with `{same.text}` (line {same.line}) but is not a `key: value` "
            "like it: write it as one, or indent it further if it belongs to the value above"
        )
    deeper = [level for level in levels if level.column > indent]
    shallower = [level for level in levels if level.column < indent]
    if deeper and shallower:
        # Most often a line belongs with its own kind: an item with the items, a key with the keys.
        first, second = sorted((deeper[-1], shallower[0]), key=lambda level: level.item != is_item)
        return (
            f"{where}: `{shown}` is indented {_spaces(indent)}, which lines up with nothing above it: "
            f"indent it {_spaces(first.column)} like `{first.text}` (line {first.line}), or "
            f"{_spaces(second.column)} like `{second.text}` (line {second.line})"
        )
    if shallower:
        nearest = shallower[0]
        return (
            f"{where}: `{shown}` is indented {_spaces(indent)}, deeper than `{nearest.text}` "
            f"(line {nearest.line}), which already has a value: indent it {_spaces(nearest.column)} "
            "like that line"
        )
    return (
        f"{where}: `{shown}` is not indented like the lines above it: align it with the block it belongs to"
    )


def _open_levels(lines: list[str], row: int) -> list[_Level]:
    """The indentations still open at `row`, nearest (deepest) first: each line above that is indented
    less than every line between it and `row`."""
    levels: list[_Level] = []
    limit = 1 << 30  # deeper than any line
    for above in range(row - 1, -1, -1):
        line = lines[above]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = _indent(line)
        if indent >= limit:
            continue
        content = _content_column(line)
        if content != indent and content < limit:  # a list item: what follows `- ` is a level too
            levels.append(_Level(content, above + 1, line[content:].strip(), False, content))
        levels.append(_Level(indent, above + 1, line[indent:].strip(), content != indent, content))
        limit = indent
        if indent == 0:
            break
    return levels


def _content_column(line: str) -> int:
    """Where a line's content starts: after the dashes of list items (`- - x`), else its indentation."""
    column = _indent(line)
    while line[column : column + 2] == "- ":
        column += 2
        while column < len(line) and line[column] == " ":
            column += 1
    return column


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _previous(lines: list[str], row: int) -> int | None:
    for above in range(min(row, len(lines)) - 1, -1, -1):
        if lines[above].strip() and not lines[above].lstrip().startswith("#"):
            return above
    return None


def _shown(lines: list[str], row: int) -> str:
    text = lines[row].strip() if row < len(lines) else ""
    return text if len(text) <= 60 else text[:57] + "..."

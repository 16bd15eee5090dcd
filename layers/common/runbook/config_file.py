"""Loads config/runbook.yaml into the models and turns every mistake into an error that names the
file, the line, the check and the field, and says what is expected."""

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from runbook.models.config import RunbookConfig

MAX_CONFIG_BYTES = 5 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 30
_TAGS = {"kind": "http, postgres, redis, queue, heartbeat", "backend": "bullmq, redis_list, sqs"}


class ConfigError(Exception):
    """The config cannot be used. `problems` are one line each, ready to show to a person."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        more = len(self.problems) - len(shown)
        lines = [f"{path}: {len(self.problems)} problem(s) in the runbook config"]
        lines += [f"  - {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


def load_config(path: str | Path) -> RunbookConfig:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(str(path), [f"the file is larger than {MAX_CONFIG_BYTES} bytes"])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path), ["file not found (set RUNBOOK_CONFIG or --config to the runbook.yaml to use)"]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), [f"cannot read the file: {error}"]) from None
    return parse_config(text, str(path))


@lru_cache(maxsize=4)
def load_config_cached(path: str) -> RunbookConfig:
    """Validated once per cold start: the config ships in a layer and never changes under a function."""
    return load_config(path)


def parse_config(text: str, source: str = "<config>") -> RunbookConfig:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(source, [_yaml_problem(error)]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["line 1: the file must be a mapping with a `checks:` list at the top"])
    try:
        return RunbookConfig.model_validate(data)
    except ValidationError as error:
        problems = [_describe(e, data, root) for e in error.errors()]
        raise ConfigError(source, list(dict.fromkeys(problems))) from None  # union members repeat


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}not valid YAML: {problem}"


def _describe(error: ErrorDetails, data: dict[str, Any], root: yaml.Node | None) -> str:
    loc = error["loc"]
    keys, node = _walk(loc, data, root)
    where = f"line {node.start_mark.line + 1}: " if node is not None else ""
    subject = _subject(keys, data)
    field = _field_path(keys)
    return f"{where}{subject}{field}: {_explain(error, keys, data)}"


def _walk(
    loc: tuple[int | str, ...], data: Any, node: yaml.Node | None
) -> tuple[list[int | str], yaml.Node | None]:
    """Follow the error location through the data and the YAML nodes. Union tags that pydantic puts in
    the location (the check's kind and queue backend, or a member model's name) are not document keys
    and are left out."""
    keys: list[int | str] = []
    parts = _without_union_tags(loc, data)
    for part in parts:
        if not _has(data, part):
            keys.append(part)  # a missing or unknown key: named in the message, line of its parent
            break
        data = data[part]
        node = _child(node, part)
        keys.append(part)
    return keys, node


def _has(data: Any, part: int | str) -> bool:
    if isinstance(data, dict):
        return part in data
    return isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)


_DISCRIMINATORS = ("kind", "backend", "source")
_SECTIONS = ("checks", "integrations")


def _without_union_tags(loc: tuple[int | str, ...], data: dict[str, Any]) -> list[int | str]:
    """pydantic's location without the union members it inserts: model names, and a discriminator's
    value (`checks[0].http.url`, `integrations[1].quota.body.used`) where the data has no such key."""
    parts: list[int | str] = []
    node: Any = data
    tags: list[str] = []  # the discriminator values of the current node, in the order pydantic adds them
    for part in loc:
        if isinstance(part, str) and part[:1].isupper():
            continue  # a member model's name
        if tags and part == tags[0]:
            tags.pop(0)  # pydantic puts a node's tags right after it, before any of its fields
            continue
        parts.append(part)
        node = node[part] if _has(node, part) else None
        tags = [node[f] for f in _DISCRIMINATORS if isinstance(node, dict) and isinstance(node.get(f), str)]
    return parts


def _child(node: yaml.Node | None, part: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == part:
                child: yaml.Node = value_node
                return child
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: yaml.Node = node.value[part]
        return item
    return node


def _in_section(keys: list[int | str]) -> bool:
    return len(keys) >= 2 and keys[0] in _SECTIONS and isinstance(keys[1], int)


def _subject(keys: list[int | str], data: dict[str, Any]) -> str:
    if not _in_section(keys):
        return ""
    section, index = keys[0], keys[1]
    entry = data[str(section)][index]
    if not isinstance(entry, dict):
        return f"{section}[{index}]"
    name = entry.get("name", "?")
    if section == "integrations":
        return f'{section}[{index}] "{name}"'
    backend = f"/{entry['backend']}" if "backend" in entry else ""
    return f'{section}[{index}] "{name}" ({entry.get("kind", "?")}{backend})'


def _field_path(keys: list[int | str]) -> str:
    rest = keys[2:] if _in_section(keys) else keys
    path = ""
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if not path:
        return ""
    return f": {path}" if _in_section(keys) else path


def _explain(error: ErrorDetails, keys: list[int | str], data: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; config/runbook.schema.json lists the allowed fields)"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = str(ctx.get("discriminator", "kind")).strip("'")
        expected = ctx.get("expected_tags") or _TAGS.get(tag, "")
        if kind == "union_tag_not_found":
            return f"{tag} is required (one of: {expected})"
        return f"{tag} must be one of {expected}, got {ctx.get('tag')!r}"
    if any(isinstance(p, str) and p.endswith("Ref") for p in error["loc"]):
        return "expected a secret reference: {ssm: /parameter/name} or {secret: name-or-arn, key: json-key}"
    if kind == "string_pattern_mismatch" and keys[-1:] == ["name"]:
        return f"{_short(error.get('input'))} is not a valid name: use a-z, 0-9, '.', '_' or '-' (max 63)"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg']}, got {_short(error.get('input'))}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

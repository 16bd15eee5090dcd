"""Loads config/runbook.yaml into the models and turns every mistake into an error that names the
file, the line, the check and the field, and says what is expected."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from runbook.config_yaml_errors import yaml_problem
from runbook.models.config import RunbookConfig
from runbook.models.field_error import ConfigFieldError

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
    return parse_config(_read(Path(path)), str(path))


def _read(path: Path) -> str:
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
    return text


@lru_cache(maxsize=4)
def load_config_cached(path: str) -> RunbookConfig:
    """Validated once per cold start: the config ships in a layer and never changes under a function."""
    return load_config(path)


def parse_config(text: str, source: str = "<config>") -> RunbookConfig:
    return parse_document(text, source).config


@dataclass(frozen=True)
class ConfigDocument:
    """A valid config with the YAML it came from, so that later rules (runbook validate) can point at
    the line of the field they are about."""

    config: RunbookConfig
    data: dict[str, Any]
    root: yaml.Node | None
    source: str

    def where(self, loc: tuple[int | str, ...]) -> str:
        """`line N: checks[3] "api" (http): timeout` for a field's path in the document."""
        keys, node = _walk(loc, self.data, self.root)
        line = f"line {node.start_mark.line + 1}: " if node is not None else ""
        return f"{line}{_subject(keys, self.data)}{_field_path(keys)}{self._inherited(keys)}"

    def _inherited(self, keys: list[int | str]) -> str:
        """` (from defaults.timeout, line 12)` when a check's field is not its own but the default."""
        if len(keys) != 3 or not _in_section(keys) or not isinstance(keys[2], str):
            return ""
        entry = self.data[str(keys[0])][keys[1]]
        if not isinstance(entry, dict) or keys[2] in entry:
            return ""
        defaults = self.data.get("defaults")
        if not isinstance(defaults, dict) or keys[2] not in defaults:
            return ""
        _, node = _walk(("defaults", keys[2]), self.data, self.root)
        line = f", line {node.start_mark.line + 1}" if node is not None else ""
        return f" (from defaults.{keys[2]}{line})"


def load_document(path: str | Path) -> ConfigDocument:
    return parse_document(_read(Path(path)), str(path))


def parse_document(text: str, source: str = "<config>") -> ConfigDocument:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(source, [yaml_problem(error, text)]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["line 1: the file must be a mapping with a `checks:` list at the top"])
    repeated = _repeated_keys(root)
    if repeated:
        raise ConfigError(source, repeated)
    try:
        config = RunbookConfig.model_validate(data)
    except ValidationError as error:
        problems = [_describe(e, data, root) for e in error.errors()]
        raise ConfigError(source, list(dict.fromkeys(problems))) from None  # union members repeat
    return ConfigDocument(config, data, root, source)


def _repeated_keys(root: yaml.Node | None) -> list[str]:
    """YAML keeps the last of two equal keys and drops the first without a word: a second `checks:`
    would silently remove every check above it."""
    found: list[tuple[int, str]] = []
    pending = [root] if root is not None else []
    while pending:  # each node is visited once; the file's size is bounded
        node = pending.pop()
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                line = key.start_mark.line + 1
                if name in first:
                    found.append(
                        (
                            line,
                            f"line {line}: `{name}` is given twice in the same block (first on line "
                            f"{first[name]}); YAML would keep only the last one: remove or merge one",
                        )
                    )
                elif name is not None and name != "<<":
                    first[name] = line
                pending.append(value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
    return [problem for _, problem in sorted(found)]


def _describe(error: ErrorDetails, data: dict[str, Any], root: yaml.Node | None) -> str:
    loc = error["loc"]
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, ConfigFieldError):  # a model-level rule about one field: point at that field
        loc = (*loc, *raised.loc)
    keys, node = _walk(loc, data, root)
    where = f"line {node.start_mark.line + 1}: " if node is not None else ""
    subject = _subject(keys, data)
    field = _field_path(keys)
    explanation = _explain(error, keys, data)
    if isinstance(raised, ConfigFieldError) and raised.see is not None:
        see_keys, seen = _walk((*error["loc"], *raised.see), data, root)
        if seen is not None:
            other = _subject(see_keys, data) or _field_path(see_keys)
            explanation += f" ({other} is on line {seen.start_mark.line + 1})"
    return f"{where}{subject}{field}: {explanation}"


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

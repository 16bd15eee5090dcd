"""Read CloudFormation/SAM templates, YAML or JSON, with the short intrinsic tags (!Ref, !Sub, ...).

The tags become the long JSON form ({"Ref": ...}, {"Fn::Sub": ...}), which is also what `sam build`
writes, so the rest of localrun sees one shape whichever file it is given.
"""

from pathlib import Path
from typing import Any

import yaml


class TemplateError(Exception):
    """The template cannot be read or does not describe what was asked for."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader plus the CloudFormation short tags; nothing else is constructed."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unsupported node for !{tag_suffix}")

    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # !GetAtt Resource.Attribute.With.Dots: the resource name is everything before the first dot.
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def _timestamps_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # An unquoted 2010-09-09 is a version string to CloudFormation, not a date.
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_CfnLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamps_as_text)


def load_template(path: Path) -> dict[str, Any]:
    """Parse a template file; raise TemplateError naming the file when it is not a template."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc.strerror}") from exc
    try:
        data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass, plain data only
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"{path} has no Resources section; is it a SAM template?")
    return data

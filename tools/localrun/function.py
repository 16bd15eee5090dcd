"""One function of a template, as Lambda would configure it: Globals merged in, intrinsics resolved."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localrun.cfn_yaml import TemplateError
from localrun.intrinsics import Resolver, Unresolved

DEFAULT_TIMEOUT_S = 3  # Lambda's own defaults when the template says nothing
DEFAULT_MEMORY_MB = 128
_LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")


@dataclass(frozen=True)
class Layer:
    logical_id: str
    content_dir: Path
    build_method: str | None
    # What `sam build` compiled the layer for (it writes the resolved value into the built template).
    build_architecture: str | None

    def looks_unbuilt(self) -> bool:
        """A layer sam builds with pip (BuildMethod python3.x) has its code under python/ only after
        `sam build`; a makefile layer (the ConfigLayer) puts its files where its Makefile says."""
        built_by_pip = (self.build_method or "").startswith("python")
        return built_by_pip and not (self.content_dir / "python").is_dir()


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    function_name: str
    handler: str
    code_dir: Path
    runtime: str
    timeout_s: int
    memory_mb: int
    architectures: tuple[str, ...]
    layers: tuple[Layer, ...]
    # Variables declared in the template. Values a deployed stack would fill in (a Ref to a
    # resource) are placeholders; their names are listed in `unresolved`.
    environment: dict[str, str]
    unresolved: frozenset[str]
    log_group: str
    log_format: str
    application_log_level: str | None


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or str(key).startswith("Fn::")


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rules: maps merge key by key, lists concatenate (globals first), the rest is replaced."""
    if _is_intrinsic(global_value) or _is_intrinsic(local_value):
        return local_value
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def _env_text(value: Any) -> str:
    # Lambda only has strings; these are the conversions sam local applies.
    if isinstance(value, Unresolved):
        return value.placeholder()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None or isinstance(value, dict) else str(value)


class _FunctionReader:
    def __init__(self, template: dict[str, Any], template_path: Path, resolver: Resolver) -> None:
        self.template = template
        self.base_dir = template_path.parent
        self.resolver = resolver

    def local_dir(self, uri: Any, what: str) -> Path:
        resolved = self.resolver.resolve(uri)
        if not isinstance(resolved, str) or resolved.startswith("s3://"):
            raise TemplateError(f"{what} is {uri!r}: localrun needs a local directory")
        path = (self.base_dir / resolved).resolve()
        if not path.is_dir():
            raise TemplateError(f"{what} {resolved!r} is not a directory ({path})")
        return path

    def layer(self, item: Any, function_id: str) -> Layer | None:
        """The layer a Layers entry points at; None when it is removed by a condition."""
        if isinstance(item, dict) and "Fn::If" in item:
            name, when_true, when_false = item["Fn::If"]
            return self.layer(when_true if self.resolver.condition(name) else when_false, function_id)
        if isinstance(item, dict) and item.get("Ref") == "AWS::NoValue":
            return None
        ref = item.get("Ref") if isinstance(item, dict) else None
        resource = self.template["Resources"].get(ref) if isinstance(ref, str) else None
        if resource is None or resource.get("Type") not in _LAYER_TYPES:
            value = self.resolver.resolve(item)
            raise TemplateError(
                f"{function_id}: layer {value!r} is not a LayerVersion of this template; "
                "published layers (ARNs) cannot be run locally"
            )
        properties = resource.get("Properties") or {}
        uri = properties.get("ContentUri", properties.get("Content"))
        metadata = resource.get("Metadata") or {}
        return Layer(
            logical_id=str(ref),
            content_dir=self.local_dir(uri, f"layer {ref} ContentUri"),
            build_method=metadata.get("BuildMethod"),
            build_architecture=self.resolver.resolve(metadata.get("BuildArchitecture")),
        )

    def log_group(self, logging_config: dict[str, Any], function_name: str) -> str:
        raw = logging_config.get("LogGroup")
        ref = raw.get("Ref") if isinstance(raw, dict) else None
        resource = self.template["Resources"].get(ref) if isinstance(ref, str) else None
        if resource is not None and resource.get("Type") == "AWS::Logs::LogGroup":
            raw = (resource.get("Properties") or {}).get("LogGroupName")
        value = self.resolver.resolve(raw)
        return value if isinstance(value, str) else f"/aws/lambda/{function_name}"


def read_function(
    template: dict[str, Any], template_path: Path, logical_id: str, resolver: Resolver
) -> FunctionSpec:
    resources: dict[str, Any] = template["Resources"]
    resource = resources.get(logical_id)
    if resource is None:
        functions = sorted(k for k, v in resources.items() if v.get("Type") == "AWS::Serverless::Function")
        raise TemplateError(
            f"{template_path} has no resource {logical_id!r}; functions: {', '.join(functions) or 'none'}"
        )
    if resource.get("Type") != "AWS::Serverless::Function":
        raise TemplateError(f"{logical_id} is a {resource.get('Type')}, not an AWS::Serverless::Function")

    globals_ = ((template.get("Globals") or {}).get("Function")) or {}
    props: dict[str, Any] = merge_globals(globals_, resource.get("Properties") or {})
    if props.get("PackageType") == "Image" or "InlineCode" in props:
        raise TemplateError(f"{logical_id}: only zip functions with a CodeUri directory can be run locally")

    reader = _FunctionReader(template, template_path, resolver)
    name = resolver.resolve(props.get("FunctionName", logical_id))
    function_name = name if isinstance(name, str) else logical_id

    variables = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
    logging_config = props.get("LoggingConfig") or {}
    log_format = resolver.resolve(logging_config.get("LogFormat", "Text"))
    level = resolver.resolve(logging_config.get("ApplicationLogLevel"))
    layers = [reader.layer(item, logical_id) for item in props.get("Layers") or []]

    return FunctionSpec(
        logical_id=logical_id,
        function_name=function_name,
        handler=str(resolver.resolve(props.get("Handler"))),
        code_dir=reader.local_dir(props.get("CodeUri"), f"{logical_id} CodeUri"),
        runtime=str(resolver.resolve(props.get("Runtime"))),
        timeout_s=int(resolver.resolve(props.get("Timeout", DEFAULT_TIMEOUT_S))),
        memory_mb=int(resolver.resolve(props.get("MemorySize", DEFAULT_MEMORY_MB))),
        architectures=tuple(str(a) for a in resolver.resolve(props.get("Architectures", ["x86_64"]))),
        layers=tuple(layer for layer in layers if layer is not None),
        environment={k: _env_text(v) for k, v in variables.items()},
        unresolved=frozenset(k for k, v in variables.items() if isinstance(v, Unresolved)),
        log_group=reader.log_group(logging_config, function_name),
        log_format=str(log_format),
        # Lambda only filters by level for JSON logs, and then INFO unless told otherwise.
        application_log_level=(level if isinstance(level, str) else "INFO") if log_format == "JSON" else None,
    )


def function_timeouts(template: dict[str, Any], resolver: Resolver) -> dict[str, float | None]:
    """Each AWS::Serverless::Function's Timeout in seconds (Globals merged, parameters resolved to
    their defaults), None where it is not a number; for `runbook validate`."""
    globals_ = ((template.get("Globals") or {}).get("Function")) or {}
    timeouts: dict[str, float | None] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = merge_globals(globals_, resource.get("Properties") or {})
        try:
            value = resolver.resolve(props.get("Timeout", DEFAULT_TIMEOUT_S))
            timeouts[logical_id] = float(value) if not isinstance(value, bool) else None
        except (TemplateError, TypeError, ValueError):
            timeouts[logical_id] = None
    return timeouts

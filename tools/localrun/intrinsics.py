"""Evaluate the intrinsic functions of a template as far as it can be done without a stack.

Parameters (defaults or overrides), pseudo parameters and conditions resolve to values. A Ref or
GetAtt to a resource has no value before deployment: it resolves to `Unresolved`, which the caller
turns into a visible placeholder or replaces with a value from the env-vars file, unless the resource
was created locally (`resources`, e.g. by localrun.resources on a moto server).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from localrun.cfn_yaml import TemplateError

STACK_NAME = "local"
# What `sam local` uses for the pseudo parameters, so values look the same under both tools.
PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": STACK_NAME,
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/local/00000000",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}


class _NoValue:
    """AWS::NoValue: the property or list item is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class Unresolved:
    """A value only a deployed stack knows, e.g. `!Ref StateTable`."""

    expression: str

    def placeholder(self) -> str:
        return f"<unresolved {self.expression}>"


class Physical(Protocol):
    """A resource that exists: what `!Ref` gives, and the attributes `!GetAtt` may ask for."""

    @property
    def ref(self) -> str: ...

    @property
    def attributes(self) -> Mapping[str, str]: ...


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    def __init__(
        self,
        template: Mapping[str, Any],
        parameter_overrides: Mapping[str, str] | None = None,
        region: str = "us-east-1",
        resources: Mapping[str, Physical] | None = None,
    ) -> None:
        self._template = template
        self._resources = resources or {}
        self._parameters = self._parameter_values(template, parameter_overrides or {})
        self._pseudo: dict[str, Any] = {**PSEUDO_PARAMETERS, "AWS::Region": region}
        self._conditions: dict[str, bool] = {}

    @staticmethod
    def _parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
        declared: Mapping[str, Any] = template.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(f"parameter override for undeclared parameter(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in overrides:
                raw: Any = overrides[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raw = Unresolved(f"parameter {name} (no Default; pass --parameter-overrides {name}=...)")
            if isinstance(raw, Unresolved):
                values[name] = raw
            elif str(spec.get("Type", "String")).startswith(("CommaDelimitedList", "List<")):
                values[name] = [] if str(raw) == "" else [item.strip() for item in str(raw).split(",")]
            else:
                values[name] = str(raw)
        return values

    # ------------------------------------------------------------------ public
    def resolve(self, value: Any) -> Any:
        """Evaluate every intrinsic inside value; AWS::NoValue items and keys are dropped."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if (
                    key == "Ref"
                    or key.startswith("Fn::")
                    or (key == "Condition" and isinstance(argument, str))
                ):
                    return self._intrinsic(key, argument)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        return value

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions: Mapping[str, Any] = self._template.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"condition {name!r} is not declared in Conditions")
            self._conditions[name] = self._truth(self.resolve(conditions[name]), f"condition {name}")
        return self._conditions[name]

    def is_resource(self, name: str) -> bool:
        return name in self._template["Resources"]

    # ------------------------------------------------------------------ intrinsics
    def _intrinsic(self, key: str, arg: Any) -> Any:
        match key:
            case "Ref":
                return self._ref(str(arg))
            case "Condition":
                return self.condition(arg)
            case "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else [str(p) for p in arg]
                return self._get_att(*parts)
            case "Fn::Sub":
                return self._sub(arg)
            case "Fn::Join":
                delimiter, items = self.resolve(arg[0]), self.resolve(arg[1])
                if isinstance(items, Unresolved) or any(isinstance(i, Unresolved) for i in items):
                    return Unresolved(f"!Join {arg!r}")
                return str(delimiter).join(str(i) for i in items)
            case "Fn::Select":
                index, items = self.resolve(arg[0]), self.resolve(arg[1])
                return Unresolved(f"!Select {arg!r}") if isinstance(items, Unresolved) else items[int(index)]
            case "Fn::Split":
                delimiter, text = self.resolve(arg[0]), self.resolve(arg[1])
                return (
                    Unresolved(f"!Split {arg!r}") if isinstance(text, Unresolved) else text.split(delimiter)
                )
            case "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            case "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                if isinstance(left, Unresolved) or isinstance(right, Unresolved):
                    raise TemplateError(f"cannot evaluate !Equals {arg!r} without a deployed stack")
                return str(left) == str(right)
            case "Fn::Not":
                return not self._truth(self.resolve(arg[0]), "!Not")
            case "Fn::And":
                return all(self._truth(self.resolve(a), "!And") for a in arg)
            case "Fn::Or":
                return any(self._truth(self.resolve(a), "!Or") for a in arg)
            case "Fn::FindInMap":
                mapping, first, second = (self.resolve(a) for a in arg[:3])
                try:
                    return self._template["Mappings"][mapping][first][second]
                except (KeyError, TypeError) as exc:
                    raise TemplateError(f"!FindInMap {arg!r}: no such entry") from exc
            case "Fn::ImportValue" | "Fn::GetAZs" | "Fn::Cidr" | "Fn::Base64" | "Fn::ToJsonString":
                return Unresolved(f"!{key.removeprefix('Fn::')} {arg!r}")
            case _:
                raise TemplateError(f"localrun does not evaluate {key}")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if name in self._resources:
            return self._resources[name].ref
        if self.is_resource(name):
            return Unresolved(f"!Ref {name}")
        raise TemplateError(f"!Ref {name}: no such parameter or resource")

    def _get_att(self, name: str, attribute: str) -> Any:
        known = self._resources.get(name)
        if known is not None and attribute in known.attributes:
            return known.attributes[attribute]
        return Unresolved(f"!GetAtt {name}.{attribute}")

    def _sub(self, arg: Any) -> Any:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
        unresolved: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} stands for the text ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and self.is_resource(name.split(".", 1)[0]):
                value = self._get_att(*name.split(".", 1))
            else:
                value = self._ref(name)
            if isinstance(value, Unresolved):
                unresolved.append(name)
                return match.group(0)
            return ",".join(value) if isinstance(value, list) else str(value)

        result = _SUB_VARIABLE.sub(replace, text)
        return Unresolved(f"!Sub {text!r}") if unresolved else result

    @staticmethod
    def _truth(value: Any, where: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise TemplateError(f"{where} does not evaluate to true or false: {value!r}")

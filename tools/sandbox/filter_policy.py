"""SNS subscription filter policies, as SNS applies them before it invokes a subscribed function.

What is emulated: a policy is an object whose keys must all match (AND); each key's value is a list of
conditions of which one must match (OR); `$or` takes a list of policies of which one must match (and it
combines with the other keys by AND). Conditions: an exact string (against a String attribute, or any
element of a String.Array), an exact number (against a Number attribute), `{"exists": true|false}` and
`{"prefix": "..."}`. A message without the attribute matches only `{"exists": false}`.

Scope: `MessageAttributes` (SNS's default: attributes `{name: {"Type": ..., "Value": ...}}` as in the SNS
envelope) or `MessageBody` (the message must be a JSON object; nested policy objects follow nested keys).

Any other operator (`anything-but`, `numeric`, `suffix`, ...) raises UnsupportedFilterPolicyError instead of
guessing: the sandbox says it cannot tell, rather than delivering (or dropping) a message SNS would not.
"""

import json
from collections.abc import Mapping
from typing import Any

SUPPORTED_OPERATORS = ("exists", "prefix")
_MISSING = object()


class FilterPolicyError(ValueError):
    """The policy is not one SNS would accept."""


class UnsupportedFilterPolicyError(FilterPolicyError):
    """SNS accepts the policy, but the sandbox does not emulate one of its operators."""


def attributes_of(message_attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SNS envelope attributes ({name: {"Type", "Value"}}) as values: str, float or list of items."""
    values: dict[str, Any] = {}
    for name, attribute in message_attributes.items():
        kind = str(attribute.get("Type") or attribute.get("DataType") or "String")
        raw = attribute.get("Value", attribute.get("StringValue"))
        if kind.startswith("Number"):
            try:
                values[name] = float(raw)
            except (TypeError, ValueError):
                values[name] = raw
        elif kind == "String.Array":
            try:
                parsed = json.loads(raw)
            except (TypeError, ValueError):
                parsed = raw
            values[name] = parsed if isinstance(parsed, list) else [parsed]
        elif kind == "Binary":
            continue  # SNS does not filter on binary attributes
        else:
            values[name] = raw
    return values


def matches(
    policy: Mapping[str, Any] | None,
    *,
    message_attributes: Mapping[str, Any] | None = None,
    message: str | None = None,
    scope: str = "MessageAttributes",
) -> bool:
    """Whether SNS delivers a message with these attributes (or this body) to a subscription with
    `policy` (None or {}: no filter, everything is delivered)."""
    if not policy:
        return True
    if scope == "MessageAttributes":
        return _match_policy(policy, attributes_of(message_attributes or {}), nested=False)
    if scope == "MessageBody":
        try:
            body = json.loads(message or "")
        except ValueError:
            return False  # SNS drops a message whose body is not JSON for a body-scoped policy
        return isinstance(body, dict) and _match_policy(policy, body, nested=True)
    raise FilterPolicyError(f"FilterPolicyScope {scope!r}: expected MessageAttributes or MessageBody")


def describe(policy: Mapping[str, Any] | None) -> str:
    """One line for a person: `$or: sev in [SEV1, SEV2] | status in [resolved]`."""
    if not policy:
        return "every message"
    return " and ".join(_describe_key(key, value) for key, value in policy.items())


def keys_of(policy: Mapping[str, Any] | None) -> set[str]:
    """The attribute names (top-level body keys) a policy looks at, `$or` alternatives included."""
    keys: set[str] = set()
    for key, value in (policy or {}).items():
        if key == "$or" and isinstance(value, list):
            keys |= {
                k for alternative in value if isinstance(alternative, Mapping) for k in keys_of(alternative)
            }
        else:
            keys.add(key)
    return keys


def _describe_key(key: str, value: Any) -> str:
    if key == "$or" and isinstance(value, list):
        return (
            "(" + " | ".join(describe(item) if isinstance(item, dict) else repr(item) for item in value) + ")"
        )
    if isinstance(value, dict):
        return f"{key}.{describe(value)}"
    if isinstance(value, list):
        shown = ", ".join(json.dumps(item) if not isinstance(item, str) else item for item in value)
        return f"{key} in [{shown}]"
    return f"{key}: {value!r}"


def _match_policy(policy: Mapping[str, Any], document: Mapping[str, Any], *, nested: bool) -> bool:
    if not isinstance(policy, Mapping):
        raise FilterPolicyError(f"a filter policy is a JSON object, not {type(policy).__name__}")
    for key, conditions in policy.items():
        if key == "$or":
            if not isinstance(conditions, list) or len(conditions) < 2:
                raise FilterPolicyError("$or takes a list of at least two policies")
            # Every alternative is checked (not short-circuited), so an unsupported operator in any of
            # them is reported whatever the message.
            outcomes = [_match_policy(alternative, document, nested=nested) for alternative in conditions]
            if not any(outcomes):
                return False
            continue
        value = document.get(key, _MISSING)
        if isinstance(conditions, Mapping):
            if not nested:
                raise FilterPolicyError(
                    f"{key}: nested policies need FilterPolicyScope MessageBody; attributes take a list"
                )
            if not (isinstance(value, Mapping) and _match_policy(conditions, value, nested=True)):
                _check_policy(conditions)
                return False
            continue
        if not isinstance(conditions, list) or not conditions:
            raise FilterPolicyError(f"{key}: expected a non-empty list of conditions")
        outcomes = [_match_condition(condition, value, key) for condition in conditions]
        if not any(outcomes):
            return False
    return True


def _check_policy(policy: Mapping[str, Any]) -> None:
    """Validate a policy that was not evaluated (its part of the message was missing)."""
    _match_policy(policy, {}, nested=True)


def _match_condition(condition: Any, value: Any, key: str) -> bool:
    if isinstance(condition, Mapping):
        return _match_operator(condition, value, key)
    if value is _MISSING:
        return False
    candidates = value if isinstance(value, list) else [value]
    return any(_equal(condition, candidate) for candidate in candidates)


def _equal(condition: Any, candidate: Any) -> bool:
    if isinstance(condition, bool) or isinstance(candidate, bool):
        return condition is candidate
    if isinstance(condition, str):
        return isinstance(candidate, str) and candidate == condition
    if isinstance(condition, int | float):
        return isinstance(candidate, int | float) and float(candidate) == float(condition)
    if condition is None:
        return candidate is None
    raise FilterPolicyError(f"condition {condition!r}: expected a string, a number or an operator object")


def _match_operator(condition: Mapping[str, Any], value: Any, key: str) -> bool:
    if len(condition) != 1:
        raise FilterPolicyError(f"{key}: an operator object has exactly one key, got {sorted(condition)}")
    ((operator, argument),) = condition.items()
    if operator == "exists":
        if not isinstance(argument, bool):
            raise FilterPolicyError(f"{key}: exists takes true or false")
        return (value is not _MISSING) is argument
    if operator == "prefix":
        if not isinstance(argument, str):
            raise FilterPolicyError(f"{key}: prefix takes a string")
        if value is _MISSING:
            return False
        candidates = value if isinstance(value, list) else [value]
        return any(isinstance(c, str) and c.startswith(argument) for c in candidates)
    raise UnsupportedFilterPolicyError(
        f"{key}: the sandbox does not emulate the {operator!r} operator of SNS filter policies "
        f"(it emulates exact values, $or, {', '.join(SUPPORTED_OPERATORS)})"
    )

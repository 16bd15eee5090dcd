"""What the template wires together, read from it: each function's schedules, its SNS subscriptions (with
their filter policies), how Lambda retries its asynchronous invocations and how many may run at once.

A tick of the sandbox stands for one minute of schedules: `rate(1 minute)` fires on every tick,
`rate(5 minutes)` on ticks 1, 6, 11, ...; a `cron(...)` schedule fires on the first tick only.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localrun.cfn_yaml import TemplateError, load_template
from localrun.intrinsics import Resolver

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}
DEFAULT_ASYNC_RETRIES = 2  # Lambda's default for asynchronous invocations


@dataclass(frozen=True)
class Schedule:
    function: str
    name: str  # the event's name in the template, e.g. AckSweep
    expression: str
    every_ticks: int | None  # None: a cron expression (first tick only)

    def fires_on(self, tick: int) -> bool:
        if self.every_ticks is None:
            return tick == 1
        return (tick - 1) % self.every_ticks == 0

    def describe(self) -> str:
        if self.every_ticks is None:
            return f"{self.expression}: first tick only"
        if self.every_ticks == 1:
            return f"{self.expression}: every tick"
        return f"{self.expression}: every {self.every_ticks}th tick (1, {1 + self.every_ticks}, ...)"


@dataclass(frozen=True)
class Subscription:
    function: str
    name: str
    topic: str  # logical id of the topic
    filter_policy: dict[str, Any] | None
    scope: str = "MessageAttributes"


@dataclass(frozen=True)
class FunctionWiring:
    logical_id: str
    max_retries: int = DEFAULT_ASYNC_RETRIES
    reserved_concurrency: int | None = None


@dataclass
class Wiring:
    functions: dict[str, FunctionWiring] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    not_driven: list[str] = field(default_factory=list)  # events the sandbox does not produce

    def subscribers(self, topic: str) -> list[Subscription]:
        return [s for s in self.subscriptions if s.topic == topic]


def read_wiring(template_path: Path, parameter_overrides: dict[str, str] | None = None) -> Wiring:
    template = load_template(template_path)
    resolver = Resolver(template, parameter_overrides)
    resources: dict[str, Any] = template.get("Resources") or {}
    globals_ = ((template.get("Globals") or {}).get("Function")) or {}
    wiring = Wiring(topics=[name for name, r in resources.items() if r.get("Type") == "AWS::SNS::Topic"])
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties") or {}
        invoke_config = properties.get("EventInvokeConfig") or globals_.get("EventInvokeConfig") or {}
        retries = invoke_config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)
        reserved = properties.get(
            "ReservedConcurrentExecutions", globals_.get("ReservedConcurrentExecutions")
        )
        wiring.functions[logical_id] = FunctionWiring(
            logical_id,
            max_retries=int(resolver.resolve(retries)),
            reserved_concurrency=None if reserved is None else int(resolver.resolve(reserved)),
        )
        for event_name, event in (properties.get("Events") or {}).items():
            _read_event(wiring, logical_id, event_name, event, resolver)
    return wiring


def _read_event(wiring: Wiring, function: str, name: str, event: dict[str, Any], resolver: Resolver) -> None:
    kind = event.get("Type")
    properties = event.get("Properties") or {}
    if kind == "Schedule":
        if properties.get("Enabled") is False or properties.get("State") == "DISABLED":
            wiring.not_driven.append(f"{function}.{name}: disabled schedule")
            return
        expression = str(resolver.resolve(properties.get("Schedule")))
        wiring.schedules.append(Schedule(function, name, expression, _every_ticks(expression)))
    elif kind == "SNS":
        topic = properties.get("Topic")
        if not (isinstance(topic, dict) and set(topic) == {"Ref"} and topic["Ref"] in wiring.topics):
            wiring.not_driven.append(f"{function}.{name}: SNS topic {topic!r} is not a topic of the template")
            return
        if properties.get("SqsSubscription"):
            wiring.not_driven.append(f"{function}.{name}: SqsSubscription is not emulated")
            return
        policy = properties.get("FilterPolicy")
        scope = str(properties.get("FilterPolicyScope") or "MessageAttributes")
        wiring.subscriptions.append(Subscription(function, name, topic["Ref"], policy, scope))
    else:
        wiring.not_driven.append(f"{function}.{name}: {kind} events are not produced by the sandbox")


def _every_ticks(expression: str) -> int | None:
    if expression.startswith("cron("):
        return None
    match = _RATE.match(expression)
    if match is None:
        raise TemplateError(f"schedule {expression!r}: expected rate(N minutes|hours|days) or cron(...)")
    return int(match.group(1)) * _MINUTES[match.group(2)]

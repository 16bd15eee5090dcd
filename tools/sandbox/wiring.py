"""What the template wires together, read from it: each function's schedules, its SNS subscriptions (with
their filter policies), how Lambda retries its asynchronous invocations and how many may run at once;
also what the sandbox does not drive but shows: subscriptions of endpoints outside the stack (created or
not under the template's conditions) and which topics the CloudWatch alarms notify.

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
class EndpointSubscription:
    """An AWS::SNS::Subscription to something outside the stack (https, email): nothing is delivered
    there by the sandbox. `created`: whether its Condition holds with the parameters read."""

    name: str
    topic: str
    protocol: str
    endpoint_parameter: str | None  # the parameter naming the endpoint (its value is not shown)
    created: bool

    def describe(self) -> str:
        where = f"{self.protocol} ({self.endpoint_parameter})" if self.endpoint_parameter else self.protocol
        if self.created:
            return f"{self.topic} -> {where}: subscribed on a deployed stack; nothing is delivered there"
        return f"{self.topic} -> {where}: not subscribed with these parameters"


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
    endpoints: list[EndpointSubscription] = field(default_factory=list)
    alarm_topics: dict[str, list[str]] = field(default_factory=dict)  # alarm -> topics it notifies

    def subscribers(self, topic: str) -> list[Subscription]:
        return [s for s in self.subscriptions if s.topic == topic]

    def alarms_line(self) -> str | None:
        """How many alarms notify each topic; the sandbox does not evaluate them."""
        if not self.alarm_topics:
            return None
        counts = {
            topic: sum(topic in topics for topics in self.alarm_topics.values()) for topic in self.topics
        }
        notified = ", ".join(f"{topic} ({n})" for topic, n in counts.items() if n)
        return (
            f"{len(self.alarm_topics)} CloudWatch alarms are not evaluated here; on a deployed stack they "
            f"notify {notified or 'no topic of the template'}"
        )


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
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::SNS::Subscription":
            _read_endpoint(wiring, logical_id, resource, resolver)
        elif resource.get("Type") == "AWS::CloudWatch::Alarm":
            properties = resource.get("Properties") or {}
            actions = [*properties.get("AlarmActions", []), *properties.get("OKActions", [])]
            wiring.alarm_topics[logical_id] = sorted(
                {a["Ref"] for a in actions if isinstance(a, dict) and a.get("Ref") in wiring.topics}
            )
    return wiring


def _read_endpoint(wiring: Wiring, name: str, resource: dict[str, Any], resolver: Resolver) -> None:
    properties = resource.get("Properties") or {}
    topic = properties.get("TopicArn")
    if not (isinstance(topic, dict) and topic.get("Ref") in wiring.topics):
        wiring.not_driven.append(f"{name}: subscription to {topic!r}, not a topic of the template")
        return
    endpoint = properties.get("Endpoint")
    parameter = endpoint.get("Ref") if isinstance(endpoint, dict) else None
    condition = resource.get("Condition")
    created = resolver.condition(condition) if isinstance(condition, str) else True
    protocol = str(resolver.resolve(properties.get("Protocol")))
    wiring.endpoints.append(EndpointSubscription(name, topic["Ref"], protocol, parameter, created))


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

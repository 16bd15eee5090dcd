"""The tick loop: schedules -> functions -> AlertsTopic -> subscribed functions -> vendors, as AWS wires them.

Each tick:
1. the scenario moves (a target fails or recovers);
2. every schedule of the template that fires on this tick invokes its function (at once, as EventBridge
   does), plus the asynchronous invocations Lambda retries after a failure;
3. what the functions published is read back from an SQS queue subscribed to the topic (the SNS
   envelope with its MessageAttributes), and each message is delivered to every function the template
   subscribes to the topic whose filter policy matches, as an SNS event record; repeated while
   deliveries publish more (bounded);
4. what the vendor stand-ins recorded goes on the timeline after each phase.
A function with ReservedConcurrentExecutions runs at most that many at once. A failed asynchronous
invocation is retried on the next tick up to its MaximumRetryAttempts, then goes to the dead-letter queue.
"""

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localrun import InvokeResult, invoke
from runbook.config_file import load_config
from sandbox import filter_policy
from sandbox.local_aws import REGION, LocalAws, start_local_aws
from sandbox.scenario import Scenario
from sandbox.secrets import SecretValue, unresolved, vendor_credentials
from sandbox.timeline import Timeline, describe_alert, summarize
from sandbox.vendors import Vendors
from sandbox.wiring import Wiring, read_wiring

ACCOUNT = "123456789012"
MAX_FANOUT_ROUNDS = 5  # deliveries that publish again, within one tick
MAX_WORKERS = 4
LOG_TAIL_LINES = 6


@dataclass
class Invocation:
    function: str
    event: Any
    trigger: str  # "schedule AckSweep", "SNS Alerts", ...
    attempt: int = 1
    message_id: str | None = None


@dataclass
class SandboxRun:
    """What a run did: the timeline, and counts for the exit status."""

    timeline: Timeline
    config_path: Path
    logs_dir: Path
    invocations: int = 0
    failed_invocations: int = 0
    retries_left: int = 0  # failed invocations Lambda would still retry when the run ended
    violations: int = 0
    final_state: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed_invocations == 0 and self.violations == 0


@dataclass
class SandboxOptions:
    template: Path
    config_path: Path
    secrets: dict[str, SecretValue]
    ticks: int
    tick_seconds: float
    work_dir: Path
    scenario: Scenario | None = None
    notes: list[str] = field(default_factory=list)
    function_env: dict[str, str] = field(default_factory=dict)  # more variables for every function


def run_sandbox(options: SandboxOptions, sink: Callable[..., None] | None = None) -> SandboxRun:
    timeline = Timeline(sink)
    config = load_config(options.config_path)
    wiring = read_wiring(options.template)
    logs_dir = options.work_dir / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    run = SandboxRun(timeline, options.config_path, logs_dir)
    secrets = dict(options.secrets)
    vendors = Vendors(config)
    aws: LocalAws | None = None
    try:
        credentials = vendor_credentials(config, secrets, vendors.slack.url)
        vendors.start(credentials)
        aws = start_local_aws(options.template, wiring.topics)
        aws.put_secrets(secrets)
        _setup_lines(timeline, options, wiring, aws, vendors, credentials.notes, unresolved(config, secrets))
        env = {
            **aws.function_env(),
            **vendors.function_env(),
            "RUNBOOK_CONFIG": str(options.config_path),
            **options.function_env,
        }
        driver = _Driver(options, wiring, aws, vendors, env, run)
        driver.loop()
    finally:
        if aws is not None:
            aws.close()
        run.violations = vendors.violations
        run.final_state = vendors.final_state() if vendors.pagerduty else []
        vendors.close()
    _summary_lines(timeline, run, options)
    return run


def _setup_lines(
    timeline: Timeline,
    options: SandboxOptions,
    wiring: Wiring,
    aws: LocalAws,
    vendors: Vendors,
    credential_notes: list[str],
    missing: list[str],
) -> None:
    add = timeline.add
    add("setup", "template", str(options.template))
    add("setup", "config", str(options.config_path))
    add("setup", "function logs", str(options.work_dir / "logs"))
    add(
        "setup",
        "local AWS",
        f"moto {aws.endpoint}: table {aws.table_name}, topics {', '.join(aws.topic_arns)}",
    )
    assert vendors.pagerduty is not None
    assert vendors.statuspage is not None
    add("setup", "PagerDuty", f"stand-in {vendors.pagerduty.base_url} (Events v2 and REST)")
    add(
        "setup",
        "Statuspage",
        f"stand-in {vendors.statuspage.base_url}, page {vendors.statuspage.page_id}, "
        f"{len(vendors.statuspage.components)} component(s)",
    )
    add("setup", "Slack", f"stand-in {vendors.slack.base_url} (incoming webhooks)")
    if options.scenario is not None:
        for line in options.scenario.setup_lines():
            add("setup", "target", line)
    for schedule in wiring.schedules:
        add("setup", "schedule", f"{schedule.function}.{schedule.name} {schedule.describe()}")
    for subscription in wiring.subscriptions:
        add(
            "setup",
            "subscription",
            f"{subscription.topic} -> {subscription.function}: "
            f"{filter_policy.describe(subscription.filter_policy)}",
        )
    for endpoint in wiring.endpoints:
        add("setup", "subscription", endpoint.describe())
    alarms = wiring.alarms_line()
    if alarms is not None:
        add("setup", "not driven", alarms)
    for note in wiring.not_driven:
        add("setup", "not driven", note)
    for note in [*options.notes, *credential_notes]:
        add("setup", "note", note)
    for ref in missing:
        add(
            "setup",
            "MISSING",
            f"no value for {ref}: what reads it fails, as it would with the secret missing",
        )
    add(
        "setup",
        "",
        f"{_plural(options.ticks, 'tick')}; a tick stands for one minute of the schedules and starts every "
        f"{options.tick_seconds:g}s here (later when the previous one takes longer)",
    )


def _summary_lines(timeline: Timeline, run: SandboxRun, options: SandboxOptions) -> None:
    timeline.tick = options.ticks + 1
    add = timeline.add
    add("summary", "", "")
    add(
        "summary",
        "end",
        f"{_plural(options.ticks, 'tick')} in {timeline.now():.1f}s, "
        f"{_plural(run.invocations, 'invocation')}, {run.failed_invocations} failed",
    )
    if run.retries_left:
        add("summary", "", f"{run.retries_left} failed invocation(s) still had retries left at the end")
    for line in run.final_state:
        add("summary", "", line)
    if run.violations:
        add("summary", "VIOLATIONS", f"{run.violations} request(s) a vendor would refuse (see above)")
    else:
        add("summary", "", "Every request to PagerDuty, Statuspage and Slack was one the vendor accepts.")


class _Driver:
    def __init__(
        self,
        options: SandboxOptions,
        wiring: Wiring,
        aws: LocalAws,
        vendors: Vendors,
        env: dict[str, str],
        run: SandboxRun,
    ) -> None:
        self.options = options
        self.wiring = wiring
        self.aws = aws
        self.vendors = vendors
        self.env = env
        self.run = run
        self.timeline = run.timeline
        self.retries: list[Invocation] = []
        self.slots = {
            name: threading.Semaphore(f.reserved_concurrency)
            for name, f in wiring.functions.items()
            if f.reserved_concurrency
        }
        # The attributes the subscriptions filter on: shown first on a published message's line.
        self.filtered_on = sorted(
            {name for s in wiring.subscriptions for name in filter_policy.keys_of(s.filter_policy)}
        )
        self._counter = 0
        self._count_lock = threading.Lock()

    def loop(self) -> None:
        self.timeline.restart()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="invoke") as pool:
            for tick in range(1, self.options.ticks + 1):
                wait = started + (tick - 1) * self.options.tick_seconds - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self.timeline.tick = tick
                self.timeline.add("tick", "", f"tick {tick} of {self.options.ticks}")
                if self.options.scenario is not None:
                    for change in self.options.scenario.before_tick(tick):
                        self.timeline.add("target", "target", change)
                scheduled = [
                    Invocation(s.function, _schedule_event(s.function, s.name), f"schedule {s.name}")
                    for s in self.wiring.schedules
                    if s.fires_on(tick)
                ]
                retries, self.retries = self.retries, []
                self._invoke_all(pool, [*retries, *scheduled])
                self.vendors.collect(self.timeline)
                for _ in range(MAX_FANOUT_ROUNDS):
                    deliveries = self._fan_out()
                    if not deliveries:
                        break
                    self._invoke_all(pool, deliveries)
                    self.vendors.collect(self.timeline)
        self.run.retries_left = len(self.retries)

    # ------------------------------------------------------------ invocations
    def _invoke_all(self, pool: ThreadPoolExecutor, invocations: list[Invocation]) -> None:
        futures = [(i, pool.submit(self._invoke, i)) for i in invocations]
        for invocation, future in futures:  # reported in order, whatever finished first
            at, result = future.result()
            self._report(invocation, at, result)

    def _invoke(self, invocation: Invocation) -> tuple[float, InvokeResult]:
        """When it started (after waiting for a slot of its reserved concurrency), and the result."""
        slot = self.slots.get(invocation.function)
        if slot is not None:
            slot.acquire()
        try:
            at = self.timeline.now()
            result = invoke(
                self.options.template, invocation.function, invocation.event, self.env, host_env={}
            )
        finally:
            if slot is not None:
                slot.release()
        with self._count_lock:
            self._counter += 1
            number = self._counter
        log = self.run.logs_dir / f"{number:03d}-t{self.timeline.tick}-{invocation.function}.log"
        log.write_text(result.logs, encoding="utf-8")
        return at, result

    def _report(self, invocation: Invocation, at: float, result: InvokeResult) -> None:
        self.run.invocations += 1
        how = invocation.trigger + (f" (attempt {invocation.attempt})" if invocation.attempt > 1 else "")
        duration = f"{result.duration_ms / 1000:.1f}s"
        if result.ok:
            text = f"{how}, {duration}: {summarize(result.payload)}"
            self.timeline.add(
                "invoke",
                invocation.function,
                text,
                at=at,
                trigger=invocation.trigger,
                payload=result.payload,
                duration_ms=round(result.duration_ms),
            )
            return
        self.run.failed_invocations += 1
        error = result.error or {}
        tail = " | ".join(result.logs.strip().splitlines()[-LOG_TAIL_LINES:])
        self.timeline.add(
            "invoke",
            invocation.function,
            f"{how}, {duration}: FAILED {error.get('errorType')}: {error.get('errorMessage')}",
            at=at,
            trigger=invocation.trigger,
            error=error,
            logs_tail=tail,
        )
        self._retry_or_dead_letter(invocation, str(error.get("errorType")))

    def _retry_or_dead_letter(self, invocation: Invocation, reason: str) -> None:
        wiring = self.wiring.functions.get(invocation.function)
        max_retries = wiring.max_retries if wiring else 2
        if invocation.attempt <= max_retries:
            self.retries.append(
                Invocation(
                    invocation.function,
                    invocation.event,
                    invocation.trigger,
                    invocation.attempt + 1,
                    invocation.message_id,
                )
            )
            self.timeline.add(
                "retry",
                invocation.function,
                f"Lambda retries it on the next tick (attempt {invocation.attempt + 1} of {max_retries + 1})",
            )
            return
        self.aws.dead_letter(json.dumps(invocation.event), f"{invocation.function}: {reason}")
        self.timeline.add(
            "dead-letter",
            invocation.function,
            f"retries used up ({max_retries}): the event went to the dead-letter queue",
        )

    # ------------------------------------------------------------ the topic
    def _fan_out(self) -> list[Invocation]:
        deliveries: list[Invocation] = []
        for topic in self.wiring.topics:
            for envelope in self.aws.take_published(topic):
                deliveries += self._deliver(topic, envelope)
        return deliveries

    def _deliver(self, topic: str, envelope: dict[str, Any]) -> list[Invocation]:
        text, alert = describe_alert(envelope)
        attributes = envelope.get("MessageAttributes") or {}
        # The attributes the subscriptions filter on, first: they decide where the message goes.
        shown = " ".join(
            f"{name}={attributes[name].get('Value')}" for name in self.filtered_on if name in attributes
        )
        self.timeline.add(
            "publish",
            topic,
            f"{{{shown}}} {text}" if shown else text,
            message_id=envelope.get("MessageId"),
            alert=alert,
            attributes={name: a.get("Value") for name, a in attributes.items()},
        )
        deliveries = []
        for subscription in self.wiring.subscribers(topic):
            try:
                delivered = filter_policy.matches(
                    subscription.filter_policy,
                    message_attributes=attributes,
                    message=envelope.get("Message"),
                    scope=subscription.scope,
                )
            except filter_policy.FilterPolicyError as error:
                self.timeline.add("filtered", subscription.function, f"cannot tell: {error}")
                continue
            data: dict[str, Any] = {
                "function": subscription.function,
                "message_id": envelope.get("MessageId"),
                "key": alert.get("key"),
            }
            if delivered:
                self.timeline.add(
                    "deliver",
                    subscription.function,
                    "delivered"
                    + (" (filter policy matches)" if subscription.filter_policy else " (no filter policy)"),
                    **data,
                )
                event = _sns_event(envelope, self.aws.topic_arns[topic])
                deliveries.append(
                    Invocation(
                        subscription.function, event, f"SNS {subscription.name}", 1, envelope.get("MessageId")
                    )
                )
            else:
                self.timeline.add(
                    "filtered", subscription.function, "filtered out by its filter policy", **data
                )
        return deliveries


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _schedule_event(function: str, name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/sandbox-{function}{name}"],
        "detail": {},
    }


def _sns_event(envelope: dict[str, Any], topic_arn: str) -> dict[str, Any]:
    """The event Lambda gets from an SNS subscription, built from the envelope SQS received."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": envelope.get("Type", "Notification"),
                    "MessageId": envelope.get("MessageId") or str(uuid.uuid4()),
                    "TopicArn": envelope.get("TopicArn", topic_arn),
                    "Subject": envelope.get("Subject"),
                    "Message": envelope.get("Message", ""),
                    "Timestamp": envelope.get("Timestamp")
                    or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "SignatureVersion": envelope.get("SignatureVersion", "1"),
                    "Signature": envelope.get("Signature", "EXAMPLE"),
                    "SigningCertUrl": envelope.get("SigningCertURL", "EXAMPLE"),
                    "UnsubscribeUrl": envelope.get("UnsubscribeURL", "EXAMPLE"),
                    "MessageAttributes": envelope.get("MessageAttributes") or {},
                },
            }
        ]
    }

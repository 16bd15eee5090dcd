"""What PagerDutyEscalationFunction's alert intake costs per alert over sending the page itself: a script,
not a test. Ratios, measured in one run, so that a noisy shared machine slows both sides alike.

N alerts (runbook.alert/v1, each in its own SNS event with its own MessageId) and the same alerts as
N PagerDuty events, through these sides:

  handler  functions/pagerduty_escalation/app.py's lambda_handler, in-process: Powertools logger,
           metrics, intake, routing, the paging state (ordering, idempotency, groups and the storm
           budget, in one DynamoDB call on the common paths) and the send. AWS is moto
           (mock_aws: SSM routing keys, the dead-letter queue, the state table from template.yaml);
           PagerDuty is the stand-in of tools/standins/pagerduty_standin.py, answering at once.
  direct   the baseline: the PagerDuty event of each alert, built before timing by the project's own
           routing and page_events, sent with PagerDutyEvents.send (same httpx client settings, the
           same stand-in). What sending costs without intake, routing and state.

The alerts alternate: about half are triggers, the rest the resolves of triggers a few alerts earlier
(about five are open at any time); three in ten belong to a group ("edge-<g>"), so that some join an
open group alert or leave it open (no event is sent for those: the handler sends fewer events than
direct, and the report says how many). Routing keys are spread over services so that no service
passes its trigger budget per minute (no storm folding: the run checks it). Every request the
stand-in receives is checked against PagerDuty's OpenAPI documents; any violation fails the run.

Each round gets a fresh state table and a cold start (the runtime's caches cleared), then one
warm-up alert per side, untimed, then the N timed alerts of each side, the sides taking turns every
--block alerts (10; who starts alternates), so that both meet the same noise. Latency is the time
around each handler call / each send. Reported per side: alerts per second (N / the sum of its
latencies), p50 and p95 per alert; then the added latency (handler - direct) at p50 and p95 and the
ratios handler/direct at p50 and p95. Each figure is the median over the rounds of that round's
figure (a ratio is taken within its round).

What the ratio means: the stand-in answers in about 2 ms (a threaded HTTP server in this process) and
moto's in-process DynamoDB is most of the handler's time (under cProfile, moto parsing each call's
expressions). So it tracks how many AWS calls an alert costs and the project's own
work around them; it is no forecast of a deployed function, whose PagerDuty is tens of ms away.

Quiet: the Powertools logger writes to os.devnull and stdout (EMF metrics) is redirected there while
the sides run; logs and metrics are still formatted as in Lambda, so their cost is in the handler's
figures. Tracing is off (POWERTOOLS_TRACE_DISABLED: there is no X-Ray daemon here).

    uv run python -m benchmarks.paging_benchmark             # N=1000, 3 rounds
    uv run python -m benchmarks.paging_benchmark --short     # N=100, for CI
    uv run python -m benchmarks.paging_benchmark --json      # machine-readable
    uv run python -m benchmarks.paging_benchmark --enforce   # exit 1 when the ratio or call target is missed

Exit 1 when the stand-in recorded a request PagerDuty would refuse, when an alert is not handled as
expected, or (with --enforce) when the target is missed. Without the PagerDuty specs
($PAGERDUTY_SPECS_DIR) nothing can be checked: the run is skipped (exit 0), as the tests are.
"""

import argparse
import contextlib
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import boto3
from moto import mock_aws

from runbook.adapters.http_retry import RetryPolicy
from runbook.adapters.intake import Delivery, read_event
from runbook.adapters.pagerduty import PagerDutyEvents
from runbook.config_file import load_config
from runbook.models.pagerduty import PagerDutyEvent
from runbook.services.page_events import pagerduty_event
from runbook.services.routing import decide
from standins.lambda_runtime import FakeLambdaContext, load_handler_module, reset_cold_start
from standins.moto_rules import DynamoDBCalls, dynamodb_transactions_as_dynamodb
from standins.pagerduty_standin import EVENTS_SPEC, REST_SPEC, SPECS_DIR, PagerDutyStandin
from standins.state_table import REGION, create_state_table

# Generous, from what was measured on a shared 2-CPU machine: handler p95 9-11.5x direct p95 (single
# rounds up to 13x with a second run beside it), the added latency some 15-30 ms per alert. Missing it
# means the handler's own work grew well beyond noise.
TARGET_P95_RATIO = 15.0
# The goal: a new alert's trigger and an open alert's resolve take at most 2 DynamoDB calls. A
# count, not a time: enforced in CI whatever the machine's load.
TARGET_CALLS_PER_ALERT = {"triggered": 2.0, "resolved": 2.0}
FUNCTION_NAME = "PagerDutyEscalationFunction"
FUNCTION_TIMEOUT_S = 60.0  # the template's Timeout for the function
DEADLINE_MARGIN_S = 3.0  # as the handler keeps back: the direct side's sends get the same deadline
OPEN_AT_ONCE = 4  # a resolve is sent when more than this many triggers are open
GROUP_BLOCK = 10  # of every 10 keys, the first GROUPED belong to a group
GROUPED = 3
ALERTS_PER_SERVICE = 50  # a service's alerts per round, each at most one event: far under its 100 a minute
ALERTS_PER_GROUP = (
    400  # a group triggers about once per GROUP_BLOCK keys: with its resolves, ~40 events a round
)
EXPECTED_OUTCOMES = {"triggered", "resolved", "joined", "kept_open"}  # no storm, no stale, no held
BLOCK = 10  # the sides take turns, this many alerts each: both meet the same noise

# --- the environment, before anything imports runbook.observability -------------------------------


def lambda_environment(config_path: Path, events_url: str, api_url: str) -> None:
    """What the template gives the function (Globals and its own variables), and moto's credentials.
    Powertools reads POWERTOOLS_* when runbook.observability is first imported: set them before."""
    os.environ.update(
        {
            "POWERTOOLS_SERVICE_NAME": "runbook-automation",
            "POWERTOOLS_METRICS_NAMESPACE": "RunbookAutomation",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "RUNBOOK_CONFIG": str(config_path),
            "PAGERDUTY_EVENTS_URL": events_url,
            "PAGERDUTY_API_URL": api_url,
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)
    assert "runbook.observability" not in sys.modules, "Powertools was set up before its environment"


# --- the alerts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    services: int  # regular services s0..s{services-1}, by the label team=t<n>
    groups: int  # grouped alerts go to service edge-<g>, grouped as edge-<g>


def plan_for(n: int) -> Plan:
    return Plan(
        services=max(1, math.ceil(n / ALERTS_PER_SERVICE)), groups=max(1, math.ceil(n / ALERTS_PER_GROUP))
    )


def routing_key(service: str) -> str:
    """32 characters, as PagerDuty's integration keys; one per service."""
    return f"R0UT1NGKEY{service.upper().replace('-', ''):0>22}"[-32:]


def service_names(plan: Plan) -> list[str]:
    return [f"s{i}" for i in range(plan.services)] + [f"edge-{g}" for g in range(plan.groups)]


def runbook_config(plan: Plan) -> dict[str, Any]:
    """JSON is YAML: the config file is written as JSON."""
    services = {name: {"routing_key": {"ssm": f"/runbook/pagerduty/{name}"}} for name in service_names(plan)}
    routes = [{"match": {"component": f"edge-{g}"}, "service": f"edge-{g}"} for g in range(plan.groups)] + [
        {"match": {"labels": {"team": f"t{i}"}}, "service": f"s{i}"} for i in range(plan.services)
    ]
    groups = [{"name": f"edge-{g}", "match": {"component": f"edge-{g}"}} for g in range(plan.groups)]
    return {"pagerduty": {"services": services, "default_service": "s0", "routes": routes, "groups": groups}}


def alert_message(key_index: int, status: str, observed_at: datetime, plan: Plan) -> dict[str, Any]:
    grouped = key_index % GROUP_BLOCK < GROUPED
    component = f"edge-{(key_index // GROUP_BLOCK) % plan.groups}" if grouped else f"svc-{key_index}"
    check = f"bench-{key_index}"
    return {
        "schema": "runbook.alert/v1",
        "key": f"health-probe/{check}",
        "status": status,
        "severity": "critical",
        "sev": "SEV2",
        "summary": f"{check} is {'DOWN: answered 503, expected 200' if status == 'firing' else 'UP again'}",
        "source": "health-probe",
        "check": check,
        "component": component,
        "observed_at": observed_at.isoformat().replace("+00:00", "Z"),
        "details": {"kind": "http", "outcome": "http_status", "reason": "answered 503, expected 200"},
        "labels": {"team": f"t{key_index % plan.services}"},
        "links": {"runbook": f"https://runbooks.example.com/{check}"},
    }


def sns_event(message: dict[str, Any], observed_at: datetime) -> dict[str, Any]:
    topic = f"arn:aws:sns:{REGION}:123456789012:runbook-alerts"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": "runbook alert",
                    "Message": json.dumps(message, separators=(",", ":")),
                    "Timestamp": observed_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "UnsubscribeUrl": "EXAMPLE",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def alert_events(n: int, plan: Plan, start: datetime) -> list[dict[str, Any]]:
    """A trigger of a new key, or (every other alert, once more than OPEN_AT_ONCE are open) the resolve
    of the oldest open one; observed_at grows by 1 ms an alert, so a resolve is newer than its trigger."""
    events, open_keys, next_key = [], list[int](), 0
    for i in range(n):
        observed_at = start + timedelta(milliseconds=i)
        if i % 2 == 0 or len(open_keys) <= OPEN_AT_ONCE:
            message = alert_message(next_key, "firing", observed_at, plan)
            open_keys.append(next_key)
            next_key += 1
        else:
            message = alert_message(open_keys.pop(0), "resolved", observed_at, plan)
        events.append(sns_event(message, observed_at))
    return events


def warm_up_event(plan: Plan, start: datetime) -> dict[str, Any]:
    message = alert_message(GROUP_BLOCK - 1, "firing", start, plan)  # not grouped: its own alert
    message |= {"key": "health-probe/warm-up", "check": "warm-up", "component": "warm-up"}
    return sns_event(message, start)


def page_events(events: Sequence[dict[str, Any]], config_path: Path, now: datetime) -> list[PagerDutyEvent]:
    """The direct side's events: each alert read, routed and turned into its event by the project's own
    code, as the handler would send it were every alert sent (none joins, none keeps a group open)."""
    pagerduty = load_config(config_path).pagerduty
    assert pagerduty is not None
    built = []
    for event in events:
        (delivery,) = read_event(event)
        assert isinstance(delivery, Delivery), delivery
        (alert,) = delivery.alerts
        decision = decide(alert, pagerduty, now)
        assert decision.action != "hold", decision
        built.append(pagerduty_event(alert, decision, routing_key(decision.service), decision.action))
    return built


# --- the sides ------------------------------------------------------------------------------------


@dataclass
class SideRun:
    """One side's figures in one round."""

    latencies_s: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # the handler's
    sent: list[dict[str, Any]] = field(default_factory=list)  # what the stand-in accepted meanwhile
    # The handler's DynamoDB calls, per outcome of the alert: calls in all, and alerts
    dynamodb_calls: Counter[str] = field(default_factory=Counter)
    dynamodb_alerts: Counter[str] = field(default_factory=Counter)


def run_handler(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    events: Sequence[dict[str, Any]],
    run: SideRun,
    standin: PagerDutyStandin,
    calls: DynamoDBCalls,
) -> None:
    first = len(standin.events)
    for event in events:
        context = FakeLambdaContext(FUNCTION_NAME, timeout_s=FUNCTION_TIMEOUT_S)
        calls_before = calls.count
        before = time.perf_counter()
        summary = handler(event, context)
        run.latencies_s.append(time.perf_counter() - before)
        if summary.get("rejected") or summary.get("deliveries") != 1:
            raise RuntimeError(f"the handler did not take the alert: {summary}")
        run.outcomes.update(summary["outcomes"])
        (outcome,) = summary["outcomes"]  # one alert per event
        run.dynamodb_calls[outcome] += calls.count - calls_before
        run.dynamodb_alerts[outcome] += 1
    run.sent.extend(standin.events[first:])


def run_direct(sender: PagerDutyEvents, events: Sequence[PagerDutyEvent], run: SideRun) -> None:
    for event in events:
        deadline = time.monotonic() + FUNCTION_TIMEOUT_S - DEADLINE_MARGIN_S
        before = time.perf_counter()
        sender.send(event, deadline)
        run.latencies_s.append(time.perf_counter() - before)


@contextlib.contextmanager
def quiet() -> Iterator[TextIO]:
    """Logs and EMF metrics are written, as in Lambda, but to os.devnull."""
    from runbook.observability import logger

    with open(os.devnull, "w") as devnull, warnings.catch_warnings():
        # Powertools warns when an invocation added no metric (an alert that joined a group).
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        handler = logger.registered_handler
        previous = handler.setStream(devnull) if isinstance(handler, logging.StreamHandler) else None
        try:
            with contextlib.redirect_stdout(devnull):
                yield devnull
        finally:
            if isinstance(handler, logging.StreamHandler) and previous is not None:
                handler.setStream(previous)


@dataclass
class Measured:
    rounds: list[dict[str, SideRun]]  # per round: "handler", "direct"
    handler_events_sent: list[int]
    violations: list[str]
    not_sent_by_direct: int  # events the handler sent that are not among the direct side's


def measure(n: int, rounds: int, block: int) -> Measured:
    plan = plan_for(n)
    standin = PagerDutyStandin().start()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            config_path = Path(workdir) / "runbook.yaml"
            config_path.write_text(json.dumps(runbook_config(plan), indent=2) + "\n")
            lambda_environment(config_path, standin.events_url, standin.rest_url)
            with mock_aws(), dynamodb_transactions_as_dynamodb(), quiet(), DynamoDBCalls() as calls:
                try:
                    return _measure(n, rounds, block, plan, config_path, standin, calls)
                except Exception as error:  # a refused request fails the handler: say what was refused
                    violations = [str(violation) for violation in standin.violations]
                    raise RunFailedError(violations) from error
    finally:
        standin.close()


class RunFailedError(Exception):
    def __init__(self, violations: list[str]) -> None:
        super().__init__("the run stopped")
        self.violations = violations


def _measure(
    n: int,
    rounds: int,
    block: int,
    plan: Plan,
    config_path: Path,
    standin: PagerDutyStandin,
    calls: DynamoDBCalls,
) -> Measured:
    from runbook.roots.shared import vendor_client

    session = boto3.session.Session(region_name=REGION)
    ssm, sqs, dynamodb = session.client("ssm"), session.client("sqs"), session.client("dynamodb")
    for name in service_names(plan):
        ssm.put_parameter(Name=f"/runbook/pagerduty/{name}", Value=routing_key(name), Type="SecureString")
    os.environ["DEAD_LETTER_QUEUE_URL"] = sqs.create_queue(QueueName="runbook-dlq")["QueueUrl"]
    handler = load_handler_module("pagerduty_escalation").lambda_handler

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    events = alert_events(n, plan, start + timedelta(seconds=1))
    warm_up = warm_up_event(plan, start)
    now = datetime.now(UTC)
    direct_events = page_events(events, config_path, now)
    (direct_warm_up,) = page_events([warm_up], config_path, now)
    direct_bodies = {_canonical(event.to_body()) for event in direct_events}

    measured = Measured(rounds=[], handler_events_sent=[], violations=[], not_sent_by_direct=0)
    for round_number in range(rounds):
        table = f"runbook-state-{round_number}"
        create_state_table(dynamodb, table)
        os.environ["STATE_TABLE_NAME"] = table
        reset_cold_start()
        client = vendor_client()  # the handler's own comes with its cold start
        sender = PagerDutyEvents(client, standin.events_url, RetryPolicy())
        handler(warm_up, FakeLambdaContext(FUNCTION_NAME, timeout_s=FUNCTION_TIMEOUT_S))
        sender.send(direct_warm_up, time.monotonic() + FUNCTION_TIMEOUT_S)
        runs = {"handler": SideRun(), "direct": SideRun()}
        for number, first in enumerate(range(0, n, block)):
            last = first + block
            for side in ("handler", "direct") if (number + round_number) % 2 else ("direct", "handler"):
                if side == "handler":
                    run_handler(handler, events[first:last], runs[side], standin, calls)
                else:
                    run_direct(sender, direct_events[first:last], runs[side])
        client.close()
        sent = runs["handler"].sent
        measured.handler_events_sent.append(len(sent))
        measured.not_sent_by_direct += sum(_canonical(body) not in direct_bodies for body in sent)
        measured.rounds.append(runs)
    measured.violations = [str(violation) for violation in standin.violations]
    return measured


def _canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


# --- the report -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def side_figures(run: SideRun) -> dict[str, float]:
    latencies = run.latencies_s
    return {
        "alerts_per_s": len(latencies) / math.fsum(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "time_s": math.fsum(latencies),
    }


SIDE_FIGURES = ("alerts_per_s", "p50_ms", "p95_ms", "time_s")


def report(args: argparse.Namespace, measured: Measured) -> dict[str, Any]:
    per_round: list[dict[str, Any]] = []
    for samples in measured.rounds:
        handler, direct = (side_figures(samples[side]) for side in ("handler", "direct"))
        per_round.append(
            {
                "handler": handler,
                "direct": direct,
                "added_p50_ms": handler["p50_ms"] - direct["p50_ms"],
                "added_p95_ms": handler["p95_ms"] - direct["p95_ms"],
                "ratio_p50": handler["p50_ms"] / direct["p50_ms"],
                "ratio_p95": handler["p95_ms"] / direct["p95_ms"],
            }
        )

    def median(*path: str) -> float:
        """The median over the rounds of one figure: median("ratio_p95"), median("handler", "p50_ms")."""
        values = []
        for figures in per_round:
            value: Any = figures
            for name in path:
                value = value[name]
            values.append(float(value))
        return round(statistics.median(values), 3)

    sides = {
        side: {figure: median(side, figure) for figure in SIDE_FIGURES} for side in ("handler", "direct")
    }
    outcomes, calls, alerts = Counter[str](), Counter[str](), Counter[str]()
    for samples in measured.rounds:
        outcomes.update(samples["handler"].outcomes)
        calls.update(samples["handler"].dynamodb_calls)
        alerts.update(samples["handler"].dynamodb_alerts)
    calls_per_alert = {outcome: round(calls[outcome] / alerts[outcome], 2) for outcome in sorted(alerts)}
    ratio_p95 = median("ratio_p95")
    return {
        "alerts": args.alerts,
        "rounds": args.rounds,
        "block": args.block,
        "sides": sides,
        "added_p50_ms": median("added_p50_ms"),
        "added_p95_ms": median("added_p95_ms"),
        "ratio_p50": median("ratio_p50"),
        "ratio_p95": ratio_p95,
        "per_round": [_rounded(r) for r in per_round],
        "handler_outcomes": dict(sorted(outcomes.items())),
        "dynamodb_calls_per_alert": calls_per_alert,
        "dynamodb_calls_per_alert_all": round(sum(calls.values()) / max(1, sum(alerts.values())), 2),
        "handler_events_sent_per_round": measured.handler_events_sent,
        "direct_events_sent_per_round": args.alerts,
        "violations": measured.violations,
        "target": {"ratio_p95_max": TARGET_P95_RATIO, "dynamodb_calls_per_alert_max": TARGET_CALLS_PER_ALERT},
        "target_met": ratio_p95 <= TARGET_P95_RATIO and calls_within_target(calls_per_alert),
    }


def calls_within_target(calls_per_alert: dict[str, float]) -> bool:
    """Each common path was measured and took at most its calls (a path never taken is a miss too)."""
    return all(calls_per_alert.get(path, math.inf) <= most for path, most in TARGET_CALLS_PER_ALERT.items())


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: _rounded(v) if isinstance(v, dict) else round(v, 3) for k, v in figures.items()}


def problems(args: argparse.Namespace, measured: Measured, result: dict[str, Any]) -> list[str]:
    """What makes the run wrong, whatever the timings."""
    found = [f"PagerDuty would refuse: {violation}" for violation in measured.violations]
    outcomes = result["handler_outcomes"]
    if sum(outcomes.values()) != args.alerts * args.rounds:
        found.append(f"{sum(outcomes.values())} outcomes for {args.alerts * args.rounds} alerts")
    unexpected = sorted(set(outcomes) - EXPECTED_OUTCOMES)
    if unexpected:
        found.append(f"unexpected outcomes {unexpected} (storm folding or stale alerts skew the figures)")
    if measured.not_sent_by_direct:
        found.append(f"{measured.not_sent_by_direct} events the handler sent differ from the direct side's")
    return found


def table(result: dict[str, Any]) -> str:
    sides = result["sides"]
    lines = [
        f"Paging benchmark: {result['alerts']} alerts per side, median of {result['rounds']} round(s); "
        f"the handler sent {min(result['handler_events_sent_per_round'])}-"
        f"{max(result['handler_events_sent_per_round'])} events a round, direct {result['alerts']}",
        f"{'side':<8} {'alerts/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'time s':>8}",
    ]
    for name in ("handler", "direct"):
        side = sides[name]
        lines.append(
            f"{name:<8} {side['alerts_per_s']:>9.1f} {side['p50_ms']:>8.3f} {side['p95_ms']:>8.3f} "
            f"{side['time_s']:>8.3f}"
        )
    lines.append(
        f"added per alert (handler - direct): p50 {result['added_p50_ms']:.3f} ms, "
        f"p95 {result['added_p95_ms']:.3f} ms"
    )
    lines.append(
        f"ratio handler/direct: p50 {result['ratio_p50']:.2f}, p95 {result['ratio_p95']:.2f} "
        f"(target p95 <= {TARGET_P95_RATIO:g}): "
        + ("target met" if result["target_met"] else "TARGET MISSED")
    )
    lines.append("handler outcomes: " + ", ".join(f"{k} {v}" for k, v in result["handler_outcomes"].items()))
    lines.append(
        "DynamoDB calls per alert: "
        + ", ".join(f"{k} {v:g}" for k, v in result["dynamodb_calls_per_alert"].items())
        + f"; all {result['dynamodb_calls_per_alert_all']:g} (target: "
        + ", ".join(f"{k} <= {v:g}" for k, v in TARGET_CALLS_PER_ALERT.items())
        + ")"
    )
    lines.append(f"stand-in: {len(result['violations'])} request(s) PagerDuty would refuse")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--alerts", type=int, default=1000, help="alerts per side and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (the median is reported)")
    parser.add_argument(
        "--block",
        type=int,
        default=BLOCK,
        help="alerts per side before the other side's turn (1: they alternate every alert)",
    )
    parser.add_argument("--short", action="store_true", help="N=100: for CI")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--enforce",
        action="store_true",
        help=f"exit 1 when handler p95 > {TARGET_P95_RATIO:g}x direct p95 or an alert takes > 2 calls",
    )
    args = parser.parse_args(argv)
    if args.short:
        args.alerts = 100
    if args.alerts < 2 or args.rounds < 1 or args.block < 1:
        parser.error("need at least 2 alerts and 1 round")

    missing = [name for name in (EVENTS_SPEC, REST_SPEC) if not (SPECS_DIR / name).is_file()]
    if missing:
        reason = f"PagerDuty OpenAPI specs {missing} not in {SPECS_DIR}: set PAGERDUTY_SPECS_DIR"
        print(json.dumps({"skipped": reason}) if args.json else f"paging benchmark skipped: {reason}")
        return 0

    try:
        measured = measure(args.alerts, args.rounds, args.block)
    except RunFailedError as failed:
        traceback.print_exception(failed.__cause__ or failed, file=sys.stderr)
        for violation in failed.violations:
            print(f"error: PagerDuty would refuse: {violation}", file=sys.stderr)
        return 1
    result = report(args, measured)
    print(json.dumps(result, indent=2) if args.json else table(result))
    found = problems(args, measured, result)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if found:
        return 1
    return 1 if args.enforce and not result["target_met"] else 0


if __name__ == "__main__":
    sys.exit(main())

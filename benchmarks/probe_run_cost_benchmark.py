"""What a health-probe run costs per check, through HealthProbeFunction's handler: a script, not a test.

The handler runs in-process as in Lambda (Powertools logger and EMF metrics formatted as there), AWS
is moto (mock_aws: the state table from template.yaml, the alerts topic), the targets are http
checks against a loopback server (tools/standins/http_servers.py) answering 200 at once. Every figure
is from the second run of a config (steady state: the first run meets new checks).

  telemetry  for N = 10 and 100 healthy checks: the bytes the run writes to stdout (what CloudWatch
             Logs ingests: log lines and EMF records) per check, and the metric series it defines
             (name and dimension values: what CloudWatch bills per month). Sizes and counts, not
             times: the same on any machine.
  ceiling    for N = --checks (1,000) healthy checks: the process CPU time of the run per check,
             median of --rounds runs, and the checks that fit one run at 256 and 512 MB (Lambda gives
             memory/1,769 MB of a vCPU: 0.145 and 0.289) within the function's 55 s timeout, keeping
             half of it as margin (targets slower than loopback, retries, a cold start).

    uv run python -m benchmarks.probe_run_cost_benchmark            # N=10/100, ceiling at 1,000 checks
    uv run python -m benchmarks.probe_run_cost_benchmark --short    # ceiling at 200 checks, for CI
    uv run python -m benchmarks.probe_run_cost_benchmark --json     # machine-readable
    uv run python -m benchmarks.probe_run_cost_benchmark --enforce  # exit 1 when a target is missed

Targets (issue 11), enforced with --enforce: at most 200 bytes of logs per healthy check per run,
and the same metric series for 10 checks as for 100. The ceiling is a figure, not a target.
"""

import argparse
import contextlib
import io
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from standins.http_servers import LoopbackServer, ServerLoop
from standins.lambda_runtime import FakeLambdaContext, load_event, load_handler_module, reset_cold_start
from standins.state_table import REGION, create_state_table

MAX_BYTES_PER_HEALTHY_CHECK = 200
FUNCTION_TIMEOUT_S = 55.0  # template.yaml: HealthProbeFunction's Timeout
VCPU_AT = {256: 256 / 1769, 512: 512 / 1769}
MARGIN = 0.5  # of the run's time kept back


@contextlib.contextmanager
def captured() -> Iterator[io.StringIO]:
    """Everything the function writes to stdout, as Lambda would send it to CloudWatch Logs."""
    from runbook.observability import logger

    out = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(out)
    try:
        with contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            yield out
    finally:
        handler.setStream(previous)


def metric_series(out: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    series = set()
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive["Dimensions"]:
                values = tuple((d, str(record[d])) for d in dimensions)
                series |= {(m["Name"], values) for m in directive["Metrics"]}
    return series


def steady_run(server: LoopbackServer, scratch: Path, n: int, dynamodb: Any) -> tuple[str, float]:
    """The second run over `n` healthy checks: what it wrote, and its process CPU seconds."""
    config = scratch / f"runbook-{n}.yaml"
    checks = [f"  - {{name: api-{i}, kind: http, url: '{server.url('/ok')}'}}" for i in range(n)]
    config.write_text("checks:\n" + "\n".join(checks) + "\n")
    table = f"runbook-state-{n}-{time.monotonic_ns()}"
    create_state_table(dynamodb, table)
    os.environ |= {"RUNBOOK_CONFIG": str(config), "STATE_TABLE_NAME": table}
    reset_cold_start()
    handler = load_handler_module("health_probe").lambda_handler
    event = load_event("health_probe/schedule.json")
    with captured():
        first = handler(event, FakeLambdaContext())
    with captured() as out:
        started = time.process_time()
        summary = handler(event, FakeLambdaContext())
        cpu_s = time.process_time() - started
    if first["passed"] != n or summary["passed"] != n:
        raise RuntimeError(f"expected {n} healthy checks, got {summary}")
    return out.getvalue(), cpu_s


def measure(ceiling_checks: int, rounds: int) -> dict[str, Any]:
    loop = ServerLoop()
    server = LoopbackServer(loop).start()
    os.environ |= {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "runbook-automation",
        "POWERTOOLS_METRICS_NAMESPACE": "RunbookAutomation",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    }
    try:
        with mock_aws(), tempfile.TemporaryDirectory(prefix="probe-cost-") as scratch:
            session = boto3.session.Session(region_name=REGION)
            topic = session.client("sns").create_topic(Name="runbook-alerts")["TopicArn"]
            os.environ["ALERTS_TOPIC_ARN"] = topic
            dynamodb = session.client("dynamodb")
            telemetry = {}
            for n in (10, 100):
                out, _ = steady_run(server, Path(scratch), n, dynamodb)
                telemetry[n] = {"log_bytes_per_check": len(out.encode()) / n, "series": metric_series(out)}
            cpu = [steady_run(server, Path(scratch), ceiling_checks, dynamodb)[1] for _ in range(rounds)]
    finally:
        server.close()
        loop.close()
    return {"telemetry": telemetry, "cpu_s": cpu, "ceiling_checks": ceiling_checks}


def report(measured: dict[str, Any]) -> dict[str, Any]:
    telemetry = measured["telemetry"]
    cpu_ms = statistics.median(measured["cpu_s"]) * 1000 / measured["ceiling_checks"]
    fits = {
        f"{mb}_mb": int(FUNCTION_TIMEOUT_S * (1 - MARGIN) * vcpu * 1000 / cpu_ms)
        for mb, vcpu in VCPU_AT.items()
    }
    result = {
        "log_bytes_per_healthy_check": {
            str(n): round(t["log_bytes_per_check"], 1) for n, t in telemetry.items()
        },
        "metric_series_per_run": {str(n): len(t["series"]) for n, t in telemetry.items()},
        "metric_names": sorted({name for name, _ in telemetry[100]["series"]}),
        "cpu_ms_per_check": round(cpu_ms, 3),
        "ceiling_checks": measured["ceiling_checks"],
        "rounds": len(measured["cpu_s"]),
        "checks_per_run": fits,
        "margin": MARGIN,
    }
    result["target"] = {"log_bytes_per_healthy_check_max": MAX_BYTES_PER_HEALTHY_CHECK}
    result["target_met"] = (
        all(t["log_bytes_per_check"] <= MAX_BYTES_PER_HEALTHY_CHECK for t in telemetry.values())
        and telemetry[10]["series"] == telemetry[100]["series"]
    )
    return result


def print_table(result: dict[str, Any]) -> None:
    for n, size in result["log_bytes_per_healthy_check"].items():
        series = result["metric_series_per_run"][n]
        print(f"{n:>4} healthy checks: {size:7.1f} B of logs per check per run, {series} metric series")
    print(f"metrics: {', '.join(result['metric_names'])}")
    print(
        f"CPU through the handler: {result['cpu_ms_per_check']:.2f} ms per check "
        f"({result['ceiling_checks']} checks, median of {result['rounds']})"
    )
    fits = result["checks_per_run"]
    print(
        f"checks per run, {result['margin']:.0%} of {FUNCTION_TIMEOUT_S:g} s kept back: "
        f"{fits['256_mb']} at 256 MB, {fits['512_mb']} at 512 MB"
    )
    print(
        "target (<= 200 B a healthy check, metrics constant in N): "
        + ("met" if result["target_met"] else "MISSED")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1000, help="checks of the ceiling's runs")
    parser.add_argument("--rounds", type=int, default=3, help="ceiling runs (the median is reported)")
    parser.add_argument("--short", action="store_true", help="200 checks, 1 round: for CI")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--enforce", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    measured = measure(200 if args.short else args.checks, 1 if args.short else args.rounds)
    result = report(measured)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)
    return 1 if args.enforce and not result["target_met"] else 0


if __name__ == "__main__":
    sys.exit(main())

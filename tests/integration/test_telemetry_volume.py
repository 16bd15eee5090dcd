"""What a probe run costs in CloudWatch, through HealthProbeFunction's handler (moto, loopback targets).

CloudWatch bills logs by the byte ($0.50 per GB ingested) and metrics by the name and dimension set
($0.30 a month each): a healthy, steady check must add at most 200 bytes of logs a run, and no metric
unless it asks for one (`metrics: true`). Bytes are counted as CloudWatch Logs would ingest them: all
the function writes to stdout, EMF records included.
"""

import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runbook.observability import logger
from standins.http_servers import Reply
from standins.lambda_runtime import FakeLambdaContext, load_event, load_handler_module, reset_cold_start

MAX_BYTES_PER_HEALTHY_CHECK = 200  # issue 11: at most $0.05 a month a check


@pytest.fixture
def probe_run(
    aws, http_server, tmp_path, monkeypatch, capfd
) -> Iterator[Callable[..., tuple[bytes, dict[str, Any]]]]:
    """Runs the scheduled handler over `n` healthy http checks (and `failing` ones that answer 503);
    returns what the second run wrote to stdout (steady state: the first one meets new checks) and
    its summary."""
    http_server.route("/down", Reply(status=503))
    monkeypatch.setenv("STATE_TABLE_NAME", aws.table_name)
    monkeypatch.setenv("ALERTS_TOPIC_ARN", aws.topic_arn)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "runbook-automation")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RunbookAutomation")
    monkeypatch.setattr(logger.registered_handler, "stream", sys.__stdout__)

    def run(n: int, failing: int = 0, opted_in: int = 0) -> tuple[bytes, dict[str, Any]]:
        lines = ["checks:"]
        lines += [
            f"  - {{name: api-{i}, kind: http, url: '{http_server.url('/ok')}'"
            + (", metrics: true" if i < opted_in else "")
            + "}"
            for i in range(n)
        ]
        lines += [
            f"  - {{name: down-{i}, kind: http, url: '{http_server.url('/down')}', failure_threshold: 1}}"
            for i in range(failing)
        ]
        config = tmp_path / f"runbook-{n}-{failing}-{opted_in}.yaml"
        config.write_text("\n".join(lines) + "\n")
        monkeypatch.setenv("RUNBOOK_CONFIG", str(config))
        reset_cold_start()
        handler = load_handler_module("health_probe").lambda_handler
        handler(load_event("health_probe/schedule.json"), FakeLambdaContext())
        capfd.readouterr()
        summary = handler(load_event("health_probe/schedule.json"), FakeLambdaContext())
        if sys.__stdout__ is not None:
            sys.__stdout__.flush()
        return capfd.readouterr().out.encode(), summary

    yield run
    reset_cold_start()


def records(out: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]


def metric_series(out: bytes) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """Each (metric name, dimension values) an EMF record defines: what CloudWatch bills per month."""
    series = set()
    for record in records(out):
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive["Dimensions"]:
                values = tuple((d, str(record[d])) for d in dimensions)
                series |= {(m["Name"], values) for m in directive["Metrics"]}
    return series


@pytest.mark.parametrize("n", [10, 100])
def test_a_healthy_steady_check_adds_at_most_200_bytes_of_logs_a_run(probe_run, n):
    out, summary = probe_run(n)
    assert (summary["checks"], summary["passed"]) == (n, n)
    assert len(out) / n <= MAX_BYTES_PER_HEALTHY_CHECK, f"{len(out)} bytes for {n} healthy checks"
    assert [r for r in records(out) if r.get("message") == "probe run"], "no run summary at INFO"


def test_the_metrics_of_a_run_do_not_grow_with_the_number_of_checks(probe_run):
    few, _ = probe_run(10)
    many, _ = probe_run(100)
    assert metric_series(few) == metric_series(many)
    assert {name for name, _ in metric_series(many)} >= {"ProbeRun", "ChecksFailing"}


def test_only_checks_that_ask_for_metrics_get_metrics_of_their_own(probe_run):
    out, _ = probe_run(10, opted_in=2)
    per_check = {dict(dims).get("check") for name, dims in metric_series(out) if name == "CheckSuccess"}
    assert per_check == {"api-0", "api-1"}


def test_a_failing_check_is_logged_at_info_with_its_details_among_silent_healthy_ones(probe_run):
    out, summary = probe_run(20, failing=1)
    results = [r for r in records(out) if r.get("message") == "check result"]
    assert [r["check"] for r in results] == ["down-0"]
    assert results[0]["level"] == "INFO"
    assert results[0]["outcome"] == "http_status"
    assert "503" in results[0]["reason"]
    assert results[0]["details"]
    assert summary["failed"] == 1


def test_at_debug_every_check_has_its_line(probe_run):
    logger.setLevel("DEBUG")
    try:
        out, _ = probe_run(10)
    finally:
        logger.setLevel("INFO")
    results = [r for r in records(out) if r.get("message") == "check result"]
    assert sorted(r["check"] for r in results) == sorted(f"api-{i}" for i in range(10))
    assert {r["level"] for r in results} == {"DEBUG"}

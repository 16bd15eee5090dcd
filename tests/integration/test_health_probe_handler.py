"""HealthProbeFunction's handler in-process, with moto and loopback targets: what it returns, logs
and emits as metrics for each kind of event."""

import json
import sys
from typing import Any

import pytest

from runbook.config_file import ConfigError
from runbook.observability import logger
from standins.http_servers import Reply
from standins.lambda_runtime import FakeLambdaContext, load_event, load_handler_module, reset_cold_start


@pytest.fixture
def handler(aws, http_server, tmp_path, monkeypatch, capfd):
    http_server.route("/down", Reply(status=503))
    config = tmp_path / "runbook.yaml"
    config.write_text(
        "checks:\n"
        f"  - {{name: api-ok, kind: http, url: '{http_server.url('/ok')}', metrics: true}}\n"
        f"  - {{name: api-down, kind: http, url: '{http_server.url('/down')}', failure_threshold: 1}}\n"
        "  - {name: web-app-synthetic, kind: heartbeat, max_age: 30m}\n"
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(config))
    monkeypatch.setenv("STATE_TABLE_NAME", aws.table_name)
    monkeypatch.setenv("ALERTS_TOPIC_ARN", aws.topic_arn)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "runbook-automation")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RunbookAutomation")
    reset_cold_start()
    # The Logger's handler keeps the stdout object of the moment it was created: write to the real
    # file descriptor, which capfd captures.
    monkeypatch.setattr(logger.registered_handler, "stream", sys.__stdout__)
    yield load_handler_module("health_probe").lambda_handler
    reset_cold_start()


def stdout_records(capfd) -> list[dict[str, Any]]:
    if sys.__stdout__ is not None:
        sys.__stdout__.flush()
    lines = capfd.readouterr().out.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def emf(records: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    return [r for r in records if "_aws" in r and metric in r]


def test_scheduled_run_returns_a_summary_logs_what_failed_and_emits_the_metrics_asked_for(
    handler, aws, capfd
):
    summary = handler(load_event("health_probe/schedule.json"), FakeLambdaContext())

    assert (summary["checks"], summary["passed"], summary["failed"]) == (3, 1, 2)
    assert {f["check"]: f["outcome"] for f in summary["failing"]} == {
        "api-down": "http_status",
        "web-app-synthetic": "never_reported",
    }
    assert summary["went_down"] == ["api-down"]
    assert [a.check for a, _ in aws.published()] == ["api-down"]

    records = stdout_records(capfd)
    # At INFO: what failed, with its details and what changed; the healthy, steady api-ok is not there.
    results = {r["check"]: r for r in records if r.get("message") == "check result"}
    assert sorted(results) == ["api-down", "web-app-synthetic"]
    assert all({"outcome", "reason", "ok", "kind", "details"} <= set(r) for r in results.values())
    assert results["api-down"]["change"] == "down"
    assert "change" not in results["web-app-synthetic"]  # failing, but not yet past its threshold
    [run_line] = [r for r in records if r.get("message") == "probe run"]
    assert (run_line["checks"], run_line["failed"], run_line["went_down"]) == (3, 2, ["api-down"])
    # Only api-ok has `metrics: true`: the only check with metrics of its own.
    per_check = {r["check"]: r["CheckSuccess"] for r in emf(records, "CheckSuccess")}
    assert per_check == {"api-ok": [1.0]}
    [latency] = [r for r in emf(records, "CheckLatency") if r["check"] == "api-ok"]
    assert latency["CheckLatency"][0] > 0
    assert ["check", "service"] in latency["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    [run] = emf(records, "ProbeRun")
    assert (run["ProbeRun"], run["ChecksFailing"]) == ([1.0], [2.0])
    assert run["service"] == "runbook-automation"


def test_heartbeat_event_is_recorded(handler, capfd):
    outcome = handler(load_event("health_probe/heartbeat.json"), FakeLambdaContext())
    assert outcome == {"check": "web-app-synthetic", "accepted": True, "reason": "pass recorded"}
    assert emf(stdout_records(capfd), "HeartbeatAccepted")


def test_an_unknown_event_is_rejected_with_a_log_line_and_a_metric_not_a_crash(handler, capfd):
    outcome = handler(
        {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "hi"}}]}, FakeLambdaContext()
    )
    assert outcome["rejected"].startswith("expected an EventBridge Scheduled Event")
    records = stdout_records(capfd)
    assert [r for r in records if r.get("message") == "event rejected"]
    assert emf(records, "RejectedEvents")
    assert not emf(records, "ProbeRun")


def test_a_broken_config_fails_the_invocation_with_a_located_error(handler, tmp_path, monkeypatch):
    broken = tmp_path / "broken.yaml"
    broken.write_text("checks:\n  - {name: api, kind: http, url: 'https://a.example.com/', timout: 3s}\n")
    monkeypatch.setenv("RUNBOOK_CONFIG", str(broken))
    reset_cold_start()
    with pytest.raises(ConfigError, match=r"line 2: checks\[0\] \"api\" \(http\): timout: unknown field"):
        handler(load_event("health_probe/schedule.json"), FakeLambdaContext())


def test_a_check_whose_timeout_does_not_fit_is_cut_short_and_still_alerts(
    handler, aws, http_server, tmp_path, monkeypatch, capfd
):
    """A 600 s timeout in a run of a few seconds: skipped, the check would never alert while its
    target hangs. Cut to what fits, it times out, goes down and alerts; the cold start logs it once."""
    config = tmp_path / "slow.yaml"
    config.write_text(
        "probe: {deadline_margin: 1s}\n"
        "checks:\n"
        f"  - {{name: api-hangs, kind: http, url: '{http_server.url('/hang')}', timeout: 600s,"
        " failure_threshold: 1}\n"
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(config))
    reset_cold_start()
    first = handler(load_event("health_probe/schedule.json"), FakeLambdaContext(timeout_s=4))
    second = handler(load_event("health_probe/schedule.json"), FakeLambdaContext(timeout_s=4))
    for summary in (first, second):
        assert (summary["failed"], summary["skipped"]) == (1, 0)
        [failing] = summary["failing"]
        assert failing["outcome"] == "timeout"
        assert "its timeout of 600 s was cut to" in failing["reason"]
    assert first["went_down"] == ["api-hangs"]
    [(alert, _)] = aws.published()
    assert (alert.check, alert.status) == ("api-hangs", "firing")
    records = stdout_records(capfd)
    [told] = [
        r
        for r in records
        if r.get("message") == "check timeout does not fit in the function's run: cut short"
    ]
    assert (told["check"], told["timeout_s"], told["level"]) == ("api-hangs", 600.0, "ERROR")


def test_a_slow_check_alerts_with_where_its_time_went(
    handler, aws, loopback, tls_material, http_server, tmp_path, monkeypatch, capfd
):
    """On-call sees in the alert (and the log line) whether the TLS handshake or the server was slow."""
    slow_tls = loopback(tls="valid", handshake_delay_ms=400)
    slow_server = http_server.route("/slow-answer", Reply(delay_ms=400))
    config = tmp_path / "slow.yaml"
    config.write_text(
        "checks:\n"
        f"  - {{name: slow-tls, kind: http, url: '{slow_tls.url('/ok')}',"
        f" tls: {{ca_file: '{tls_material.ca_file}'}},"
        " expect: {max_latency: 200ms}, failure_threshold: 1}\n"
        f"  - {{name: slow-server, kind: http, url: '{slow_server}', expect: {{max_latency: 200ms}},"
        " failure_threshold: 1}\n"
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(config))
    reset_cold_start()

    summary = handler(load_event("health_probe/schedule.json"), FakeLambdaContext())

    assert sorted(summary["went_down"]) == ["slow-server", "slow-tls"]
    alerts = {alert.check: alert for alert, _ in aws.published()}
    tls_details, server_details = alerts["slow-tls"].details, alerts["slow-server"].details
    assert tls_details["outcome"] == server_details["outcome"] == "too_slow"
    assert tls_details["phases_ms"]["tls"] >= 400
    assert tls_details["phases_ms"]["first_byte"] < 400
    assert "(slowest: TLS handshake, " in alerts["slow-tls"].summary
    assert server_details["phases_ms"]["first_byte"] >= 400
    assert "tls" not in server_details["phases_ms"]  # http://
    assert "(slowest: time to first byte, " in alerts["slow-server"].summary
    assert tls_details["connection_reused"] is server_details["connection_reused"] is False
    assert tls_details["latency_ms"] >= tls_details["phases_ms"]["tls"]
    logged = {r["check"]: r for r in stdout_records(capfd) if r.get("message") == "check result"}
    assert logged["slow-tls"]["phases_ms"] == tls_details["phases_ms"]

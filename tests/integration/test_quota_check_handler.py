"""QuotaCheckFunction's handler in-process, with moto and a loopback integration API: what it returns,
logs and emits as metrics per integration."""

import sys

import pytest

from runbook.observability import logger
from standins.http_servers import Reply
from standins.lambda_runtime import FakeLambdaContext, load_event, load_handler_module, reset_cold_start
from tests.integration.test_health_probe_handler import emf, stdout_records

RATE_LIMITED = Reply(
    headers=(("RateLimit-Policy", '"hourly";q=1000;w=3600'), ("RateLimit", '"hourly";r=150;t=1200'))
)


@pytest.fixture
def handler(aws, http_server, tmp_path, monkeypatch):
    http_server.route("/maps", RATE_LIMITED)
    http_server.route("/crm", Reply(status=502))
    config = tmp_path / "runbook.yaml"
    config.write_text(
        "integrations:\n"
        f"  - {{name: maps, status_url: '{http_server.url('/maps')}', metrics: true}}\n"
        f"  - {{name: crm, status_url: '{http_server.url('/crm')}', failure_threshold: 1}}\n"
        "checks:\n"
        f"  - {{name: api, kind: http, url: '{http_server.url('/ok')}'}}\n"
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(config))
    monkeypatch.setenv("STATE_TABLE_NAME", aws.table_name)
    monkeypatch.setenv("ALERTS_TOPIC_ARN", aws.topic_arn)
    reset_cold_start()
    monkeypatch.setattr(logger.registered_handler, "stream", sys.__stdout__)
    yield load_handler_module("quota_check").lambda_handler
    reset_cold_start()


def test_scheduled_run_returns_a_summary_and_emits_metrics_for_integrations_that_ask(handler, aws, capfd):
    summary = handler(load_event("quota_check/schedule.json"), FakeLambdaContext())

    assert (summary["checks"], summary["passed"], summary["failed"]) == (2, 0, 2)
    assert {f["check"]: f["outcome"] for f in summary["failing"]} == {
        "maps": "quota_warning",  # 850 of 1000 (IETF RateLimit headers)
        "crm": "http_status",
    }
    assert summary["went_down"] == ["crm"]
    assert [(a.check, a.source) for a, _ in aws.published()] == [("crm", "quota-check")]

    records = stdout_records(capfd)
    logged = {r["check"]: r for r in records if r.get("message") == "check result"}
    assert set(logged) == {"maps", "crm"}
    assert logged["maps"]["details"]["quota"]["percent"] == pytest.approx(85.0)
    usage = {r["integration"]: r["QuotaUsagePercent"] for r in emf(records, "QuotaUsagePercent")}
    assert usage == {"maps": [85.0]}  # crm said nothing about its quota: no made-up 0 %
    status = {r["integration"]: r["StatusSuccess"] for r in emf(records, "StatusSuccess")}
    assert status == {
        "maps": [1.0]
    }  # crm has no `metrics: true`: its failure is in the logs and the run's count
    assert all(r["StatusLatency"][0] > 0 for r in emf(records, "StatusLatency"))
    [run] = emf(records, "QuotaCheckRun")
    assert (run["QuotaCheckRun"], run["IntegrationsFailing"]) == ([1.0], [2.0])
    [summary_line] = [r for r in records if r.get("message") == "quota run"]
    assert (summary_line["checks"], summary_line["failed"], summary_line["went_down"]) == (2, 2, ["crm"])
    assert not emf(records, "CheckSuccess")  # health-probe metrics belong to the health probe


def test_the_quota_check_rejects_a_heartbeat_event(handler, capfd):
    outcome = handler(load_event("health_probe/heartbeat.json"), FakeLambdaContext())
    assert outcome["rejected"].startswith("expected an EventBridge Scheduled Event")
    records = stdout_records(capfd)
    assert emf(records, "RejectedEvents")
    assert not emf(records, "QuotaCheckRun")

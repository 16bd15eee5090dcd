"""The health probe service end to end below the handler: real loopback HTTP targets, DynamoDB and SNS
in moto. Thresholds, one alert per transition, the outbox, overlapping runs and the run deadline."""

import json
from datetime import timedelta

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

from runbook.adapters.alerts_topic import AlertsTopic
from runbook.adapters.parameters import SecretResolver
from runbook.adapters.state_store import StateStore
from runbook.config_file import parse_config
from runbook.services.health_probe import HealthProbeDependencies, run_health_probe
from standins.http_servers import Reply
from tests.support.run_doubles import T0, Clock, RecordingReporter

UP = Reply()
DOWN = Reply(status=503, body=b'{"status":"down"}')


def http_config(server, *names: str, extra: str = "") -> str:
    checks = "".join(
        f"  - {{name: {n}, kind: http, url: '{server.url('/' + n)}', timeout: 2s}}\n" for n in names
    )
    return "probe: {deadline_margin: 1s}\nchecks:\n" + checks + extra


@pytest.fixture
def make_deps(aws):
    def make(config_text: str, topic_arn: str | None = None, store: StateStore | None = None):
        return HealthProbeDependencies(
            config=parse_config(config_text),
            store=store or StateStore(aws.dynamodb, aws.table_name),
            topic=AlertsTopic(aws.sns, topic_arn or aws.topic_arn),
            secrets=SecretResolver(
                SSMProvider(boto3_client=aws.ssm), SecretsProvider(boto3_client=aws.secretsmanager)
            ),
            reporter=RecordingReporter(),
            now=Clock(),
        )

    return make


def minute(deps, n: int, budget_s: float = 30.0):
    deps.now.now = T0 + timedelta(minutes=n)
    return run_health_probe(deps, budget_s)


def test_flapping_target_never_alerts(aws, http_server, make_deps):
    deps = make_deps(http_config(http_server, "flappy"))
    for n in range(12):
        http_server.route("/flappy", UP if n % 2 == 0 else DOWN)
        summary = minute(deps, n)
        assert summary.failed == n % 2
    assert aws.published() == []


def test_outage_alerts_once_when_it_starts_and_once_when_it_ends(aws, http_server, make_deps):
    deps = make_deps(http_config(http_server, "api", "steady"))
    http_server.route("/steady", UP)
    timeline = ["up"] * 3 + ["down"] * 6 + ["up"] * 4
    went_down, came_up = [], []
    for n, health in enumerate(timeline):
        http_server.route("/api", UP if health == "up" else DOWN)
        summary = minute(deps, n)
        went_down += [(n, c) for c in summary.went_down]
        came_up += [(n, c) for c in summary.came_up]
    assert went_down == [(4, "api")]  # second failed run
    assert came_up == [(10, "api")]  # second good run
    published = aws.published()
    assert [(a.status, a.check) for a, _ in published] == [("firing", "api"), ("resolved", "api")]
    firing, resolved = published[0][0], published[1][0]
    assert firing.key == resolved.key == "health-probe/api"
    assert "answered 503" in firing.summary or "503" in firing.summary
    assert resolved.details["down_since"] == (T0 + timedelta(minutes=4)).isoformat()
    assert published[0][1]["status"] == "firing"


def test_unpublished_alert_is_kept_and_sent_on_the_next_run(aws, http_server, make_deps):
    config = http_config(http_server, "api")
    http_server.route("/api", DOWN)
    broken_topic = make_deps(config, topic_arn=aws.topic_arn + "-gone")
    minute(broken_topic, 0)
    summary = minute(broken_topic, 1)
    assert summary.went_down == ["api"]
    assert summary.alerts_pending == 1
    assert aws.published() == []
    assert broken_topic.reporter.problems[0][0] == "alert not published; kept for the next run"

    healthy_topic = make_deps(config)
    summary = minute(healthy_topic, 2)
    assert summary.alerts_published == 1
    assert [a.status for a, _ in aws.published()] == ["firing"]
    minute(healthy_topic, 3)
    assert aws.published() == []  # cleared from the outbox once SNS took it


def test_overlapping_runs_cannot_corrupt_the_streak(aws, http_server, make_deps):
    """Another invocation writes between this run's read and its write: the conditional write fails,
    the run re-reads and applies its own result on top, and exactly one alert is decided."""

    class OverlappingStore(StateStore):
        raced = False

        def save_state(self, state):
            if not self.raced:
                self.raced = True
                competitor = self.get_state(state.check).model_copy(update={"failures": 1, "status": "up"})
                StateStore.save_state(self, competitor)  # the other run counted one failure first
            return super().save_state(state)

    http_server.route("/api", DOWN)
    store = OverlappingStore(aws.dynamodb, aws.table_name)
    deps = make_deps(http_config(http_server, "api"), store=store)
    summary = minute(deps, 0)
    assert summary.went_down == ["api"]  # 1 (other run) + 1 (this run) = threshold
    assert (store.get_state("api").status, store.get_state("api").level) == ("down", "critical")
    assert [a.status for a, _ in aws.published()] == ["firing"]


def test_hanging_target_is_cut_at_its_timeout_and_others_finish(aws, http_server, make_deps):
    http_server.route("/stuck", Reply(action="hang"))
    http_server.route("/fine", UP)
    deps = make_deps(http_config(http_server, "stuck", "fine"))
    summary = minute(deps, 0)
    assert summary.passed == 1
    [failing] = summary.failing
    assert (failing.check, failing.outcome) == ("stuck", "timeout")


def test_checks_still_running_at_the_deadline_are_skipped_and_move_nothing(aws, http_server, make_deps):
    http_server.route("/stuck", Reply(action="hang"))
    http_server.route("/fine", UP)
    # One at a time: `waiting` fits in the run on its own, but starts only after `stuck` gave up.
    config = "probe: {deadline_margin: 1s, max_concurrency: 1}\nchecks:\n" + "".join(
        f"  - {{name: {name}, kind: http, url: '{http_server.url(path)}', timeout: 2s}}\n"
        for name, path in (("fine", "/fine"), ("stuck", "/stuck"), ("waiting", "/stuck"))
    )
    deps = make_deps(config)
    summary = minute(deps, 0, budget_s=4.5)  # 1 s margin: the probes get 3.5 s
    [waiting] = [r for r in deps.reporter.results if r.check == "waiting"]
    assert waiting.outcome == "skipped"
    assert summary.skipped >= 1
    assert deps.store.get_state("waiting").failures == 0


def test_a_check_whose_timeout_does_not_fit_in_the_run_is_cut_short_not_skipped(aws, http_server, make_deps):
    http_server.route("/stuck", Reply(action="hang"))
    config = http_config(
        http_server,
        extra=f"  - {{name: stuck, kind: http, url: '{http_server.url('/stuck')}', timeout: 60s}}\n",
    )
    deps = make_deps(config)
    summary = minute(deps, 0, budget_s=2.5)  # 1 s margin: the probes get 1.5 s, the check 0.5 s
    assert (summary.skipped, summary.failed) == (0, 1)
    [failing] = summary.failing
    assert failing.outcome == "timeout"
    assert "its timeout of 60 s was cut to" in failing.reason
    assert deps.store.get_state("stuck").failures == 1
    [(message, fields)] = deps.reporter.problems
    assert (message, fields["check"], fields["timeout_s"]) == (
        "check timeout does not fit in the function's run: cut short",
        "stuck",
        60.0,
    )


def test_secret_header_reaches_the_target_and_a_missing_secret_fails_the_check(aws, http_server, make_deps):
    aws.secretsmanager.create_secret(Name="runbook/api", SecretString=json.dumps({"token": "tok-98765"}))
    http_server.route("/echo", Reply(echo_headers=True))
    config = (
        "checks:\n"
        f"  - name: with-token\n    kind: http\n    url: '{http_server.url('/echo')}'\n"
        "    headers: {X-Token: {secret: runbook/api, key: token}}\n"
        f"  - name: missing-token\n    kind: http\n    url: '{http_server.url('/echo')}'\n"
        "    headers: {X-Token: {ssm: /runbook/nope}}\n"
    )
    deps = make_deps(config)
    summary = minute(deps, 0)
    assert http_server.received("/echo")[0].headers["x-token"] == "tok-98765"
    [failing] = summary.failing
    assert (failing.check, failing.outcome) == ("missing-token", "secret_unavailable")
    assert "ssm:/runbook/nope" in failing.reason
    assert all("tok-98765" not in r.reason for r in deps.reporter.results)


def test_disabled_checks_are_not_run(aws, http_server, make_deps):
    config = http_config(http_server, "fine") + (
        f"  - {{name: paused, kind: http, url: '{http_server.url('/paused')}', enabled: false}}\n"
    )
    deps = make_deps(config)
    summary = minute(deps, 0)
    assert summary.checks == 1
    assert http_server.received("/paused") == []


@pytest.mark.parametrize("how", ["removed", "disabled"])
def test_a_check_removed_or_disabled_while_down_is_resolved_once(aws, http_server, make_deps, how):
    http_server.route("/api", DOWN)
    http_server.route("/other", UP)
    down = make_deps(http_config(http_server, "api", "other"))
    minute(down, 0)
    minute(down, 1)
    assert [(a.status, a.check) for a, _ in aws.published()] == [("firing", "api")]

    later = (
        http_config(http_server, "other")
        if how == "removed"
        else http_config(http_server, "other")
        + f"  - {{name: api, kind: http, url: '{http_server.url('/api')}', enabled: false}}\n"
    )
    changed = make_deps(later)
    summary = minute(changed, 2)
    assert summary.retired == ["api"]
    [(resolved, attributes)] = aws.published()
    assert (resolved.status, resolved.key, attributes["status"]) == (
        "resolved",
        "health-probe/api",
        "resolved",
    )
    assert resolved.details["change"] == "retired"
    assert "removed from the config while DOWN" in resolved.summary
    assert minute(changed, 3).retired == []  # once
    assert aws.published() == []


def test_a_healthy_check_removed_from_the_config_sends_nothing(aws, http_server, make_deps):
    http_server.route("/api", UP)
    minute(make_deps(http_config(http_server, "api")), 0)
    summary = minute(make_deps("checks: []\n"), 1)
    assert summary.retired == []
    assert aws.published() == []

"""The queue probe against a real redis-server (BullMQ-shaped keys, plain lists) and SQS through moto."""

import asyncio
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import redis
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.queue import QueueProbe
from runbook.adapters.probes.queue_sqs import QueueUrlError, region_of
from runbook.models.config import BullmqQueueCheck, ProbeSettings, RedisListQueueCheck, SqsQueueCheck
from runbook.models.observations import FailureKind
from runbook.models.results import Outcome
from runbook.models.secrets import SsmParameterRef
from runbook.models.state import CheckState, QueueSample
from runbook.services.conditions.queue import evaluate
from tests.support.redis_server import RedisInfo
from tests.support.secrets import StaticSecrets

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PASSWORD_REF = SsmParameterRef(ssm="/runbook/test/redis-password")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def environment(
    secrets: StaticSecrets | None = None,
    sqs_client: Callable[[str], Any] | None = None,
    clock: Clock | None = None,
) -> ProbeEnvironment:
    return ProbeEnvironment(
        settings=ProbeSettings(),
        secrets=secrets or StaticSecrets(),
        sqs_client=sqs_client,
        now=clock or Clock(),
    )


def connection(info: RedisInfo, **overrides: Any) -> dict[str, Any]:
    return {"host": info.host, "port": info.port, "db": info.db, **overrides}


def bullmq_check(info: RedisInfo, queue: str = "emails", **overrides: Any) -> BullmqQueueCheck:
    fields = {"name": "emails-queue", "kind": "queue", "backend": "bullmq", "queue": queue, "timeout": 5}
    return BullmqQueueCheck.model_validate({**fields, "redis": connection(info), **overrides})


def list_check(info: RedisInfo, key: str = "thumbnails", **overrides: Any) -> RedisListQueueCheck:
    fields = {"name": "thumbs", "kind": "queue", "backend": "redis_list", "key": key, "timeout": 5}
    return RedisListQueueCheck.model_validate({**fields, "redis": connection(info), **overrides})


class BullmqWriter:
    """Writes a queue's keys as BullMQ 5's Lua scripts do (addStandardJob, addPrioritizedJob, addDelayedJob,
    moveToActive, moveToFinished, pause), so these tests need no Node. Checked against the `bullmq` package in
    `test_against_the_real_bullmq_library`."""

    def __init__(self, client: redis.Redis, queue: str = "emails", prefix: str = "bull") -> None:
        self.r = client
        self.base = f"{prefix}:{queue}"

    def _pop_id(self, reply: Any) -> str:
        assert isinstance(reply, bytes), f"expected a job id, got {reply!r}"
        return reply.decode()

    def _new_job(self, **fields: str | int) -> int:
        job_id = int(self.r.incr(f"{self.base}:id"))
        self.r.hsetnx(f"{self.base}:meta", "opts.maxLenEvents", 10000)
        job: dict[Any, Any] = {
            "name": "send",
            "data": "{}",
            "opts": "{}",
            "timestamp": 1_748_779_200_000,
        }
        job.update(fields)
        self.r.hset(f"{self.base}:{job_id}", mapping=job)
        return job_id

    def add(self, n: int = 1) -> None:
        for _ in range(n):
            self.r.lpush(f"{self.base}:wait", self._new_job())
            self.r.zadd(f"{self.base}:marker", {"0": 0})

    def add_prioritized(self, n: int, priority: int = 3) -> None:
        for _ in range(n):
            job_id = self._new_job(priority=priority)
            counter = int(self.r.incr(f"{self.base}:pc"))
            self.r.zadd(f"{self.base}:prioritized", {str(job_id): priority * 0x100000000 + counter})

    def add_delayed(self, n: int, delay_ms: int = 60_000) -> None:
        for _ in range(n):
            job_id = self._new_job(delay=delay_ms)
            score = (1_748_779_200_000 + delay_ms) * 0x1000 + (job_id & 0xFFF)
            self.r.zadd(f"{self.base}:delayed", {str(job_id): score})

    def add_parent_waiting_for_children(self) -> None:
        self.r.zadd(f"{self.base}:waiting-children", {str(self._new_job()): 1_748_779_200_000})

    def take(self, n: int = 1) -> None:
        """A worker picks the oldest waiting jobs (the tail of `wait`)."""
        for _ in range(n):
            job_id = self._pop_id(self.r.lmove(f"{self.base}:wait", f"{self.base}:active", "RIGHT", "LEFT"))
            self.r.set(f"{self.base}:{job_id}:lock", "token", px=30_000)

    def finish(self, n: int = 1, remove_on_complete: bool = True) -> None:
        for _ in range(n):
            job_id = self._pop_id(self.r.rpop(f"{self.base}:active"))
            self.r.delete(f"{self.base}:{job_id}:lock")
            if remove_on_complete:
                self.r.delete(f"{self.base}:{job_id}")
            else:
                self.r.zadd(f"{self.base}:completed", {job_id: 1_748_779_260_000})

    def pause(self, move_to_paused_list: bool) -> None:
        self.r.hset(f"{self.base}:meta", "paused", 1)
        if move_to_paused_list:  # BullMQ before 5.x renamed wait -> paused; newer ones keep `wait`
            self.r.rename(f"{self.base}:wait", f"{self.base}:paused")


@pytest.fixture
def plain(redis_plain: RedisInfo) -> Iterator[redis.Redis]:
    with redis_plain.client() as client:
        yield client


# ------------------------------------------------------------------------------------------------ BullMQ


async def test_bullmq_counts_waiting_prioritized_active_and_derives_finished_jobs(redis_plain, plain):
    bull = BullmqWriter(plain)
    bull.add(6)
    bull.add_prioritized(2)
    bull.add_delayed(3)
    bull.add_parent_waiting_for_children()
    bull.take(3)
    bull.finish(1, remove_on_complete=True)
    bull.finish(1, remove_on_complete=False)

    observation = await QueueProbe().observe(bullmq_check(redis_plain), environment())

    assert observation.failure is None
    assert observation.depth == 3 + 2  # wait + prioritized; delayed jobs are not ready, so not waiting
    assert observation.in_flight == 1
    # 12 jobs added, 10 not finished (3 wait, 2 prioritized, 3 delayed, 1 waiting for children, 1 active)
    assert observation.processed_total == 2
    details = observation.details
    assert details["delayed"] == 3
    assert details["waiting_children"] == 1
    assert details["queue_paused"] is False
    assert observation.target == f"redis://{redis_plain.host}:{redis_plain.port}/0 bullmq bull:emails"


@pytest.mark.parametrize("move_to_paused_list", [True, False])
async def test_a_paused_queue_still_counts_its_waiting_jobs(redis_plain, plain, move_to_paused_list):
    bull = BullmqWriter(plain)
    bull.add(4)
    bull.pause(move_to_paused_list)
    observation = await QueueProbe().observe(bullmq_check(redis_plain), environment())
    assert observation.depth == 4
    assert observation.processed_total == 0
    assert observation.details["queue_paused"] is True


async def test_bullmq_4_priority_marker_in_the_wait_list_is_not_a_job(redis_plain, plain):
    bull = BullmqWriter(plain)
    bull.add(2)
    plain.rpush("bull:emails:wait", "0:0")  # the marker sits where workers pop first
    observation = await QueueProbe().observe(bullmq_check(redis_plain), environment())
    assert observation.depth == 2
    assert observation.processed_total == 0


async def test_a_custom_prefix_and_a_queue_that_does_not_exist_yet(redis_plain, plain):
    BullmqWriter(plain, queue="emails", prefix="tenant-a").add(3)
    check = bullmq_check(redis_plain, prefix="tenant-a")
    assert (await QueueProbe().observe(check, environment())).depth == 3
    missing = await QueueProbe().observe(bullmq_check(redis_plain, queue="nothing-here"), environment())
    assert missing.failure is None
    assert missing.depth == 0
    assert missing.processed_total == 0


async def test_a_bullmq_key_of_the_wrong_type_is_a_clear_failure(redis_plain, plain):
    plain.hset("bull:emails:wait", "not", "a list")
    observation = await QueueProbe().observe(bullmq_check(redis_plain), environment())
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.QUERY
    assert "'bull:emails:wait' holds a hash, not a list" in observation.failure.message
    result = evaluate(bullmq_check(redis_plain), observation, CheckState(check="c"))
    assert result.outcome is Outcome.QUERY_FAILED
    assert not result.ok


async def test_against_the_real_bullmq_library(redis_plain):
    """The `bullmq` package runs BullMQ's own Lua scripts: the probe must agree with Queue.getJobCounts."""
    bullmq = pytest.importorskip("bullmq", reason="the `bullmq` dev dependency is not installed")
    connection_opts = {"connection": {"host": redis_plain.host, "port": redis_plain.port}}
    queue = bullmq.Queue("emails", connection_opts)
    finished = asyncio.Event()
    release = asyncio.Event()
    done = 0

    async def process(job: Any, token: str) -> int:
        nonlocal done
        done += 1
        if done == 3:
            finished.set()
            await release.wait()  # keeps the third job active
        return 1

    worker = None
    try:
        for i in range(6):
            await queue.add("send", {"i": i}, {"removeOnComplete": True})
        await queue.add("send", {"p": 1}, {"priority": 3})
        await queue.add("send", {"d": 1}, {"delay": 600_000})
        worker = bullmq.Worker("emails", process, {**connection_opts, "concurrency": 1})
        await asyncio.wait_for(finished.wait(), timeout=30)
        counts = await queue.getJobCounts()
        observation = await QueueProbe().observe(bullmq_check(redis_plain), environment())
    finally:
        release.set()
        if worker is not None:
            await worker.close(force=True)
        await queue.close()
    assert observation.depth == counts["waiting"] + counts["prioritized"] == 4
    assert observation.in_flight == counts["active"] == 1
    assert observation.details["delayed"] == counts["delayed"] == 1
    assert observation.processed_total == 2


# --------------------------------------------------------------------------------------------- lists


async def test_a_plain_list_is_measured_with_llen(redis_plain, plain):
    plain.lpush("thumbnails", *range(7))
    observation = await QueueProbe().observe(list_check(redis_plain), environment())
    assert observation.failure is None
    assert observation.depth == 7
    assert observation.processed_total is None
    assert observation.in_flight is None


async def test_a_missing_list_is_an_empty_queue(redis_plain):
    observation = await QueueProbe().observe(list_check(redis_plain, key="never-used"), environment())
    assert observation.failure is None
    assert observation.depth == 0
    assert observation.details["key_exists"] is False


async def test_a_list_key_of_the_wrong_type_is_a_clear_failure(redis_plain, plain):
    plain.set("thumbnails", "42")
    observation = await QueueProbe().observe(list_check(redis_plain), environment())
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.QUERY
    assert "'thumbnails' holds a string, not a list" in observation.failure.message


# --------------------------------------------------------------------------------------- Redis failures


async def test_a_closed_port_is_refused(redis_plain, closed_port):
    check = list_check(redis_plain, redis={"host": "127.0.0.1", "port": closed_port})
    observation = await QueueProbe().observe(check, environment())
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.REFUSED
    assert evaluate(check, observation, CheckState(check="c")).outcome is Outcome.CONNECTION_REFUSED


async def test_a_wrong_password_is_an_auth_failure(redis_password):
    check = bullmq_check(redis_password, redis=connection(redis_password, password={"ssm": PASSWORD_REF.ssm}))
    secrets = StaticSecrets({PASSWORD_REF: "not-the-password"})
    observation = await QueueProbe().observe(check, environment(secrets))
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.AUTH
    assert "not-the-password" not in observation.failure.message
    ok = await QueueProbe().observe(
        check, environment(StaticSecrets({PASSWORD_REF: redis_password.password}))
    )
    assert ok.failure is None
    assert ok.depth == 0


async def test_tls_is_verified_against_the_configured_ca(redis_tls):
    trusted = list_check(redis_tls, redis=connection(redis_tls, tls=True, ca_file=str(redis_tls.ca_file)))
    observation = await QueueProbe().observe(trusted, environment())
    assert observation.failure is None
    assert observation.depth == 0
    untrusted = list_check(redis_tls, redis=connection(redis_tls, tls=True))  # system CAs only
    observation = await QueueProbe().observe(untrusted, environment())
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.TLS


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


async def test_a_server_that_never_answers_is_a_timeout(silent_port):
    info = RedisInfo(host="127.0.0.1", port=silent_port)
    observation = await QueueProbe().observe(list_check(info, timeout="300ms"), environment())
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.TIMEOUT


# ----------------------------------------------------------------------------------------------- SQS


@pytest.fixture
def sqs(monkeypatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    with mock_aws():
        yield boto3.client("sqs", region_name="eu-west-1")


def sqs_factory(region: str) -> Any:
    return boto3.client("sqs", region_name=region)


def sqs_check(url: str, **overrides: Any) -> SqsQueueCheck:
    fields = {"name": "invoices", "kind": "queue", "backend": "sqs", "queue_url": url, "timeout": 5}
    return SqsQueueCheck.model_validate({**fields, **overrides})


async def test_sqs_depth_in_flight_and_delayed(sqs):
    url = sqs.create_queue(QueueName="invoices")["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=300)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=300)
    assert len(received["Messages"]) == 2

    regions: list[str] = []

    def factory(region: str) -> Any:
        regions.append(region)
        return sqs_factory(region)

    observation = await QueueProbe().observe(sqs_check(url), environment(sqs_client=factory))
    assert observation.failure is None
    assert (observation.depth, observation.in_flight, observation.processed_total) == (3, 2, None)
    assert observation.details["delayed"] == 1
    assert regions == ["eu-west-1"]


async def test_sqs_nonexistent_queue_names_the_aws_error_code(sqs):
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/no-such-queue"
    observation = await QueueProbe().observe(sqs_check(url), environment(sqs_client=sqs_factory))
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.QUERY
    assert observation.failure.message.startswith("AWS.SimpleQueueService.NonExistentQueue: ")
    assert evaluate(sqs_check(url), observation, CheckState(check="c")).outcome is Outcome.QUERY_FAILED


async def test_sqs_access_denied_is_an_auth_failure():
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/invoices"
    client = boto3.client("sqs", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s")
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_queue_attributes",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: sqs:getqueueattributes",
        http_status_code=403,
    )
    with stubber:
        observation = await QueueProbe().observe(
            sqs_check(url), environment(sqs_client=lambda region: client)
        )
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.AUTH
    assert observation.failure.message.startswith("AccessDenied: User is not authorized")
    assert evaluate(sqs_check(url), observation, CheckState(check="c")).outcome is Outcome.AUTH_FAILED


async def test_sqs_endpoint_unreachable(closed_port, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    def unreachable(region: str) -> Any:
        return boto3.client(
            "sqs",
            region_name=region,
            endpoint_url=f"http://127.0.0.1:{closed_port}",
            aws_access_key_id="k",
            aws_secret_access_key="s",
            config=Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1}),
        )

    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/invoices"
    observation = await QueueProbe().observe(sqs_check(url), environment(sqs_client=unreachable))
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.REFUSED
    assert "Could not connect to the endpoint URL" in observation.failure.message


async def test_sqs_without_a_client_or_with_an_unknown_region_fails_clearly():
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/invoices"
    no_client = await QueueProbe().observe(sqs_check(url), environment())
    assert no_client.failure is not None
    assert no_client.failure.kind is FailureKind.OTHER
    local = await QueueProbe().observe(
        sqs_check("http://localhost:4566/0/q"), environment(sqs_client=sqs_factory)
    )
    assert local.failure is not None
    assert "cannot tell the AWS region" in local.failure.message


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"),
        ("https://sqs-fips.us-gov-west-1.amazonaws.com/123456789012/q", "us-gov-west-1"),
        ("https://vpce-0abc-xyz.sqs.ap-southeast-2.vpce.amazonaws.com/123456789012/q", "ap-southeast-2"),
        ("https://ap-northeast-1.queue.amazonaws.com/123456789012/q", "ap-northeast-1"),
        ("https://queue.amazonaws.com/123456789012/q", "us-east-1"),
        ("http://sqs.us-east-2.localhost.localstack.cloud:4566/000000000000/q", "us-east-2"),
    ],
)
def test_region_from_the_queue_url(url, region):
    assert region_of(url) == region


def test_no_region_in_the_queue_url():
    with pytest.raises(QueueUrlError):
        region_of("http://127.0.0.1:9324/000000000000/q")


# ------------------------------------------------------------------------------ probe + condition, 2 runs


async def test_two_runs_detect_a_stalled_bullmq_queue_and_a_moving_one(redis_plain, plain):
    bull = BullmqWriter(plain)
    bull.add(10)
    bull.take(2)
    check = bullmq_check(redis_plain)
    clock = Clock()
    env = environment(clock=clock)

    first = await QueueProbe().observe(check, env)
    assert first.observed_at == T0
    assert first.depth is not None
    state = CheckState(
        check=check.name,
        samples=[QueueSample(at=first.observed_at, depth=first.depth, processed_total=first.processed_total)],
    )

    clock.now = T0 + timedelta(minutes=1)
    stalled = evaluate(check, await QueueProbe().observe(check, env), state)
    assert stalled.outcome is Outcome.STALLED
    assert not stalled.ok
    assert stalled.reason == "emails: 8 jobs waiting and none finished in 1.0 min"

    bull.finish(2)
    bull.take(2)
    moving = evaluate(check, await QueueProbe().observe(check, env), state)
    assert moving.outcome is Outcome.OK
    assert moving.details["rate_per_minute"] == 2.0

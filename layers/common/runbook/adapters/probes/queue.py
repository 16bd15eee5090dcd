"""The `queue` probe: how many jobs wait in a worker queue (BullMQ, a plain Redis list, or SQS).

It only reads; whether the depth or the processing rate is a problem is for the queue condition.
"""

import asyncio
import time

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.failures import failure_message
from runbook.adapters.probes.queue_common import QueueCounts
from runbook.adapters.probes.queue_redis import (
    REDIS_ERRORS,
    classify_redis_error,
    read_bullmq,
    read_redis_list,
)
from runbook.adapters.probes.queue_sqs import SQS_ERRORS, classify_sqs_error, describe_sqs_error, read_sqs
from runbook.adapters.redis_client import close_redis, open_redis, redis_target
from runbook.models.config import BullmqQueueCheck, RedisListQueueCheck, SqsQueueCheck
from runbook.models.observations import FailureKind, ProbeFailure, QueueObservation

AnyQueueCheck = BullmqQueueCheck | RedisListQueueCheck | SqsQueueCheck
_MAX_MESSAGE = 300


class _NoSqsClient(Exception):
    pass


def queue_target(check: AnyQueueCheck) -> str:
    match check:
        case BullmqQueueCheck():
            return f"{redis_target(check.redis)} bullmq {check.prefix}:{check.queue}"
        case RedisListQueueCheck():
            return f"{redis_target(check.redis)} list {check.key}"
        case SqsQueueCheck():
            return str(check.queue_url)


async def _read_redis(check: BullmqQueueCheck | RedisListQueueCheck, env: ProbeEnvironment) -> QueueCounts:
    client = open_redis(check.redis, env.secrets, check.timeout)
    try:
        if isinstance(check, BullmqQueueCheck):
            return await read_bullmq(client, check)
        return await read_redis_list(client, check)
    finally:
        await close_redis(client)


async def _read(check: AnyQueueCheck, env: ProbeEnvironment) -> QueueCounts:
    if isinstance(check, SqsQueueCheck):
        if env.sqs_client is None:
            raise _NoSqsClient("no SQS client was given to this run")
        return await read_sqs(check, env.sqs_client)
    return await _read_redis(check, env)


def _failure(check: AnyQueueCheck, exc: Exception) -> tuple[FailureKind, str] | None:
    """(kind, message) for an expected failure; None for a bug, which the caller lets raise."""
    if isinstance(exc, TimeoutError):  # asyncio.timeout around the whole read
        return FailureKind.TIMEOUT, f"no answer within {check.timeout:g}s"
    if isinstance(check, SqsQueueCheck):
        if isinstance(exc, _NoSqsClient):
            return FailureKind.OTHER, str(exc)
        if isinstance(exc, SQS_ERRORS):
            return classify_sqs_error(exc), describe_sqs_error(exc)
        return None
    if isinstance(exc, REDIS_ERRORS):
        return classify_redis_error(exc), str(exc) or type(exc).__name__
    return None


class QueueProbe:
    async def observe(self, check: AnyQueueCheck, env: ProbeEnvironment) -> QueueObservation:
        target = queue_target(check)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(check.timeout):
                counts = await _read(check, env)
        except Exception as exc:
            failure = _failure(check, exc)
            if failure is None:
                raise
            kind, message = failure
            return QueueObservation(
                observed_at=env.now(),
                latency_s=time.perf_counter() - started,
                target=target,
                failure=ProbeFailure(kind=kind, message=failure_message(message, env.secrets, _MAX_MESSAGE)),
            )
        # Taken after the answer: the rate between two samples is measured between the two reads.
        return QueueObservation(
            observed_at=env.now(),
            latency_s=time.perf_counter() - started,
            target=target,
            depth=counts.depth,
            in_flight=counts.in_flight,
            processed_total=counts.processed_total,
            details=counts.details,
        )

    async def close(self, env: ProbeEnvironment) -> None:
        """Nothing to release: each observation opens and closes its own client."""

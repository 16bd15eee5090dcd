"""Conditions: pure functions that judge an observation. No I/O here, so they are tested without a network.

Each module exposes `evaluate(check, observation, state) -> CheckResult`; `evaluate` below picks it.
"""

from runbook.models.config import (
    AnyCheck,
    BullmqQueueCheck,
    HeartbeatCheck,
    HttpCheck,
    IntegrationCheck,
    PostgresCheck,
    RedisCheck,
    RedisListQueueCheck,
    SqsQueueCheck,
)
from runbook.models.observations import (
    HeartbeatObservation,
    HttpObservation,
    IntegrationObservation,
    Observation,
    PostgresObservation,
    QueueObservation,
    RedisObservation,
)
from runbook.models.results import CheckResult
from runbook.models.state import CheckState
from runbook.services.conditions import heartbeat, http, integration, postgres, queue, redis


def evaluate(check: AnyCheck, observation: Observation, state: CheckState) -> CheckResult:
    match check, observation:
        case HttpCheck(), HttpObservation():
            return http.evaluate(check, observation, state)
        case PostgresCheck(), PostgresObservation():
            return postgres.evaluate(check, observation, state)
        case RedisCheck(), RedisObservation():
            return redis.evaluate(check, observation, state)
        case BullmqQueueCheck() | RedisListQueueCheck() | SqsQueueCheck(), QueueObservation():
            return queue.evaluate(check, observation, state)
        case HeartbeatCheck(), HeartbeatObservation():
            return heartbeat.evaluate(check, observation, state)
        case IntegrationCheck(), IntegrationObservation():
            return integration.evaluate(check, observation, state)
    raise TypeError(f"{type(observation).__name__} cannot be judged for a {check.kind} check")

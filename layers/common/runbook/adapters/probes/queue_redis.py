"""Queue depth from Redis: BullMQ queues and plain lists, each read in one MULTI round trip.

BullMQ's key layout (`QueueKeys` in BullMQ's source, `<prefix>:<queue>:<type>`): `wait` and `paused` are
lists of job ids ready to run (a paused queue keeps them in `paused`), `prioritized` (BullMQ >= 4) is a zset
of ready jobs with a priority, `delayed` a zset of jobs not ready before their time, `waiting-children` a
zset of parents waiting for their children, `active` the list of jobs a worker holds, `id` the counter
INCRed by every add, `meta` a hash (`paused` set while the queue is paused, `version`).
"""

import redis.asyncio as aioredis
from redis import exceptions as rex

from runbook.adapters.probes.queue_common import DetailValue, QueueCounts
from runbook.adapters.redis_client import socket_failure_kind
from runbook.models.config import BullmqQueueCheck, RedisListQueueCheck
from runbook.models.observations import FailureKind


class WrongKeyType(Exception):
    """A queue key holds another Redis type than the backend writes: the config points at the wrong key."""

    def __init__(self, key: str, expected: str, actual: str) -> None:
        super().__init__(f"key {key!r} holds a {actual}, not a {expected}; is the key/prefix right?")


# (suffix, Redis type). Order matters: results are read back by position.
_BULLMQ_COUNTED = (
    ("wait", "list"),
    ("paused", "list"),
    ("prioritized", "zset"),
    ("delayed", "zset"),
    ("waiting-children", "zset"),
    ("active", "list"),
)
# BullMQ 4 kept a marker ("0:<n>") at the tail of wait/paused to wake workers; BullMQ 5 moved it to its own
# `marker` key. Its getCounts script does not count it as a job, nor do we.
_LEGACY_MARKER_PREFIX = b"0:"


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


async def _check_replies(
    client: "aioredis.Redis", expected: list[tuple[str, str]], replies: list[object]
) -> None:
    """Raise the first error among pipelined replies; a WRONGTYPE names the key and what it holds instead."""
    for (key, kind), reply in zip(expected, replies, strict=True):
        if not isinstance(reply, Exception):
            continue
        # WRONGTYPE is Redis' error code (the first word of the reply), not free text.
        if isinstance(reply, rex.ResponseError) and str(reply).startswith("WRONGTYPE"):
            actual = _text(await client.type(key)) or "value"
            raise WrongKeyType(key, kind, actual) from reply
        raise reply


async def read_bullmq(client: "aioredis.Redis", check: BullmqQueueCheck) -> QueueCounts:
    base = f"{check.prefix}:{check.queue}"
    expected = [(f"{base}:{suffix}", kind) for suffix, kind in _BULLMQ_COUNTED]
    expected += [(f"{base}:wait", "list"), (f"{base}:paused", "list"), (f"{base}:id", "string")]
    expected += [(f"{base}:meta", "hash")]
    # MULTI/EXEC: a worker moving a job between two reads would otherwise count it twice or not at all.
    async with client.pipeline(transaction=True) as pipe:
        for key, kind in expected[: len(_BULLMQ_COUNTED)]:
            if kind == "list":
                pipe.llen(key)
            else:
                pipe.zcard(key)
        pipe.lindex(f"{base}:wait", -1)
        pipe.lindex(f"{base}:paused", -1)
        pipe.get(f"{base}:id")
        pipe.hmget(f"{base}:meta", ["paused", "version"])
        replies = await pipe.execute(raise_on_error=False)
    await _check_replies(client, expected, replies)
    wait_tail, paused_tail, id_counter, meta = replies[len(_BULLMQ_COUNTED) :]

    counts = dict(zip((suffix for suffix, _ in _BULLMQ_COUNTED), (int(r) for r in replies), strict=False))
    for suffix, tail in (("wait", wait_tail), ("paused", paused_tail)):
        if isinstance(tail, bytes) and tail.startswith(_LEGACY_MARKER_PREFIX) and counts[suffix] > 0:
            counts[suffix] -= 1

    depth = counts["wait"] + counts["paused"] + counts["prioritized"]
    unfinished = sum(counts.values())
    details: dict[str, DetailValue] = {
        "waiting": counts["wait"],
        "paused_jobs": counts["paused"],
        "prioritized": counts["prioritized"],
        "delayed": counts["delayed"],
        "waiting_children": counts["waiting-children"],
    }
    paused_flag, version = meta
    details["queue_paused"] = paused_flag is not None
    if version is not None:
        details["bullmq_version"] = _text(version) or ""

    # Every add INCRs `id` (custom job ids too), so id - unfinished = jobs that completed or failed for
    # good, even when removeOnComplete/removeOnFail trimmed their records.
    processed_total: int | None = None
    try:
        added = int(id_counter) if id_counter is not None else 0
    except ValueError:
        added = -1
    if added >= 0:
        details["added_total"] = added
        if added >= unfinished:
            processed_total = added - unfinished
    return QueueCounts(
        depth=depth, in_flight=counts["active"], processed_total=processed_total, details=details
    )


async def read_redis_list(client: "aioredis.Redis", check: RedisListQueueCheck) -> QueueCounts:
    async with client.pipeline(transaction=True) as pipe:
        pipe.type(check.key)
        pipe.llen(check.key)
        key_type, length = await pipe.execute(raise_on_error=False)
    await _check_replies(client, [(check.key, "any"), (check.key, "list")], [key_type, length])
    # LLEN of a missing key is 0: an empty queue whose last item was taken is deleted by Redis.
    return QueueCounts(depth=int(length), details={"key_exists": _text(key_type) != "none"})


# What the Redis read raises for an outside problem (anything else is a bug and propagates).
REDIS_ERRORS = (rex.RedisError, WrongKeyType, OSError)


def classify_redis_error(exc: BaseException) -> FailureKind:
    """The FailureKind for an exception raised while talking to Redis (by type, never by message)."""
    if isinstance(exc, WrongKeyType):
        return FailureKind.QUERY
    if isinstance(
        exc,
        rex.AuthenticationError
        | rex.AuthorizationError
        | rex.AuthenticationWrongNumberOfArgsError
        | rex.NoPermissionError,
    ):
        return FailureKind.AUTH
    if isinstance(exc, rex.BusyLoadingError):
        return FailureKind.LOADING
    if isinstance(exc, rex.TimeoutError | TimeoutError):
        return FailureKind.TIMEOUT
    if isinstance(exc, rex.ConnectionError | OSError):
        return socket_failure_kind(exc) or FailureKind.CONNECTION
    if isinstance(exc, rex.InvalidResponse):
        return FailureKind.PROTOCOL
    if isinstance(exc, rex.ResponseError):
        return FailureKind.QUERY
    return FailureKind.OTHER

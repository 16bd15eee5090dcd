"""One short-lived redis-py asyncio client for a probe (used by the redis and queue probes): built, closed,
and the socket error behind a failure told apart."""

import asyncio
import contextlib
import errno
import ssl

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from runbook.adapters.probes.base import SecretLookup
from runbook.adapters.probes.failures import exception_chain
from runbook.models.config import RedisConnection
from runbook.models.observations import FailureKind

_CLOSE_TIMEOUT = 1.0  # closing never waits on a dead peer for long


def redis_target(conn: RedisConnection) -> str:
    scheme = "rediss" if conn.tls else "redis"
    return f"{scheme}://{conn.host}:{conn.port}/{conn.db}"


def open_redis(conn: RedisConnection, secrets: SecretLookup, timeout: float) -> "aioredis.Redis":
    """A client that never retries on its own: the probe reports what happened on the first try."""
    password = secrets.value(conn.password) if conn.password else None
    options: dict[str, object] = {}
    if conn.tls:
        options = {
            "ssl": True,
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
            "ssl_ca_certs": conn.ca_file,
            "ssl_check_hostname": True,
        }
    return aioredis.Redis(
        host=conn.host,
        port=conn.port,
        db=conn.db,
        username=conn.username,
        password=password,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        single_connection_client=True,
        client_name="runbook-probe",
        # RESP2: PING and the queue reads need nothing newer, and RESP3's HELLO handshake adds round
        # trips and fails on Redis < 6 and on proxies that do not know it.
        protocol=2,
        **options,  # type: ignore[arg-type]
    )


async def close_redis(client: "aioredis.Redis") -> None:
    """Close the client without waiting long on a dead peer; a failure to close is not what the probe
    reports, so it is ignored."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_CLOSE_TIMEOUT):
            await client.aclose()


def socket_failure_kind(exc: BaseException) -> FailureKind | None:
    """TLS, REFUSED or TIMEOUT when the socket error behind a Redis error says so; None otherwise.

    redis-py wraps socket errors (refused, TLS, timeout) in its own `ConnectionError` without `from`,
    keeping the original as `__context__`, so the cause is found by type, never by message."""
    causes = list(exception_chain(exc))
    if any(isinstance(cause, ssl.SSLError) for cause in causes):
        return FailureKind.TLS
    if any(
        isinstance(cause, ConnectionRefusedError)
        or (isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED)
        for cause in causes
    ):
        return FailureKind.REFUSED
    if any(isinstance(cause, TimeoutError) for cause in causes):
        return FailureKind.TIMEOUT
    return None

"""Builds one short-lived redis-py asyncio client for a probe (used by the redis and queue probes)."""

import ssl

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from runbook.adapters.probes.base import SecretLookup
from runbook.models.config import RedisConnection


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

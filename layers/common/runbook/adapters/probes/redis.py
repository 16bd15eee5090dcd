"""Redis probe: PING, which the runbook wants answered with PONG.

The probe records the reply as it came (the condition judges it) and turns what went wrong into a
`ProbeFailure` by exception class: redis-py maps the server's error codes (WRONGPASS, NOAUTH, LOADING,
NOPERM) to classes, and wraps socket errors (refused, TLS) in a `ConnectionError` whose `__context__`
keeps the original (read by `socket_failure_kind`, shared with the queue probe), so nothing here reads
message text.
"""

import asyncio
import socket
import time

from redis import exceptions as rex

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.failures import exception_chain, failure_message
from runbook.adapters.redis_client import close_redis, open_redis, redis_target, socket_failure_kind
from runbook.models.config import RedisCheck
from runbook.models.observations import FailureKind, ProbeFailure, RedisObservation
from runbook.text import truncate

_MAX_TEXT = 200


class RedisProbe:
    """One short-lived client per call (see `open_redis`): nothing is kept between runs."""

    async def observe(self, check: RedisCheck, env: ProbeEnvironment) -> RedisObservation:
        observed_at = env.now()
        started = time.monotonic()
        client = open_redis(check, env.secrets, check.timeout)
        # The raw reply, not redis-py's "== PONG" boolean: an unexpected reply is evidence worth keeping.
        client.set_response_callback("PING", lambda response, **_: response)
        reply: str | None = None
        failure: ProbeFailure | None = None
        try:
            # redis-py applies the timeout per socket operation (connect, each read); this bounds the total.
            async with asyncio.timeout(check.timeout):
                reply = _text(await client.ping())
        except TimeoutError:
            failure = ProbeFailure(kind=FailureKind.TIMEOUT, message=f"no answer within {check.timeout:g}s")
        except rex.RedisError as exc:
            failure = _failure(exc, env)
        finally:
            await close_redis(client)
        return RedisObservation(
            observed_at=observed_at,
            latency_s=time.monotonic() - started,
            target=redis_target(check),
            reply=reply,
            failure=failure,
        )

    async def close(self, env: ProbeEnvironment) -> None:
        """Nothing to release: every client is closed before `observe` returns."""


def _failure(exc: rex.RedisError, env: ProbeEnvironment) -> ProbeFailure:
    message = failure_message(str(exc), env.secrets, _MAX_TEXT) or type(exc).__name__
    return ProbeFailure(kind=_kind(exc), message=message)


def _kind(exc: rex.RedisError) -> FailureKind:
    # Order matters: AuthenticationError and BusyLoadingError are ConnectionErrors too.
    if isinstance(exc, rex.TimeoutError):
        return FailureKind.TIMEOUT
    if isinstance(exc, rex.AuthenticationError | rex.NoPermissionError):
        return FailureKind.AUTH  # WRONGPASS, NOAUTH, an ACL user not allowed to run PING
    if isinstance(exc, rex.BusyLoadingError):
        return FailureKind.LOADING
    socket_kind = socket_failure_kind(exc)
    if socket_kind is not None:
        return socket_kind
    if any(isinstance(cause, socket.gaierror) for cause in exception_chain(exc)):
        return FailureKind.CONNECTION
    if isinstance(exc, rex.InvalidResponse | rex.ResponseError):
        return FailureKind.PROTOCOL  # not RESP at all, or an error reply where PONG belongs
    if isinstance(exc, rex.ConnectionError):
        return FailureKind.CONNECTION  # closed by the server, max clients, unreachable, ...
    return FailureKind.OTHER


def _text(reply: object) -> str:
    if isinstance(reply, bytes):
        return truncate(reply.decode(errors="replace"), _MAX_TEXT)
    return truncate(reply if isinstance(reply, str) else repr(reply), _MAX_TEXT)

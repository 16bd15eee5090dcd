"""Redis probe: PING, which the runbook wants answered with PONG.

The probe records the reply as it came (the condition judges it) and turns what went wrong into a
`ProbeFailure` by exception class: redis-py maps the server's error codes (WRONGPASS, NOAUTH, LOADING,
NOPERM) to classes, and wraps socket errors (refused, TLS) in a `ConnectionError` whose `__context__`
keeps the original, so nothing here reads message text.
"""

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Iterator

from redis import exceptions as rex

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.redis_client import open_redis, redis_target
from runbook.models.config import RedisCheck
from runbook.models.observations import FailureKind, ProbeFailure, RedisObservation

_MAX_TEXT = 200
_CLOSE_TIMEOUT = 1.0  # closing never waits on a dead peer for long


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
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    await client.aclose()
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
    message = " ".join(env.secrets.scrub(str(exc)).split()) or type(exc).__name__
    return ProbeFailure(kind=_kind(exc), message=_truncate(message))


def _kind(exc: rex.RedisError) -> FailureKind:
    # Order matters: AuthenticationError and BusyLoadingError are ConnectionErrors too.
    if isinstance(exc, rex.TimeoutError):
        return FailureKind.TIMEOUT
    if isinstance(exc, rex.AuthenticationError | rex.NoPermissionError):
        return FailureKind.AUTH  # WRONGPASS, NOAUTH, an ACL user not allowed to run PING
    if isinstance(exc, rex.BusyLoadingError):
        return FailureKind.LOADING
    causes = list(_chain(exc))
    if any(isinstance(cause, ssl.SSLError) for cause in causes):
        return FailureKind.TLS
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return FailureKind.REFUSED
    if any(isinstance(cause, TimeoutError) for cause in causes):
        return FailureKind.TIMEOUT
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return FailureKind.CONNECTION
    if isinstance(exc, rex.InvalidResponse | rex.ResponseError):
        return FailureKind.PROTOCOL  # not RESP at all, or an error reply where PONG belongs
    if isinstance(exc, rex.ConnectionError):
        return FailureKind.CONNECTION  # closed by the server, max clients, unreachable, ...
    return FailureKind.OTHER


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and its causes: redis-py raises its own errors inside `except OSError` blocks."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _text(reply: object) -> str:
    if isinstance(reply, bytes):
        return _truncate(reply.decode(errors="replace"))
    return _truncate(reply if isinstance(reply, str) else repr(reply))


def _truncate(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"

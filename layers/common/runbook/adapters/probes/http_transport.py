"""The httpx transport of the HTTP probe: httpx's own, on an httpcore pool whose network backend looks the
host name up before connecting and reports the lookup to the exchange's trace hook, so that the latency
can be split into DNS, connect, TLS, request and response (httpcore's `connect_tcp` events include the
lookup).

Importing this module also does, at cold start, the one-time work the HTTP stack would otherwise do
inside the first check of a process (issue 10): anyio loads its asyncio backend and most of its own
modules lazily, on the first connection; sniffio on the first pool lock.
"""

import asyncio
import importlib
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import anyio.streams.tls
import anyio.to_thread
import httpcore
import httpx
import sniffio  # noqa: F401 - httpcore imports it on its first pool lock

# anyio imports its backend on its first call under a running loop (anyio._core._eventloop.get_async_backend).
importlib.import_module("anyio._backends._asyncio")

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]
# The trace hook of the exchange the current task is making (httpcore does not hand the request to the
# network backend). Set by the probe around client.send; each check runs in its own task.
CURRENT_TRACE: ContextVar[Trace | None] = ContextVar("http_probe_trace", default=None)

# getaddrinfo blocks: lookups run on threads of their own, shared by the runs of the process (the loop's
# default executor is made anew by every asyncio.run, and boto3 calls of the queue probe share it). Its
# first thread starts here, at cold start, not in the first lookup of a run.
RESOLVER_THREADS = 16
_RESOLVER = ThreadPoolExecutor(max_workers=RESOLVER_THREADS, thread_name_prefix="http-probe-dns")
_RESOLVER.submit(socket.getaddrinfo, "127.0.0.1", None, flags=socket.AI_NUMERICHOST)  # no lookup

# Events this backend adds to httpcore's own (connection.connect_tcp.*, http11.*, ...).
DNS_EVENT = "dns.resolve"

SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


class ResolvingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's AnyIO backend, with the DNS lookup made first (timed, on the same loop and within the
    same connect timeout) and the connection then made to the addresses found, in the resolver's order,
    the next one when one fails. The request is untouched, so the Host header, the TLS server name and the
    pool's key stay the host name. An IP address is connected to as is: there is no DNS phase."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if _is_ip_address(host):
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        started = time.monotonic()
        addresses = await _resolve(host, port, timeout)
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            left = None if timeout is None else timeout - (time.monotonic() - started)
            if left is not None and left <= 0:
                raise httpcore.ConnectTimeout(f"no connection to {host} within the connect timeout")
            try:
                return await self._inner.connect_tcp(address, port, left, local_address, socket_options)
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as exc:  # refused, unreachable: the next address may answer
                failure = exc
        assert failure is not None  # _resolve returns at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int, limit_s: float | None) -> list[str]:
    """The host's addresses, deduplicated, in getaddrinfo's order (RFC 6724: usable families first)."""
    trace = CURRENT_TRACE.get() or _untraced
    await trace(f"{DNS_EVENT}.started", {"host": host, "port": port})
    try:
        lookup = asyncio.get_running_loop().run_in_executor(
            _RESOLVER, socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM
        )
        # A lookup cannot be stopped: past the timeout its thread finishes on its own (the resolver's own
        # timeouts bound it) and the answer is dropped.
        with anyio.fail_after(limit_s):
            found = await lookup
    except (TimeoutError, OSError) as exc:  # socket.gaierror is an OSError
        await trace(f"{DNS_EVENT}.failed", {"exception": exc})
        if isinstance(exc, TimeoutError):
            raise httpcore.ConnectTimeout(f"DNS lookup of {host} timed out") from exc
        raise httpcore.ConnectError(str(exc)) from exc  # the probe finds the gaierror among the causes
    addresses = list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))
    await trace(f"{DNS_EVENT}.complete", {"return_value": addresses})
    if not addresses:
        raise httpcore.ConnectError(f"DNS lookup of {host} returned no address")
    return addresses


async def _untraced(event: str, info: dict[str, Any]) -> None:
    return None


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def new_transport(context: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport with the resolving backend. httpx has no parameter for httpcore's network
    backend, so its pool is replaced by one with the same settings and that backend (httpx 0.28; the
    tests of the DNS phase fail if a later httpx stops using `_pool`)."""
    transport = httpx.AsyncHTTPTransport(verify=context, limits=limits, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=ResolvingBackend(),
    )
    return transport

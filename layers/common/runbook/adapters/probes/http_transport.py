"""The httpx transport of the HTTP probe: httpx stays the probe's interface, the exchange itself goes
through aiohttp's connection pool, which costs about a third of httpcore's CPU per request at the
probe's concurrency (benchmarks/http_probe_benchmark.py, README "Benchmark").

Every step of the exchange is reported to the trace hook of the httpx request
(`request.extensions["trace"]`) under httpcore's event names, so that http_phases.py reads the same
timeline whichever transport made it: `dns.resolve.*` from the resolver below,
`connection.connect_tcp.*` and `connection.start_tls.*` from the connector, `http11.*` from the
request (its writing), the transport (the answer's headers) and the body stream. Failures are raised
as httpx's exceptions, caused by the OSError or ssl error underneath, as httpcore raises them, so the
probe classifies them the same way.

Importing this module does, at cold start, the one-time work the stack would otherwise do inside the
first check of a process (issue 10): the resolver's first thread; aiohttp loads its default SSL
contexts at import.
"""

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, ClassVar

import aiohappyeyeballs
import aiohttp
import aiohttp.abc
import httpx
from aiohttp.client_exceptions import cert_errors, ssl_errors
from yarl import URL

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]
# The trace hook of the exchange the current task is making: aiohttp's connector and resolver are not
# handed the request. Set by the transport for the duration of the request; each check is its own task.
CURRENT_TRACE: ContextVar[Trace | None] = ContextVar("http_probe_trace", default=None)

# getaddrinfo blocks: lookups run on threads of their own, shared by the runs of the process (the loop's
# default executor is made anew by every asyncio.run, and boto3 calls of the queue probe share it). Its
# first thread starts here, at cold start, not in the first lookup of a run.
RESOLVER_THREADS = 16
_RESOLVER = ThreadPoolExecutor(max_workers=RESOLVER_THREADS, thread_name_prefix="http-probe-dns")
_RESOLVER.submit(socket.getaddrinfo, "127.0.0.1", None, flags=socket.AI_NUMERICHOST)  # no lookup

DNS_EVENT = "dns.resolve"
KEEPALIVE_S = 5.0  # httpx's default keep-alive expiry: a pooled connection is not kept longer
# aiohttp refuses a response line or header above 8190 bytes; h11, which the probe used before, allows
# 100 KiB in all. A big Set-Cookie is the target's business, not a reason to report it down.
MAX_HEADER_LINE = 64 * 1024
BODY_CHUNK = 64 * 1024
# aiohttp adds these when a request lacks them; httpx already set the ones the check means to send.
_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


async def _untraced(event: str, info: dict[str, Any]) -> None:
    return None


def _trace() -> Trace:
    return CURRENT_TRACE.get() or _untraced


class _PooledResolver(aiohttp.abc.AbstractResolver):
    """getaddrinfo on the resolver's threads, the lookup reported as the DNS phase. aiohttp connects to
    IP addresses without asking it, so an IP address has no DNS phase."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        trace = _trace()
        await trace(f"{DNS_EVENT}.started", {"host": host, "port": port})
        try:
            # A lookup cannot be stopped: past aiohttp's connect timeout its thread finishes on its own
            # (the resolver's own timeouts bound it) and the answer is dropped.
            found = await asyncio.get_running_loop().run_in_executor(
                _RESOLVER, socket.getaddrinfo, host, port, family, socket.SOCK_STREAM, 0, socket.AI_ADDRCONFIG
            )
        except OSError as exc:  # socket.gaierror is an OSError
            await trace(f"{DNS_EVENT}.failed", {"exception": exc})
            raise
        results: list[aiohttp.abc.ResolveResult] = []
        for address_family, _, proto, _, sockaddr in found:
            if address_family not in (socket.AF_INET, socket.AF_INET6):
                continue
            results.append(
                {
                    "hostname": host,
                    "host": str(sockaddr[0]),
                    "port": int(sockaddr[1]),
                    "family": address_family,
                    "proto": proto,
                    "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                }
            )
        await trace(f"{DNS_EVENT}.complete", {"return_value": [result["host"] for result in results]})
        if not results:
            raise socket.gaierror(socket.EAI_NONAME, f"DNS lookup of {host} returned no address")
        return results

    async def close(self) -> None:
        return None  # the threads are the process's


class _TracingConnector(aiohttp.TCPConnector):
    """aiohttp's connector, reporting a new connection (after the wait for a free one, before the DNS
    lookup, as httpcore's connect_tcp) and the end of the TCP connect and the TLS handshake apart, which
    aiohttp makes in one step. Both are private methods of aiohttp 3.12 to 3.14 (the phase tests fail
    if a later aiohttp stops calling them); the error wrapping of `_wrap_create_connection` is kept as
    is. aiohttp's own trace signals (TraceConfig) would cost a fifth of the probe's CPU per check."""

    async def _create_connection(
        self,
        req: aiohttp.ClientRequest,
        traces: list[aiohttp.tracing.Trace],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp's interface
    ) -> aiohttp.client_proto.ResponseHandler:
        await _trace()("connection.connect_tcp.started", {})
        return await super()._create_connection(req, traces, timeout)

    async def _wrap_create_connection(
        self,
        *args: Any,
        addr_infos: list[aiohappyeyeballs.AddrInfoType],
        req: aiohttp.ClientRequest,
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp's interface
        client_error: type[Exception] = aiohttp.ClientConnectorError,
        **kwargs: Any,
    ) -> tuple[asyncio.Transport, aiohttp.client_proto.ResponseHandler]:
        trace = _trace()
        try:
            async with asyncio.timeout(timeout.sock_connect):
                sock = await aiohappyeyeballs.start_connection(
                    addr_infos=addr_infos,
                    local_addr_infos=self._local_addr_infos,
                    happy_eyeballs_delay=self._happy_eyeballs_delay,
                    interleave=self._interleave,
                    loop=self._loop,
                    socket_factory=self._socket_factory,
                )
                await trace("connection.connect_tcp.complete", {})
                if kwargs.get("ssl"):
                    await trace("connection.start_tls.started", {})
                made = await self._loop.create_connection(*args, **kwargs, sock=sock)
                if kwargs.get("ssl"):
                    await trace("connection.start_tls.complete", {})
                return made
        except cert_errors as exc:
            raise aiohttp.ClientConnectorCertificateError(req.connection_key, exc) from exc
        except ssl_errors as exc:
            raise aiohttp.ClientConnectorSSLError(req.connection_key, exc) from exc
        except OSError as exc:
            if exc.errno is None and isinstance(exc, asyncio.TimeoutError):
                raise
            raise client_error(req.connection_key, exc) from exc


class _TracedRequest(aiohttp.ClientRequest):
    """aiohttp's request, its writing reported: what follows is the wait for the answer."""

    async def send(self, conn: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        trace = _trace()
        await trace("http11.send_request_headers.started", {})
        response = await super().send(conn)
        await trace("http11.send_request_headers.complete", {})
        await trace("http11.receive_response_headers.started", {})
        return response


class _NetworkStream:
    """What httpcore's `network_stream` extension offers the probe: the connection's details (the peer
    certificate of a TLS connection, pooled or new), read when the answer's headers arrive, before the
    connection can go back to the pool or be closed."""

    __slots__ = ("_info",)
    _NAMES: ClassVar[dict[str, str]] = {
        "ssl_object": "ssl_object",
        "server_addr": "peername",
        "client_addr": "sockname",
    }

    def __init__(self, transport: asyncio.BaseTransport | None) -> None:
        self._info = {
            name: transport.get_extra_info(asyncio_name) if transport is not None else None
            for name, asyncio_name in self._NAMES.items()
        }

    def get_extra_info(self, name: str) -> Any:
        return self._info.get(name)


class _ResponseBody(httpx.AsyncByteStream):
    """The answer's body as it arrives. Closed before its end (the probe's body cap), the connection is
    dropped rather than drained; read to its end, it goes back to the pool."""

    def __init__(self, answer: aiohttp.ClientResponse, trace: Trace) -> None:
        self._answer = answer
        self._trace = trace

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await self._trace("http11.receive_response_body.started", {})
        try:
            async for chunk in self._answer.content.iter_chunked(BODY_CHUNK):
                yield chunk
        except aiohttp.ClientError as exc:
            failure = _httpx_error(exc)
        else:
            await self._trace("http11.receive_response_body.complete", {})
            return
        raise failure from failure.__cause__  # outside the except: no aiohttp exception as its context

    async def aclose(self) -> None:
        await self._trace("http11.response_closed.started", {})
        if self._answer.content.at_eof():
            self._answer.release()
        else:
            self._answer.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport on one aiohttp session: one pool of `connections` for one TLS trust setting.
    No cookies (a check must not see another's), no decompression (the body cap counts wire bytes), no
    redirects (the probe follows them itself, per check), no proxies or netrc from the environment."""

    def __init__(self, context: ssl.SSLContext, connections: int) -> None:
        self._context = context
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on the first request, inside the run's event loop, which aiohttp binds it to.
        if self._session is None:
            connector = _TracingConnector(
                ssl=self._context,
                limit=self._connections,
                limit_per_host=0,
                keepalive_timeout=KEEPALIVE_S,
                use_dns_cache=False,  # every check times its own lookup, as a user's first request would
                resolver=_PooledResolver(),
            )
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trust_env=False,
                skip_auto_headers=_NO_AUTO_HEADERS,
                timeout=aiohttp.ClientTimeout(total=None),
                request_class=_TracedRequest,
                max_line_size=MAX_HEADER_LINE,
                max_field_size=MAX_HEADER_LINE,
            )
            # aiohttp sends an idempotent request again on any connection that hung up, a new one
            # included, which would hide a target that drops connections: one check, one request,
            # as with httpcore before.
            session._retry_connection = False
            self._session = session
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace: Trace = request.extensions.get("trace") or _untraced
        tracing = CURRENT_TRACE.set(trace)
        try:
            answer = await self._send(request, await request.aread() or None)
            await trace("http11.receive_response_headers.complete", {})
            return _response(answer, trace)
        except aiohttp.ClientError as exc:
            failure = _httpx_error(exc)
        finally:
            CURRENT_TRACE.reset(tracing)
        raise failure from failure.__cause__  # outside the except: no aiohttp exception as its context

    async def _send(self, request: httpx.Request, body: bytes | None) -> aiohttp.ClientResponse:
        return await self._open().request(
            request.method,
            URL(str(request.url), encoded=True),  # httpx encoded it already: sent as it is
            headers=_headers(request),
            data=body,
            allow_redirects=False,
            timeout=_timeout(request.extensions.get("timeout", {})),
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _headers(request: httpx.Request) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]


def _response(answer: aiohttp.ClientResponse, trace: Trace) -> httpx.Response:
    # A body that came with the headers has already handed the connection back (answer.connection is
    # None then); the protocol, aiohttp's per-connection object, still holds the transport.
    protocol = answer._protocol
    transport = protocol.transport if protocol is not None else None
    return httpx.Response(
        answer.status,
        headers=list(answer.raw_headers),
        stream=_ResponseBody(answer, trace),
        extensions={
            "http_version": f"HTTP/{answer.version.major}.{answer.version.minor}".encode()
            if answer.version
            else b"HTTP/1.1",
            "reason_phrase": (answer.reason or "").encode("latin-1", errors="replace"),
            "network_stream": _NetworkStream(transport),
        },
    )


def _timeout(steps: dict[str, float | None]) -> aiohttp.ClientTimeout:
    """httpx's step timeouts in aiohttp's terms: aiohttp's `connect` includes the wait for a pooled
    connection and the DNS lookup, its `sock_connect` is the TCP connect and the TLS handshake, as
    httpx's connect is."""
    pool, connect, read = steps.get("pool"), steps.get("connect"), steps.get("read")
    waiting = None if pool is None or connect is None else pool + connect
    return aiohttp.ClientTimeout(total=None, connect=waiting, sock_connect=connect, sock_read=read)


def _httpx_error(exc: aiohttp.ClientError) -> httpx.TransportError:
    """The httpx exception httpcore would have raised, caused by what failed underneath (the OSError,
    the ssl error, the certificate error), which is what the probe classifies."""
    error: httpx.TransportError
    cause: BaseException | None = None
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        error, cause = httpx.ConnectError(str(exc.certificate_error)), exc.certificate_error
    elif isinstance(exc, aiohttp.ClientConnectorError):  # DNS, refused, unreachable, TLS handshake
        error, cause = httpx.ConnectError(_reason(exc.os_error)), exc.os_error
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = httpx.ConnectTimeout("no connection within the connect timeout")
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        error = httpx.ReadTimeout("no data within the read timeout")
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        error = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    elif isinstance(exc, aiohttp.ClientOSError):
        # aiohttp's ClientOSError is itself an OSError, of no subclass: the plain OSError of its errno
        # is the ConnectionResetError (or other) the probe looks for.
        cause = OSError(exc.errno, exc.strerror) if exc.errno else None
        error = httpx.ReadError(str(exc))
    elif isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        error = httpx.RemoteProtocolError(_describe(exc))
    else:
        error = httpx.NetworkError(_describe(exc))
    error.__cause__ = cause
    return error


def _reason(os_error: OSError) -> str:
    return os_error.strerror or str(os_error) or type(os_error).__name__


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__
    return str(exc) or (str(cause) if cause else type(exc).__name__)

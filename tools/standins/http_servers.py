"""Real HTTP(S) servers on 127.0.0.1 for the HTTP probe tests.

The servers run on their own event loop in a background thread, so the loop of the test (which runs
the probe) and the server never share a scheduler. Each path answers as its `Reply` says: right,
wrong, slow, never, reset, cut short, huge. HTTPS certificates come from `trustme`.
"""

import asyncio
import datetime as dt
import http
import json
import socket
import ssl
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import trustme

from standins.system_clock import real_now

OK_BODY = b'{"status":"ok"}'
HUGE_BODY_BYTES = 1024 * 1024
# "answer" normally; "hang": read the request, never answer; "reset": RST instead of an answer;
# "cut": send the headers and half the body, then close; "garbage": answer something that is not HTTP.
Action = Literal["answer", "hang", "reset", "cut", "garbage"]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = OK_BODY
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay_ms: int = 0
    action: Action = "answer"
    echo_headers: bool = False  # answer with the request headers as JSON


def standard_routes() -> dict[str, Reply]:
    return {
        "/ok": Reply(),
        "/wrong-json": Reply(body=b'{"status":"degraded","checks":{"db":"down","cache":"up"}}'),
        "/not-json": Reply(body=b"<html><body>Service Unavailable</body></html>", content_type="text/html"),
        "/error": Reply(status=500, body=b'{"status":"error"}'),
        "/redirect": Reply(status=302, body=b"", headers=(("Location", "/ok?session=redirect-token"),)),
        "/redirect-loop": Reply(status=302, body=b"", headers=(("Location", "/redirect-loop"),)),
        "/slow": Reply(delay_ms=800),
        "/hang": Reply(action="hang"),
        "/reset": Reply(action="reset"),
        "/cut": Reply(action="cut", body=b'{"status":"ok","padding":"' + b"p" * 200 + b'"}'),
        "/huge": Reply(body=b"x" * HUGE_BODY_BYTES, content_type="text/plain"),
        "/echo": Reply(echo_headers=True),
        "/garbage": Reply(action="garbage"),
    }


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


class ServerLoop:
    """An event loop in a daemon thread that hosts the servers of a test session."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(_quiet_handshake_errors)
        self._thread = threading.Thread(target=self.loop.run_forever, name="loopback-servers", daemon=True)
        self._thread.start()

    def call[T](self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def _quiet_handshake_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # Clients rejecting our bad certificates is what the TLS tests are about, not noise to log.
    if isinstance(context.get("exception"), ssl.SSLError | ConnectionError):
        return
    loop.default_exception_handler(context)


@dataclass
class LoopbackServer:
    host_loop: ServerLoop
    ssl_context: ssl.SSLContext | None = None
    routes: dict[str, Reply] = field(default_factory=standard_routes)
    requests: list[ReceivedRequest] = field(default_factory=list)
    drop_connections: bool = False  # close every connection at once, before TLS or HTTP
    handshake_delay_ms: int = 0  # HTTPS: wait this long after accepting before the TLS handshake
    connections: int = 0  # accepted TCP connections
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _stopping: asyncio.Event | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context else "http"

    def url(self, path: str = "/ok") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def route(self, path: str, reply: Reply) -> str:
        self.routes[path] = reply
        return self.url(path)

    def received(self, path: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> "LoopbackServer":
        self.host_loop.call(self._start())
        return self

    def close(self) -> None:
        self.host_loop.call(self._close())

    async def _start(self) -> None:
        self._stopping = asyncio.Event()
        if self.handshake_delay_ms and self.ssl_context is not None:
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(lambda: _DelayedTls(self), "127.0.0.1", 0)
        else:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None
        assert self._stopping is not None
        self._server.close()
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._server.abort_clients()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        if self.drop_connections:
            writer.transport.abort()
            self._tasks.discard(task)
            return
        try:
            while await self._answer_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
            pass  # the client went away or sent garbage: nothing to answer
        finally:
            if not writer.transport.is_closing():  # a graceful close already under way keeps its data
                writer.transport.abort()
            self._tasks.discard(task)

    async def _answer_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is done."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # keep-alive connection closed by the client
        request = _parse_head(head)
        length = int(request.headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        request = ReceivedRequest(request.method, request.target, request.headers, body)
        self.requests.append(request)
        reply = self.routes.get(request.path, Reply(status=404, body=b'{"error":"no such path"}'))
        if reply.delay_ms:
            await asyncio.sleep(reply.delay_ms / 1000)
        if reply.action == "hang":
            assert self._stopping is not None
            await self._stopping.wait()
            return False
        if reply.action == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False  # the abort() in _handle now sends RST
        if reply.action == "garbage":
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
            await _close_gracefully(writer)
            return False
        payload = json.dumps(request.headers).encode() if reply.echo_headers else reply.body
        writer.write(_response_head(reply, len(payload)))
        if request.method == "HEAD":
            await writer.drain()
            return True
        if reply.action == "cut":
            writer.write(payload[: len(payload) // 2])
            await _close_gracefully(writer)  # FIN after half the promised body
            return False
        writer.write(payload)
        await writer.drain()
        return True


class _DelayedTls(asyncio.Protocol):
    """Accepts TCP at once and starts the TLS handshake `handshake_delay_ms` later: a slow handshake as
    the client sees it (its ClientHello waits, unread, for the ServerHello)."""

    def __init__(self, server: LoopbackServer) -> None:
        self._server = server
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()  # the ClientHello stays in the socket for the TLS layer to read
        self._task = asyncio.ensure_future(self._handshake_later(transport))

    async def _handshake_later(self, transport: asyncio.Transport) -> None:
        server = self._server
        assert server.ssl_context is not None
        await asyncio.sleep(server.handshake_delay_ms / 1000)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        protocol = asyncio.StreamReaderProtocol(reader)
        try:
            tls = await loop.start_tls(transport, protocol, server.ssl_context, server_side=True)
        except (ConnectionError, ssl.SSLError):
            transport.abort()
            return
        assert tls is not None
        protocol.connection_made(tls)
        await server._handle(reader, asyncio.StreamWriter(tls, protocol, reader, loop))


async def _close_gracefully(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


def _parse_head(head: bytes) -> ReceivedRequest:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return ReceivedRequest(method, target, headers, b"")


def _response_head(reply: Reply, length: int) -> bytes:
    phrase = http.HTTPStatus(reply.status).phrase
    lines = [f"HTTP/1.1 {reply.status} {phrase}", f"Content-Type: {reply.content_type}"]
    lines.append(f"Content-Length: {length}")
    lines.extend(f"{name}: {value}" for name, value in reply.headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --- certificates -------------------------------------------------------------------------------

TlsVariant = Literal["valid", "expiring", "expired", "wrong_host", "unknown_ca", "self_signed"]
TLS_VARIANTS: tuple[TlsVariant, ...] = (
    "valid",
    "expiring",
    "expired",
    "wrong_host",
    "unknown_ca",
    "self_signed",
)
EXPIRING_IN_DAYS = 5


@dataclass
class TlsMaterial:
    """A private CA (its PEM at `ca_file`, given to checks as tls.ca_file) and server certificates."""

    directory: Path
    ca: trustme.CA = field(default_factory=trustme.CA)
    other_ca: trustme.CA = field(default_factory=trustme.CA)  # trusted by nobody

    @property
    def ca_file(self) -> str:
        path = self.directory / "ca.pem"
        if not path.exists():
            self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def server_context(self, variant: TlsVariant) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # The probe judges expiry on the test's clock, OpenSSL checks validity on the system clock: they
        # differ when the session runs with a shifted clock (tests/support/clock_shift.py).
        now, system_now = dt.datetime.now(dt.UTC), real_now()
        if variant == "self_signed":
            # The unknown CA's own certificate: a leaf that signed itself.
            chain = self.directory / "self-signed.pem"
            chain.write_bytes(self.other_ca.private_key_pem.bytes() + self.other_ca.cert_pem.bytes())
            context.load_cert_chain(str(chain))
            return context
        issuer = self.other_ca if variant == "unknown_ca" else self.ca
        identities = ("wrong.example",) if variant == "wrong_host" else ("127.0.0.1", "localhost")
        not_after = {
            "expiring": now + dt.timedelta(days=EXPIRING_IN_DAYS, hours=1),
            "expired": min(now, system_now) - dt.timedelta(days=1),
        }.get(variant, max(now, system_now) + dt.timedelta(days=365))
        not_before = min(now, system_now) - dt.timedelta(days=30)
        cert = issuer.issue_cert(
            *identities, not_before=not_before.replace(tzinfo=None), not_after=not_after.replace(tzinfo=None)
        )
        cert.configure_cert(context)
        return context

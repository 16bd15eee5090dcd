"""HTTP(S) probe: one request per check through pooled httpx clients shared for the whole run."""

import asyncio
import json
import socket
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.http_clients import CaFileError, HttpClients
from runbook.adapters.probes.http_phases import TraceEvent, exchange_timing, step_of
from runbook.models.config import HttpCheck
from runbook.models.observations import FailureKind, HttpObservation, ProbeFailure
from runbook.models.secrets import SecretRef, TextOrSecret

CLIENTS_KEY = "http"  # ProbeEnvironment.clients[CLIENTS_KEY] is this run's HttpClients
MAX_HEADERS = 100  # kept of an answer: rate-limit headers are read from them, the rest is evidence
MAX_HEADER_VALUE = 512
_DEFAULT_PORTS = {"http": 80, "https": 443}
# time.strptime imports its module on first use: at cold start, not in the first HTTPS check.
ssl.cert_time_to_seconds("Jan  1 00:00:00 2000 GMT")

# step of a trace event (see http_phases.step_of) -> what the exchange was doing, for timeout messages.
_PHASES = {
    "resolve": "resolving the host name",
    "connect_tcp": "connecting",
    "start_tls": "in the TLS handshake",
    "send_request_headers": "sending the request",
    "send_request_body": "sending the request",
    "receive_response_headers": "waiting for the response",
    "receive_response_body": "reading the response body",
}
_WAITING_FOR_POOL = "waiting for a free connection"
_TLS_PHASE = _PHASES["start_tls"]
_TLS_CLOSED = "TLS handshake failed: the server closed the connection"
MAX_TRACE_EVENTS = 16 * 22  # about 14 per hop, and at most 20 redirects followed


class _Progress:
    """Follows the exchange through the HTTP stack's trace hook: which step a failure hit, and when each
    step started and ended (the latency and its phases, http_phases.py)."""

    __slots__ = ("events", "phase")

    def __init__(self) -> None:
        self.phase = _WAITING_FOR_POOL
        self.events: list[TraceEvent] = []

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        if len(self.events) < MAX_TRACE_EVENTS:
            self.events.append(TraceEvent(event, time.perf_counter()))
        step, stage = step_of(event)
        if stage == "started" and step in _PHASES:
            self.phase = _PHASES[step]


class _Failed(Exception):
    """A failure found by the probe itself (not raised by httpx), e.g. too many redirects."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def redact_url(url: httpx.URL) -> str:
    """scheme://host:port/path: no user info, query or fragment (they may hold tokens)."""
    path = url.raw_path.partition(b"?")[0].decode("ascii")  # still percent-encoded, as sent
    return f"{url.scheme}://{_host_port(url)}{path}"


def _host_port(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port or _DEFAULT_PORTS.get(url.scheme, 0)}"


class HttpProbe:
    """Implements the Probe protocol for `HttpCheck`."""

    async def observe(self, check: HttpCheck, env: ProbeEnvironment) -> HttpObservation:
        observed_at = env.now()
        url = httpx.URL(str(check.url))
        target = redact_url(url)
        if check.query:
            url = url.copy_merge_params(_resolved(check.query, env))
        progress = _Progress()
        try:
            client = _clients(env).client(check.tls.ca_file)
            request = client.build_request(
                check.method,
                url,
                headers=_resolved(check.headers, env),
                content=check.body.encode() if check.body is not None else None,
                timeout=httpx.Timeout(check.timeout),
                extensions={"trace": progress.trace},
            )
            # The whole check, connection included, is held to check.timeout (config contract); the
            # httpx step timeouts above are only a backstop.
            async with asyncio.timeout(check.timeout):
                return await _exchange(client, request, check, env, observed_at, target, progress)
        # The asyncio deadline (TimeoutError, an OSError: so caught first) or an httpx step timeout.
        except (TimeoutError, httpx.TimeoutException):
            message = f"no complete answer within {check.timeout:g} s ({progress.phase})"
            failure = _Failed(FailureKind.TIMEOUT, message)
        except _Failed as exc:
            failure = exc
        except CaFileError as exc:
            failure = _Failed(FailureKind.OTHER, str(exc))
        except (httpx.HTTPError, OSError) as exc:  # ssl.SSLError is an OSError
            failure = _classify(exc, url, progress.phase)
        message = env.secrets.scrub(_without_query(failure.message, url))
        return HttpObservation(
            observed_at=observed_at, target=target, failure=ProbeFailure(kind=failure.kind, message=message)
        )

    async def close(self, env: ProbeEnvironment) -> None:
        clients = env.clients.pop(CLIENTS_KEY, None)
        if isinstance(clients, HttpClients):
            await clients.aclose()


async def _exchange(
    client: httpx.AsyncClient,
    request: httpx.Request,
    check: HttpCheck,
    env: ProbeEnvironment,
    observed_at: datetime,
    target: str,
    progress: _Progress,
) -> HttpObservation:
    started = time.perf_counter()  # only for a transport that reports no trace events
    response = await client.send(request, stream=True)
    try:
        response = await _follow(client, response, check)
        body, truncated = await _read_capped(response, env.settings.max_response_bytes)
        ended = time.perf_counter()
        cert_not_after = _peer_cert_not_after(response)
        location = None
        if response.next_request is not None:  # a redirect that was not followed
            location = env.secrets.scrub(redact_url(response.next_request.url))
    finally:
        await response.aclose()
    # The target's time: the exchange on the wire, not the HTTP stack's set-up before it (http_phases.py).
    timing = exchange_timing(progress.events, ended)
    text = env.secrets.scrub(body.decode(_encoding(response), errors="replace"))
    body_json, is_json = _parse_json(text) if not truncated else (None, False)
    return HttpObservation(
        observed_at=observed_at,
        latency_s=timing.latency_s if timing else ended - started,
        phases=timing.phases if timing else None,
        target=target,
        status_code=response.status_code,
        body_text=text,
        body_json=body_json,
        body_is_json=is_json,
        body_truncated=truncated,
        location=location,
        cert_not_after=cert_not_after,
        headers=_kept_headers(response, env),
    )


async def _follow(client: httpx.AsyncClient, response: httpx.Response, check: HttpCheck) -> httpx.Response:
    """Follow redirects by hand: max_redirects is per check, while the client is shared."""
    if not check.follow_redirects or response.next_request is None:
        return response
    origin = response.request.url.copy_with(path="/", query=None, fragment=None)
    hops = 0
    while response.next_request is not None:
        if hops >= check.max_redirects:
            raise _Failed(FailureKind.PROTOCOL, f"more than {check.max_redirects} redirects")
        next_request = response.next_request
        await response.aclose()
        if next_request.url.copy_with(path="/", query=None, fragment=None) != origin:
            # Secret header values are meant for the configured origin only.
            for name in _secret_header_names(check):
                next_request.headers.pop(name, None)
        response = await client.send(next_request, stream=True)
        hops += 1
    return response


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """At most `cap` bytes of the body; a longer body is cut and the connection dropped, not drained."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks)[:cap], True
    return b"".join(chunks), False


def _peer_cert_not_after(response: httpx.Response) -> datetime | None:
    """notAfter of the peer certificate; the stream is the pooled connection's, so reused ones work too."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    not_after = ssl_object.getpeercert().get("notAfter")
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC) if not_after else None


def _encoding(response: httpx.Response) -> str:
    try:
        return response.encoding or "utf-8"
    except LookupError:
        return "utf-8"


def _parse_json(text: str) -> tuple[Any, bool]:
    if not text.strip():
        return None, False
    try:
        return json.loads(text), True
    except (ValueError, RecursionError):
        return None, False


def _secret_header_names(check: HttpCheck) -> list[str]:
    return [name for name, value in check.headers.items() if isinstance(value, SecretRef)]


def _resolved(values: dict[str, TextOrSecret], env: ProbeEnvironment) -> dict[str, str]:
    return {
        name: value if isinstance(value, str) else env.secrets.value(value) for name, value in values.items()
    }


def _kept_headers(response: httpx.Response, env: ProbeEnvironment) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in response.headers.multi_items()[:MAX_HEADERS]:
        name = name.lower()
        value = env.secrets.scrub(value[:MAX_HEADER_VALUE])
        kept[name] = f"{kept[name]}, {value}" if name in kept else value  # repeated: one list, as RFC 9110
    return kept


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and the members of exception groups among them."""
    pending, seen = [exc], set[int]()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        # Suppressed contexts too: httpcore's pool re-raises with `from None`, which hides the
        # original OSError (refused, DNS) behind __context__.
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                pending.append(nxt)


def _classify(exc: BaseException, url: httpx.URL, phase: str) -> _Failed:
    causes = list(_causes(exc))
    where = _host_port(url)
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _Failed(FailureKind.TLS, f"TLS certificate rejected: {cause.verify_message}")
    for cause in causes:
        if isinstance(cause, ssl.SSLEOFError):
            return _Failed(FailureKind.TLS, _TLS_CLOSED)
        if isinstance(cause, ssl.SSLWantReadError | ssl.SSLWantWriteError):
            continue  # flow control inside the handshake loop, handled there: not the failure
        if isinstance(cause, ssl.SSLError):  # e.g. WRONG_VERSION_NUMBER: "wrong version number"
            reason = cause.reason.replace("_", " ").lower() if cause.reason else str(cause)
            return _Failed(FailureKind.TLS, f"TLS handshake failed: {reason}")
    if isinstance(exc, httpx.ConnectError) and phase == _TLS_PHASE:
        # The server hung up on the handshake (FIN or RST, depending on timing): no ssl error to quote.
        if any(isinstance(cause, ConnectionResetError) for cause in causes):
            return _Failed(FailureKind.TLS, "TLS handshake failed: the server reset the connection")
        return _Failed(FailureKind.TLS, f"TLS handshake failed: {exc}" if str(exc) else _TLS_CLOSED)
    os_errors = [c for c in causes if type(c) is not OSError and isinstance(c, OSError)]
    if os_errors and all(isinstance(c, ConnectionRefusedError) for c in os_errors):
        return _Failed(FailureKind.REFUSED, f"connection refused by {where}")
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            return _Failed(FailureKind.CONNECTION, f"DNS lookup of {url.host} failed: {cause.strerror}")
        if isinstance(cause, ConnectionResetError):
            return _Failed(FailureKind.CONNECTION, f"connection reset by {where} while {phase}")
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol):
        # ReadError, WriteError, ConnectError, RemoteProtocolError: no usable answer on the wire.
        message = f"connection to {where} failed while {phase}: {_describe(exc)}"
        return _Failed(FailureKind.CONNECTION, message)
    if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects | httpx.UnsupportedProtocol):
        return _Failed(FailureKind.PROTOCOL, _describe(exc))
    return _Failed(FailureKind.OTHER, _describe(exc))


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _without_query(message: str, url: httpx.URL) -> str:
    """Drop the check URL's query from a message (library messages sometimes quote the URL)."""
    query = url.query.decode("ascii", errors="replace")
    if query:
        message = message.replace(str(url), redact_url(url)).replace(query, "…")
    return message


def _clients(env: ProbeEnvironment) -> HttpClients:
    clients = env.clients.get(CLIENTS_KEY)
    if not isinstance(clients, HttpClients):
        clients = env.clients[CLIENTS_KEY] = HttpClients(env.settings)
    return clients

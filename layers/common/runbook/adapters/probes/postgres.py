"""PostgreSQL probe: tells what `pg_isready` tells (accepting / rejecting / no response), and a bit more.

Why it drives libpq through `psycopg.pq` instead of `psycopg.AsyncConnection.connect()`: errors that the
server sends while a connection starts (57P03 starting up, 53300 too many clients, 28P01 bad password)
reach psycopg without their SQLSTATE (psycopg/psycopg#1188: libpq keeps it private), so `connect()` would
leave only the localized message text to classify. Asking libpq for verbose errors makes it print the
SQLSTATE in a fixed place (`SEVERITY:  CODE: message`), and the probe classifies by that code.

Steps, all bounded by the one `check.timeout` (an asyncio deadline: libpq's own connect_timeout is whole
seconds, at least 2, and is not applied to non-blocking connects anyway):
1. resolve the host without blocking the event loop (libpq would call getaddrinfo synchronously);
2. start the session with libpq on those addresses (TLS, authentication, SQLSTATE on failure);
3. optionally run `check.query` under a `statement_timeout`, inside a transaction that is never committed
   on error, and report only its SQLSTATE and primary message (never rows, never DETAIL);
4. only when libpq failed without a server error: find out why with plain sockets, so that "refused",
   "unreachable" and "no TLS here" come from exception classes and protocol bytes, not from libpq's text.
   A healthy server therefore sees exactly one connection per run.
"""

import asyncio
import contextlib
import ctypes
import functools
import logging
import re
import socket
import ssl
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from psycopg import OperationalError, pq
from psycopg.conninfo import make_conninfo

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.failures import failure_message
from runbook.models.config import PostgresCheck
from runbook.models.observations import FailureKind, PostgresObservation, ProbeFailure

logger = logging.getLogger(__name__)

APPLICATION_NAME = "runbook-probe"
_MAX_MESSAGE = 300
_PQERRORS_VERBOSE = 2  # libpq's PGVerbosity
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)  # protocol constant: "may I speak TLS?"
# libpq's verbose layout: "<severity, localized>:  <SQLSTATE>: <primary message>".
_VERBOSE_ERROR = re.compile(r":  ([0-9A-Z]{5}): ([^\n]*)")

# SQLSTATEs of a server that is up but will not take a session now: class 53 (insufficient resources,
# 53300 too many connections) and class 57 (operator intervention: 57P03 starting up / shutting down /
# recovery, 57P01 admin shutdown). pg_isready reports only 57P03 as "rejecting"; 53300 is added because
# for on-call "full" is "not accepting".
_REJECTING_CLASSES = ("53", "57")
# Class 28 is invalid authorization (28P01 wrong password, 28000 no pg_hba entry / no such role);
# 42501 is "permission denied for database" (no CONNECT privilege): the login itself is refused.
_AUTH_CLASSES = ("28",)
_AUTH_CODES = ("42501",)
# Query errors that mean "too slow" rather than "wrong": statement_timeout / lock_timeout.
_QUERY_TIMEOUT_CODES = ("57014", "55P03")

ServerState = Literal["accepting", "rejecting", "no_response"]
# What the probe was doing, for "timed out while ..." messages.
_RESOLVING = "resolving the host name"
_STARTING = "starting the session"
_QUERYING = "running the query"
# Where libpq was when time ran out (ConnStatus while connecting), in words.
_SESSION_STEPS: dict[int, str] = {
    pq.ConnStatus.STARTED: "opening the TCP connection",
    pq.ConnStatus.MADE: "waiting for the server to answer",
    pq.ConnStatus.AWAITING_RESPONSE: "waiting for the server to answer",
    pq.ConnStatus.SSL_STARTUP: "waiting for the server to answer the TLS request",
    pq.ConnStatus.AUTH_OK: "waiting for the server to set up the session",
    pq.ConnStatus.SETENV: "waiting for the server to set up the session",
}


@dataclass(frozen=True)
class _Verdict:
    state: ServerState
    failure: ProbeFailure | None = None
    server_version: str | None = None
    query_ran: bool = False


class _Failed(Exception):
    """Ends the probe early with a verdict (internal control flow, never leaves this module)."""

    def __init__(self, verdict: _Verdict) -> None:
        super().__init__(verdict.failure.message if verdict.failure else verdict.state)
        self.verdict = verdict


class PostgresProbe:
    """Looks at one PostgreSQL server per call. Holds no connections between calls."""

    async def observe(self, check: PostgresCheck, env: ProbeEnvironment) -> PostgresObservation:
        observed_at = env.now()
        started = time.monotonic()
        deadline = asyncio.get_running_loop().time() + check.timeout
        session = _Session(check, env, deadline)
        try:
            async with asyncio.timeout_at(deadline):
                verdict = await session.run()
        except TimeoutError:
            verdict = session.timed_out()
        finally:
            session.finish()
        return PostgresObservation(
            observed_at=observed_at,
            latency_s=time.monotonic() - started,
            target=f"{check.host}:{check.port}/{check.dbname}",
            server_state=verdict.state,
            server_version=verdict.server_version,
            query_ran=verdict.query_ran,
            failure=verdict.failure,
        )

    async def close(self, env: ProbeEnvironment) -> None:
        """Nothing to release: every connection is closed before `observe` returns."""


class _Session:
    """One probe run: the steps above, and the libpq connection to finish whatever happens."""

    def __init__(self, check: PostgresCheck, env: ProbeEnvironment, deadline: float) -> None:
        self.check = check
        self.env = env
        self.deadline = deadline  # event loop time
        self.step = _RESOLVING
        self.addresses: list[str] = []
        self.pgconn: pq.abc.PGconn | None = None
        self.server_version: str | None = None

    # -- the steps ------------------------------------------------------------------------------------

    async def run(self) -> _Verdict:
        try:
            self.addresses = await self._resolve()
            await self._start_session()
            if self.check.query is None:
                return _Verdict("accepting", server_version=self.server_version)
            await self._run_query(self.check.query)
            return _Verdict("accepting", server_version=self.server_version, query_ran=True)
        except _Failed as failed:
            return failed.verdict

    async def _resolve(self) -> list[str]:
        check = self.check
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                check.host, check.port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            message = f"cannot resolve {check.host!r}: {exc.strerror or exc}"
            raise self._fail("no_response", FailureKind.CONNECTION, message) from None
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def _start_session(self) -> None:
        check = self.check
        self.step = _STARTING
        params: dict[str, str | int] = {
            # libpq tries the addresses in turn; `host` still serves TLS host name checks and .pgpass.
            "host": ",".join(check.host for _ in self.addresses),
            "hostaddr": ",".join(self.addresses),
            "port": check.port,
            "dbname": check.dbname,
            "user": check.user,
            "sslmode": check.sslmode,
            "application_name": APPLICATION_NAME,
            # GSS encryption is never used here, and probing for Kerberos credentials can block.
            "gssencmode": "disable",
        }
        if check.password is not None:
            params["password"] = self.env.secrets.value(check.password)
        if check.sslrootcert is not None:
            params["sslrootcert"] = check.sslrootcert
        pgconn = pq.PGconn.connect_start(make_conninfo("", **params).encode())
        self.pgconn = pgconn
        _ask_for_sqlstates(pgconn)
        while True:
            if pgconn.status == pq.ConnStatus.BAD:
                raise await self._session_failed(pgconn)
            status = pgconn.connect_poll()
            if status == pq.PollingStatus.OK:
                break
            if status == pq.PollingStatus.FAILED:
                raise await self._session_failed(pgconn)
            # libpq may switch sockets between polls (e.g. after a refused TLS attempt): ask every time.
            await _wait_socket(pgconn.socket, write=status == pq.PollingStatus.WRITING)
        version = pgconn.parameter_status(b"server_version")
        self.server_version = version.decode(errors="replace") if version else None
        pgconn.nonblocking = 1

    async def _session_failed(self, pgconn: pq.abc.PGconn) -> _Failed:
        text = pgconn.get_error_message()
        found = _VERBOSE_ERROR.findall(text)
        if found:
            code, primary = found[-1]
            return self._server_error(code, primary)
        if pgconn.needs_password:
            return self._fail(
                "accepting", FailureKind.AUTH, "the server wants a password and none is configured"
            )
        # No SQLSTATE: libpq gave up on its own (refused, TLS, closed, not PostgreSQL on this port...).
        address, transport_failure = await self._transport_problem()
        if transport_failure is not None:
            return transport_failure
        tls_problem = await self._tls_problem(address)
        if tls_problem is not None:
            return self._fail("no_response", FailureKind.TLS, tls_problem)
        return self._fail("no_response", FailureKind.CONNECTION, self._clean(text))

    def _server_error(self, code: str, primary: str) -> _Failed:
        message = f"{self._clean(primary)} ({code})"
        if code.startswith(_REJECTING_CLASSES):
            return self._fail("rejecting", FailureKind.REJECTING, message)
        if code.startswith(_AUTH_CLASSES) or code in _AUTH_CODES:
            return self._fail("accepting", FailureKind.AUTH, message)
        # Up and answering, but this session cannot start: e.g. 3D000 the database does not exist.
        return self._fail("accepting", FailureKind.OTHER, message)

    async def _transport_problem(self) -> tuple[str | None, _Failed | None]:
        """The first address that takes a TCP connection, or the failure when none does."""
        errors: list[OSError] = []
        for address in self.addresses:
            try:
                _, writer = await asyncio.open_connection(address, self.check.port)
            except OSError as exc:
                errors.append(exc)
                continue
            await _close(writer)  # before sending anything: PostgreSQL does not even log it
            return address, None
        if not errors:
            return None, None
        if any(isinstance(error, ConnectionRefusedError) for error in errors):
            return None, self._fail("no_response", FailureKind.REFUSED, "connection refused")
        if any(isinstance(error, TimeoutError) for error in errors):  # the kernel gave up before we did
            return None, self._fail("no_response", FailureKind.TIMEOUT, "the TCP connection timed out")
        reason = errors[-1].strerror or str(errors[-1])
        return None, self._fail("no_response", FailureKind.CONNECTION, f"cannot connect: {reason}")

    async def _tls_problem(self, address: str | None) -> str | None:
        """Why TLS failed, when TLS was required: does the server offer it, and is its certificate good?"""
        check = self.check
        if check.sslmode not in ("require", "verify-ca", "verify-full") or address is None:
            return None
        try:
            reader, writer = await asyncio.open_connection(address, check.port)
        except OSError:
            return None
        try:
            writer.write(_SSL_REQUEST)
            await writer.drain()
            answer = await reader.read(1)
            if answer == b"N":
                return f"the server does not offer TLS, but sslmode is {check.sslmode}"
            if answer != b"S" or check.sslmode == "require":
                return None  # libpq's own message says more than we could
            context = ssl.create_default_context(cafile=check.sslrootcert)
            context.check_hostname = check.sslmode == "verify-full"
            try:
                await writer.start_tls(context, server_hostname=check.host)
            except ssl.SSLCertVerificationError as exc:
                return f"the server certificate was not accepted: {exc.verify_message}"
            except ssl.SSLError as exc:
                return f"the TLS handshake failed: {exc.reason or exc}"
            return None
        except OSError:
            return None
        finally:
            await _close(writer)

    async def _run_query(self, query: str) -> None:
        pgconn = self.pgconn
        assert pgconn is not None
        self.step = _QUERYING
        # SET LOCAL inside a transaction that is rolled back on error: the timeout cannot leak into a
        # pooled server connection (pgbouncer), unlike a startup `options` GUC which poolers may refuse.
        # Most of the time left, so that the server's own "canceling statement" answer (57014) arrives
        # before our deadline and the server stops working on a query nobody waits for.
        remaining = self.deadline - asyncio.get_running_loop().time()
        timeout_ms = max(1, int(remaining * 1000 * 0.8))
        # Newlines keep a trailing "-- comment" in the query from swallowing the COMMIT.
        script = f"BEGIN; SET LOCAL statement_timeout = {timeout_ms};\n{query}\n;COMMIT"
        try:
            pgconn.send_query(script.encode())
            while pgconn.flush() != 0:
                await _wait_socket(pgconn.socket, write=True)
            while True:
                while pgconn.is_busy():
                    await _wait_socket(pgconn.socket, write=False)
                    pgconn.consume_input()
                result = pgconn.get_result()
                if result is None:
                    return
                self._check_result(result)
        except OperationalError as exc:  # the connection broke: not an answer to the query
            message = f"connection lost: {self._clean(str(exc))}"
            raise self._fail("no_response", FailureKind.CONNECTION, message) from None

    def _check_result(self, result: pq.abc.PGresult) -> None:
        status = result.status
        if status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY):
            return
        if status != pq.ExecStatus.FATAL_ERROR:
            # COPY and friends would wait for data forever; the probe does not speak them.
            name = pq.ExecStatus(status).name
            raise self._fail(
                "accepting", FailureKind.QUERY, f"the query returned {name}, which is unsupported"
            )
        code = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode() or "no SQLSTATE"
        primary = (result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode(errors="replace")
        message = f"{self._clean(primary)} ({code})"
        kind = FailureKind.TIMEOUT if code in _QUERY_TIMEOUT_CODES else FailureKind.QUERY
        raise self._fail("accepting", kind, message)

    # -- results ----------------------------------------------------------------------------------------

    def timed_out(self) -> _Verdict:
        state: ServerState = "accepting" if self.step == _QUERYING else "no_response"
        step = self.step
        if self.pgconn is not None and step == _STARTING:
            step = _SESSION_STEPS.get(self.pgconn.status, step)
        message = f"no answer within {self.check.timeout:g}s while {step}"
        return _Verdict(state, ProbeFailure(kind=FailureKind.TIMEOUT, message=message), self.server_version)

    def finish(self) -> None:
        if self.pgconn is not None:
            self.pgconn.finish()
            self.pgconn = None

    def _fail(self, state: ServerState, kind: FailureKind, message: str) -> _Failed:
        return _Failed(_Verdict(state, ProbeFailure(kind=kind, message=message), self.server_version))

    def _clean(self, text: str) -> str:
        return failure_message(text, self.env.secrets, _MAX_MESSAGE)


async def _wait_socket(fd: int, *, write: bool) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    if write:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()


def _ask_for_sqlstates(pgconn: pq.abc.PGconn) -> None:
    setter = _verbosity_setter()
    pointer = getattr(pgconn, "pgconn_ptr", None)  # public, though not in psycopg's typing protocol
    if setter is not None and isinstance(pointer, int):
        setter(pointer, _PQERRORS_VERBOSE)


@functools.cache
def _verbosity_setter() -> Callable[[int, int], int] | None:
    """libpq's PQsetErrorVerbosity, from the very libpq that psycopg loaded (psycopg does not wrap it)."""
    try:
        if pq.__impl__ == "python":
            from psycopg.pq import _pq_ctypes

            library = getattr(_pq_ctypes, "pq")  # noqa: B009 (not in the module's type stub)
        else:  # "binary" / "c": dlsym through the extension module finds the libpq it is linked with
            library = ctypes.CDLL(sys.modules[pq.PGconn.__module__].__file__)
        function = library.PQsetErrorVerbosity
    except (OSError, AttributeError, KeyError, ImportError, TypeError):
        logger.warning(
            "cannot set libpq error verbosity; PostgreSQL connection errors will lack their SQLSTATE",
            extra={"psycopg_impl": pq.__impl__},
        )
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_int]
    function.restype = ctypes.c_int

    def set_verbosity(pgconn_ptr: int, verbosity: int) -> int:
        return int(function(pgconn_ptr, verbosity))

    return set_verbosity

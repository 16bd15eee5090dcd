"""What the loopback stand-ins (pagerduty_standin, statuspage_standin, slack_receiver) share: one threaded
HTTP server on 127.0.0.1 with a random port and a start/close life, a request handler that hands every
request to its stand-in's `_handle`, delays that end at once when the stand-in closes, and the requests
the vendor would refuse, recorded in `violations` (a test that expects them takes them with
`take_violations()`; the fixture, tests/support/standin_fixtures.py, fails the test at teardown when
any is left).

`PathFaultStandin` adds the faults and delays of the stand-ins that set them per path prefix (PagerDuty,
Statuspage); Slack sets them per channel, on its webhooks. Each stand-in's protocol, checks and model
stay in its own module.
"""

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, Self

# The vendors' OpenAPI documents, as scripts/vendor-shared copies them into the checkout: data the
# stand-ins read (each takes an environment variable instead), not code they import.
VENDORED_SPECS_DIR = Path(__file__).resolve().parents[2] / "tests" / "vendor" / "specs"

HeaderPairs = tuple[tuple[str, str], ...]


class StandinHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    # Headers and body go out in two writes: with Nagle on, the body waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    timeout = 30  # an idle kept-alive connection's thread ends after this
    server: "_Server"

    def _any(self) -> None:
        self.server.standin._handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def lower_headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def reply(self, status: int, content_type: str, payload: bytes, headers: HeaderPairs = ()) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout): nothing to answer


class LoopbackStandin[V]:
    """The server's life and the violations (of type V) a stand-in records; it answers in `_handle`."""

    def __init__(self) -> None:
        self.violations: list[V] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- life -------------------------------------------------------------------------------------

    def start(self) -> Self:
        self._server = _Server(("127.0.0.1", 0), StandinHandler)
        self._server.standin = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()  # ends delays at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- what tests read --------------------------------------------------------------------------

    def take_violations(self) -> list[V]:
        """The violations so far, cleared: the test expected them."""
        with self._lock:
            taken, self.violations = self.violations, []
        return taken

    # --- serving ----------------------------------------------------------------------------------

    def _handle(self, handler: StandinHandler) -> None:
        raise NotImplementedError

    def _wait(self, seconds: float | None) -> None:
        """A delay before answering; it ends at once when the stand-in closes."""
        if seconds:
            self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: LoopbackStandin[Any]


@dataclass(frozen=True)
class Violation:
    method: str
    path: str
    status: int  # what the stand-in answered
    errors: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}: " + " | ".join(self.errors)


@dataclass
class Fault:
    status: int
    times: int
    headers: HeaderPairs = ()
    body: Any = None


class PathFaultStandin(LoopbackStandin[Violation]):
    """Faults and delays per path prefix: a request meets those of the longest prefix of its path. Which
    requests reach the faults (only valid ones, …) is for the stand-in's answer to say."""

    def __init__(self) -> None:
        super().__init__()
        self._faults: dict[str, list[Fault]] = {}
        self._delays: dict[str, float] = {}

    # --- what tests set up ------------------------------------------------------------------------

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """The next `times` requests whose path starts with `path_prefix` that reach the faults get
        `status` (with these headers; the vendor's error body unless `body` is given). Faults queue up
        in order."""
        with self._lock:
            fault = Fault(status, times, tuple((headers or {}).items()), body)
            self._faults.setdefault(path_prefix, []).append(fault)

    def delay(self, path_prefix: str, seconds: float) -> None:
        """Answer requests under `path_prefix` after `seconds` (0 removes the delay)."""
        with self._lock:
            if seconds > 0:
                self._delays[path_prefix] = seconds
            else:
                self._delays.pop(path_prefix, None)

    # --- serving ----------------------------------------------------------------------------------

    def _delay_of(self, path: str) -> float | None:
        """Called under the lock."""
        return self._match(self._delays, path)

    def _take_fault(self, path: str) -> Fault | None:
        """Called under the lock."""
        return take_fault(self._match(self._faults, path))

    @staticmethod
    def _match[T](table: dict[str, T], path: str) -> T | None:
        """The entry of the longest prefix of `path`."""
        prefixes = [prefix for prefix in table if path.startswith(prefix)]
        return table[max(prefixes, key=len)] if prefixes else None


class _Countdown(Protocol):
    times: int


def take_fault[F: _Countdown](queue: list[F] | None) -> F | None:
    """The first fault of `queue`, counted down (and dropped once it has answered `times` requests)."""
    if not queue:
        return None
    fault = queue[0]
    fault.times -= 1
    if fault.times <= 0:
        queue.pop(0)
    return fault

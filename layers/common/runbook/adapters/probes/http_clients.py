"""The pooled httpx clients the HTTP probe shares across the checks of one run.

One set of clients per TLS trust setting (default CAs, or a check's tls.ca_file). Each set is split
into lanes of at most LANE_CONNECTIONS connections: httpcore 1.0's pool does work proportional to
(connections x idle-or-queued requests) on every request, which made a single 100-connection pool
spend ~10 ms of CPU per request (benchmarks/http_probe_benchmark.py). Small pools keep that flat.
"""

import math
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from runbook.adapters.probes.http_transport import new_transport
from runbook.models.config import ProbeSettings

USER_AGENT = "runbook-health-probe/1"
LANE_CONNECTIONS = 10
# Loading the default CA bundle takes tens of ms of CPU: once per process, at cold start, rather than in
# the first check of every run (where it would hold up the loop, and every check already timing).
_DEFAULT_CONTEXT = httpx.create_ssl_context(trust_env=False)


class CaFileError(Exception):
    """The check's tls.ca_file cannot be loaded: a config problem, not the target's."""


class _Lane:
    __slots__ = ("client", "in_flight")

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.in_flight = 0


class _TrustGroup:
    """The lanes that share one TLS trust setting."""

    def __init__(self, context: ssl.SSLContext, settings: ProbeSettings) -> None:
        self._context = context
        self._max_lanes = math.ceil(settings.max_concurrency / LANE_CONNECTIONS)
        self._per_lane = math.ceil(settings.max_concurrency / self._max_lanes)
        self.lanes: list[_Lane] = []

    def pick(self) -> _Lane:
        """The first lane with room, so that a light run keeps reusing the connections of one pool; a
        new lane when all are full; the least busy one (its pool queues) beyond max_concurrency."""
        for lane in self.lanes:
            if lane.in_flight < self._per_lane:
                return lane
        if len(self.lanes) < self._max_lanes:
            self.lanes.append(_Lane(_new_client(self._context, self._per_lane)))
            return self.lanes[-1]
        return min(self.lanes, key=lambda lane: lane.in_flight)


class HttpClients:
    """What the HTTP probe keeps in ProbeEnvironment.clients for the run."""

    def __init__(self, settings: ProbeSettings) -> None:
        self._settings = settings
        self._groups: dict[str | None, _TrustGroup] = {}

    @contextmanager
    def client(self, ca_file: str | None) -> Iterator[httpx.AsyncClient]:
        """A client for the trust setting, counted as busy until the exchange is over."""
        group = self._groups.get(ca_file)
        if group is None:
            group = self._groups[ca_file] = _TrustGroup(_ssl_context(ca_file), self._settings)
        lane = group.pick()
        lane.in_flight += 1
        try:
            yield lane.client
        finally:
            lane.in_flight -= 1

    def all_clients(self) -> list[httpx.AsyncClient]:
        return [lane.client for group in self._groups.values() for lane in group.lanes]

    async def aclose(self) -> None:
        clients, self._groups = self.all_clients(), {}
        for client in clients:
            await client.aclose()


def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    if ca_file is None:
        return _DEFAULT_CONTEXT
    try:
        return ssl.create_default_context(cafile=ca_file)
    except OSError as exc:  # missing, unreadable or not PEM (ssl.SSLError is an OSError)
        raise CaFileError(f"cannot load tls.ca_file {ca_file}: {exc}") from exc


def _new_client(context: ssl.SSLContext, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        transport=new_transport(context, limits),
        # No proxies, netrc or SSL_CERT_* from the environment: the probe sees the target directly.
        trust_env=False,
        follow_redirects=False,
        # Checks share the client: a cookie set by one target must not reach another check.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        # identity: the body cap then counts wire bytes, not a decompressed bomb.
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )

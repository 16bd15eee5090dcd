"""The pooled httpx clients the HTTP probe shares across the checks of one run: one per TLS trust
setting (default CAs, or a check's tls.ca_file), each on one aiohttp pool of max_concurrency
connections (http_transport.py). httpcore's pool, used before, did work proportional to
(connections x waiting requests) on every request and had to be split into lanes of 10; aiohttp's
does not (benchmarks/http_probe_benchmark.py).
"""

import ssl
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from runbook.adapters.probes.http_transport import AiohttpTransport
from runbook.models.config import ProbeSettings

USER_AGENT = "runbook-health-probe/1"
# Loading the default CA bundle takes tens of ms of CPU: once per process, at cold start, rather than in
# the first check of every run (where it would hold up the loop, and every check already timing).
_DEFAULT_CONTEXT = httpx.create_ssl_context(trust_env=False)


class CaFileError(Exception):
    """The check's tls.ca_file cannot be loaded: a config problem, not the target's."""


class HttpClients:
    """What the HTTP probe keeps in ProbeEnvironment.clients for the run."""

    def __init__(self, settings: ProbeSettings) -> None:
        self._settings = settings
        self._clients: dict[str | None, httpx.AsyncClient] = {}

    def client(self, ca_file: str | None) -> httpx.AsyncClient:
        """The client for the trust setting, made on first use."""
        client = self._clients.get(ca_file)
        if client is None:
            connections = self._settings.max_concurrency
            client = self._clients[ca_file] = _new_client(_ssl_context(ca_file), connections)
        return client

    def all_clients(self) -> list[httpx.AsyncClient]:
        return list(self._clients.values())

    async def aclose(self) -> None:
        clients, self._clients = self.all_clients(), {}
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
    return httpx.AsyncClient(
        transport=AiohttpTransport(context, connections),
        # No proxies, netrc or SSL_CERT_* from the environment: the probe sees the target directly.
        trust_env=False,
        follow_redirects=False,
        # Checks share the client: a cookie set by one target must not reach another check.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        # identity: the body cap then counts wire bytes, not a decompressed bomb.
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )

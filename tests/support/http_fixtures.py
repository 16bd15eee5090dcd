"""Pytest fixtures for the loopback HTTP(S) servers (registered in tests/conftest.py), and the helpers
the HTTP probe tests share."""

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.http import HttpProbe
from runbook.models.config import HttpCheck, ProbeSettings
from runbook.models.observations import HttpObservation
from runbook.models.results import CheckResult
from runbook.models.secrets import SsmParameterRef
from runbook.models.state import CheckState
from runbook.services.conditions.http import evaluate
from standins.http_servers import LoopbackServer, ServerLoop, TlsMaterial, TlsVariant
from tests.support.secrets import StaticSecrets

ServerFactory = Callable[..., LoopbackServer]


@pytest.fixture(scope="session")
def server_loop() -> Iterator[ServerLoop]:
    loop = ServerLoop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(directory=tmp_path_factory.mktemp("tls"))


@pytest.fixture
def loopback(server_loop: ServerLoop, tls_material: TlsMaterial) -> Iterator[ServerFactory]:
    """Starts servers on demand: `loopback()` for HTTP, `loopback(tls="expired")` for HTTPS,
    `loopback(drop_connections=True)` for one that hangs up at once, `loopback(tls="valid",
    handshake_delay_ms=300)` for a slow TLS handshake; all are shut down after the test."""
    started: list[LoopbackServer] = []

    def start(
        tls: TlsVariant | None = None, drop_connections: bool = False, handshake_delay_ms: int = 0
    ) -> LoopbackServer:
        context = tls_material.server_context(tls) if tls else None
        server = LoopbackServer(
            server_loop,
            ssl_context=context,
            drop_connections=drop_connections,
            handshake_delay_ms=handshake_delay_ms,
        ).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def http_server(loopback: ServerFactory) -> LoopbackServer:
    return loopback()


@pytest.fixture
def https_server(loopback: ServerFactory) -> LoopbackServer:
    """HTTPS with a certificate from the private CA in `tls_material.ca_file`."""
    return loopback(tls="valid")


# --- helpers for the probe tests ------------------------------------------------------------------

TOKEN_REF = SsmParameterRef(ssm="/runbook/gateway/api-key")
TOKEN = "tok-3f9a61c2d8e7b5a4"
PROBE = HttpProbe()


def make_env(**settings: Any) -> ProbeEnvironment:
    """A run's environment; the test closes it with `await PROBE.close(env)`."""
    return ProbeEnvironment(settings=ProbeSettings(**settings), secrets=StaticSecrets({TOKEN_REF: TOKEN}))


def make_check(url: str, **fields: Any) -> HttpCheck:
    return HttpCheck.model_validate({"name": "gateway", "kind": "http", "url": url, "timeout": 5} | fields)


async def probe_and_judge(check: HttpCheck, env: ProbeEnvironment) -> tuple[HttpObservation, CheckResult]:
    observation = await PROBE.observe(check, env)
    return observation, evaluate(check, observation, CheckState(check=check.name))


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll a server-side fact (the server runs on another thread's loop)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)

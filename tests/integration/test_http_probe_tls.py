"""The HTTP probe and its condition against real HTTPS servers on 127.0.0.1 with trustme certificates."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.http import CLIENTS_KEY
from runbook.models.config import HttpCheck
from runbook.models.observations import FailureKind
from runbook.models.results import Outcome
from standins.http_servers import EXPIRING_IN_DAYS, LoopbackServer, TlsMaterial
from tests.support.http_fixtures import PROBE, ServerFactory, make_check, make_env, probe_and_judge


@pytest.fixture
async def env() -> AsyncIterator[ProbeEnvironment]:
    environment = make_env()
    yield environment
    await PROBE.close(environment)


def tls_check(server: LoopbackServer, tls_material: TlsMaterial, **fields: Any) -> HttpCheck:
    return make_check(server.url("/ok"), tls={"ca_file": tls_material.ca_file} | fields)


async def test_a_valid_certificate_from_a_private_ca(
    https_server: LoopbackServer, tls_material: TlsMaterial, env: ProbeEnvironment
) -> None:
    observation, result = await probe_and_judge(tls_check(https_server, tls_material), env)

    assert result.outcome is Outcome.OK, result.reason
    assert observation.cert_not_after is not None
    assert observation.cert_not_after - datetime.now(UTC) > timedelta(days=360)
    assert result.details["cert_days_left"] >= 360


async def test_a_pooled_connection_still_reports_the_certificate(
    https_server: LoopbackServer, tls_material: TlsMaterial, env: ProbeEnvironment
) -> None:
    first, _ = await probe_and_judge(tls_check(https_server, tls_material), env)
    second, _ = await probe_and_judge(tls_check(https_server, tls_material), env)

    assert https_server.connections == 1  # the second check reused the first connection
    assert first.cert_not_after is not None
    assert second.cert_not_after == first.cert_not_after


async def test_a_certificate_expiring_soon(
    loopback: ServerFactory, tls_material: TlsMaterial, env: ProbeEnvironment
) -> None:
    server = loopback(tls="expiring")

    _, result = await probe_and_judge(tls_check(server, tls_material, min_days_to_expiry=14), env)

    assert result.outcome is Outcome.TLS_EXPIRING
    assert f"expires in {EXPIRING_IN_DAYS} days" in result.reason


@pytest.mark.parametrize(
    ("variant", "verify_message"),
    [
        ("expired", "certificate has expired"),
        ("self_signed", "self-signed certificate"),
        ("unknown_ca", "unable to get local issuer certificate"),
        ("wrong_host", "IP address mismatch, certificate is not valid for '127.0.0.1'"),
    ],
)
async def test_an_untrusted_certificate_says_why(
    loopback: ServerFactory,
    tls_material: TlsMaterial,
    env: ProbeEnvironment,
    variant: Any,
    verify_message: str,
) -> None:
    server = loopback(tls=variant)

    observation, result = await probe_and_judge(tls_check(server, tls_material), env)

    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.TLS
    assert result.outcome is Outcome.TLS_ERROR
    assert verify_message in result.reason
    assert not server.requests


async def test_a_private_ca_is_not_trusted_without_its_ca_file(
    https_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    _, result = await probe_and_judge(make_check(https_server.url("/ok")), env)

    assert result.outcome is Outcome.TLS_ERROR
    assert "unable to get local issuer certificate" in result.reason


async def test_a_missing_ca_file_is_the_probe_s_problem(
    https_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    check = make_check(https_server.url("/ok"), tls={"ca_file": "/nonexistent/ca.pem"})

    _, result = await probe_and_judge(check, env)

    assert result.outcome is Outcome.PROBE_ERROR
    assert "cannot load tls.ca_file /nonexistent/ca.pem" in result.reason


async def test_close_releases_the_pooled_clients(
    http_server: LoopbackServer, https_server: LoopbackServer, tls_material: TlsMaterial
) -> None:
    env = make_env()
    await probe_and_judge(make_check(http_server.url("/ok")), env)
    await probe_and_judge(tls_check(https_server, tls_material), env)
    clients = env.clients[CLIENTS_KEY].all_clients()

    await PROBE.close(env)

    assert len(clients) == 2  # one per trust setting: default CAs and the private CA
    assert all(client.is_closed for client in clients)
    assert CLIENTS_KEY not in env.clients

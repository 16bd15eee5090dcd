"""Where an HTTP check's time goes (DNS, connect, TLS, first byte, body), against real servers on
loopback: each slow step shows in its own phase, and the latency is what the target cost."""

import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.models.results import Outcome
from standins.http_servers import LoopbackServer, Reply, TlsMaterial
from tests.support.http_fixtures import PROBE, ServerFactory, make_check, make_env, probe_and_judge

ROOT = Path(__file__).resolve().parents[2]
SLOW_MS = 400  # each slow step waits this long: twice the runbook's 200 ms limit


@pytest.fixture
async def env() -> AsyncIterator[ProbeEnvironment]:
    environment = make_env()
    yield environment
    await PROBE.close(environment)


async def test_a_slow_tls_handshake_is_in_the_tls_phase(
    loopback: ServerFactory, tls_material: TlsMaterial, env: ProbeEnvironment
) -> None:
    server = loopback(tls="valid", handshake_delay_ms=SLOW_MS)
    check = make_check(
        server.url("/ok"), tls={"ca_file": tls_material.ca_file}, expect={"max_latency": "200ms"}
    )

    observation, result = await probe_and_judge(check, env)

    assert result.outcome is Outcome.TOO_SLOW, result.reason
    phases = result.phases
    assert phases is not None
    assert phases.tls_ms is not None
    assert phases.tls_ms >= SLOW_MS
    assert phases.first_byte_ms is not None
    assert phases.first_byte_ms < SLOW_MS  # the server itself answered at once
    assert "(slowest: TLS handshake, " in result.reason
    assert result.latency_ms is not None
    assert result.latency_ms >= phases.tls_ms
    assert observation.cert_not_after is not None  # expiry is still read


async def test_a_slow_server_is_in_the_time_to_first_byte(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    url = http_server.route("/slow-first-byte", Reply(delay_ms=SLOW_MS))

    _, result = await probe_and_judge(make_check(url, expect={"max_latency": "200ms"}), env)

    assert result.outcome is Outcome.TOO_SLOW
    phases = result.phases
    assert phases is not None
    assert phases.first_byte_ms is not None
    assert phases.first_byte_ms >= SLOW_MS
    assert phases.connect_ms is not None
    assert phases.connect_ms < SLOW_MS
    assert phases.tls_ms is None  # http://: no handshake
    assert "(slowest: time to first byte, " in result.reason


async def test_a_pooled_connection_has_no_connect_phase_and_an_ip_address_no_dns(
    https_server: LoopbackServer, tls_material: TlsMaterial, env: ProbeEnvironment
) -> None:
    check = make_check(https_server.url("/ok"), tls={"ca_file": tls_material.ca_file})

    first, _ = await probe_and_judge(check, env)
    second, _ = await probe_and_judge(check, env)

    assert https_server.connections == 1
    assert first.phases is not None
    assert second.phases is not None
    assert (first.phases.reused, first.phases.dns_ms) == (False, None)  # 127.0.0.1: nothing to look up
    assert first.phases.connect_ms is not None
    assert first.phases.tls_ms is not None
    assert second.phases.reused
    assert (second.phases.dns_ms, second.phases.connect_ms, second.phases.tls_ms) == (None, None, None)
    assert second.phases.first_byte_ms is not None
    assert second.cert_not_after == first.cert_not_after  # expiry read from the pooled connection


async def test_a_host_name_is_looked_up_and_keeps_its_name_for_tls_and_host(
    https_server: LoopbackServer, tls_material: TlsMaterial, env: ProbeEnvironment
) -> None:
    # localhost resolves from /etc/hosts (no network); the certificate names localhost and 127.0.0.1.
    url = https_server.url("/echo").replace("127.0.0.1", "localhost")
    check = make_check(url, tls={"ca_file": tls_material.ca_file})

    observation, result = await probe_and_judge(check, env)

    assert result.outcome is Outcome.OK, result.reason
    assert observation.phases is not None
    assert observation.phases.dns_ms is not None
    assert observation.phases.connect_ms is not None
    assert observation.body_json["host"] == f"localhost:{https_server.port}"
    assert observation.target == f"https://localhost:{https_server.port}/echo"


async def test_redirect_hops_add_up(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    http_server.route(
        "/slow-redirect", Reply(status=302, body=b"", delay_ms=SLOW_MS, headers=(("Location", "/slow"),))
    )
    http_server.route("/slow", Reply(delay_ms=SLOW_MS))
    check = make_check(http_server.url("/slow-redirect"), follow_redirects=True)

    observation, result = await probe_and_judge(check, env)

    assert result.outcome is Outcome.OK, result.reason
    assert observation.phases is not None
    assert observation.phases.first_byte_ms is not None
    assert observation.phases.first_byte_ms >= 2 * SLOW_MS
    assert result.latency_ms is not None
    assert result.latency_ms >= 2 * SLOW_MS


def test_the_first_exchange_of_a_process_imports_nothing(
    http_server: LoopbackServer, https_server: LoopbackServer, tls_material: TlsMaterial
) -> None:
    """Whatever the HTTP stack would load on its first connection is loaded when the probe is imported
    (cold start), not inside the first check's timer; a library upgrade that adds a lazy import fails
    here. A fresh interpreter, so that nothing is already imported."""
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        from runbook.adapters.probes.http import HttpProbe
        from runbook.adapters.probes.base import ProbeEnvironment
        from runbook.models.config import HttpCheck, ProbeSettings
        from runbook.models.secrets import find_secret_refs

        class NoSecrets:
            def value(self, ref): raise KeyError(ref)
            def scrub(self, text): return text

        async def main(urls, ca_file):
            env = ProbeEnvironment(settings=ProbeSettings(), secrets=NoSecrets())
            probe, imported = HttpProbe(), {}
            for url in urls:
                check = HttpCheck.model_validate(
                    {"name": "c", "kind": "http", "url": url, "tls": {"ca_file": ca_file}}
                )
                before = set(sys.modules)
                observation = await probe.observe(check, env)
                imported[url] = [sorted(set(sys.modules) - before), str(observation.failure)]
            await probe.close(env)
            print(json.dumps(imported))

        asyncio.run(main(sys.argv[2:], sys.argv[1]))
        """
    )
    urls = [
        http_server.url("/ok"),
        https_server.url("/ok"),
        https_server.url("/ok").replace("127.0.0.1", "localhost"),
    ]
    run = subprocess.run(
        [sys.executable, "-c", script, tls_material.ca_file, *urls],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    imported = json.loads(run.stdout)
    assert imported == {url: [[], "None"] for url in urls}

"""The HTTP probe and its condition against real servers on 127.0.0.1 (tests/support/http_servers.py).
TLS cases are in test_http_probe_tls.py."""

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.http import CLIENTS_KEY
from runbook.adapters.probes.http_clients import USER_AGENT
from runbook.models.observations import FailureKind
from runbook.models.results import Outcome
from standins.http_servers import LoopbackServer, Reply
from tests.support.http_fixtures import (
    PROBE,
    TOKEN,
    TOKEN_REF,
    ServerFactory,
    make_check,
    make_env,
    probe_and_judge,
    wait_until,
)

QUERY_TOKEN = "qtok-77d1e0c9b2"


@pytest.fixture
async def env() -> AsyncIterator[ProbeEnvironment]:
    environment = make_env()
    yield environment
    await PROBE.close(environment)


# --- plain HTTP answers ----------------------------------------------------------------------


async def test_a_right_answer_is_ok(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    check = make_check(http_server.url("/ok"), expect={"status": [200], "json": {"status": "ok"}})

    observation, result = await probe_and_judge(check, env)

    assert result.outcome is Outcome.OK, result.reason
    assert observation.status_code == 200
    assert observation.body_json == {"status": "ok"}
    assert observation.cert_not_after is None
    assert result.latency_ms is not None
    assert observation.target == f"http://127.0.0.1:{http_server.port}/ok"
    assert http_server.received("/ok")[0].headers["user-agent"] == USER_AGENT


async def test_wrong_json_names_the_field(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    check = make_check(
        http_server.url("/wrong-json"), expect={"json": {"status": "ok", "checks": {"db": "up"}}}
    )

    _, result = await probe_and_judge(check, env)

    assert result.outcome is Outcome.BODY_MISMATCH
    assert '\'status\' = "degraded", expected "ok"' in result.reason


async def test_a_body_that_is_not_json(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    check = make_check(http_server.url("/not-json"), expect={"json": {"status": "ok"}})

    observation, result = await probe_and_judge(check, env)

    assert not observation.body_is_json
    assert result.outcome is Outcome.BODY_MISMATCH
    assert "not JSON" in result.reason


async def test_a_server_error_is_a_status_failure(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    _, result = await probe_and_judge(make_check(http_server.url("/error")), env)

    assert result.outcome is Outcome.HTTP_STATUS
    assert result.reason.endswith("answered HTTP 500, expected 200")


async def test_a_slow_answer_is_too_slow(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    # The server waits 800 ms, four times the limit: the verdict does not depend on machine speed.
    check = make_check(http_server.url("/slow"), expect={"max_latency": "200ms"})

    _, result = await probe_and_judge(check, env)

    assert result.outcome is Outcome.TOO_SLOW
    assert result.latency_ms is not None
    assert result.latency_ms >= 800
    # The server's wait is in the time to first byte, and the reason says so.
    assert result.phases is not None
    assert result.phases.first_byte_ms is not None
    assert result.phases.first_byte_ms >= 800
    assert re.search(r"limit 200 ms \(slowest: time to first byte, \d+ ms\)$", result.reason), result.reason


async def test_a_post_sends_its_method_body_and_headers(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    check = make_check(
        http_server.url("/ok"), method="POST", body='{"ping":1}', headers={"Content-Type": "application/json"}
    )

    _, result = await probe_and_judge(check, env)

    assert result.ok
    (request,) = http_server.received("/ok")
    assert (request.method, request.body) == ("POST", b'{"ping":1}')
    assert request.headers["content-type"] == "application/json"


async def test_a_head_request_has_no_body_to_read(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    observation, result = await probe_and_judge(make_check(http_server.url("/ok"), method="HEAD"), env)

    assert result.ok
    assert observation.body_text == ""
    assert http_server.received("/ok")[0].method == "HEAD"


# --- redirects -------------------------------------------------------------------------------


async def test_a_redirect_is_not_followed_by_default(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    observation, result = await probe_and_judge(make_check(http_server.url("/redirect")), env)

    assert observation.status_code == 302
    assert observation.location == f"http://127.0.0.1:{http_server.port}/ok"  # its query (a token) dropped
    assert result.outcome is Outcome.HTTP_STATUS
    assert f"redirecting to {observation.location}" in result.reason
    assert "redirect-token" not in result.reason
    assert [r.path for r in http_server.requests] == ["/redirect"]


async def test_a_redirect_is_followed_when_asked(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    observation, result = await probe_and_judge(
        make_check(http_server.url("/redirect"), follow_redirects=True), env
    )

    assert result.ok
    assert observation.body_json == {"status": "ok"}
    assert [r.path for r in http_server.requests] == ["/redirect", "/ok"]


async def test_a_redirect_loop_stops_at_max_redirects(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    check = make_check(http_server.url("/redirect-loop"), follow_redirects=True, max_redirects=2)

    observation, result = await probe_and_judge(check, env)

    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.PROTOCOL
    assert result.outcome is Outcome.CONNECTION_ERROR
    assert "more than 2 redirects" in result.reason
    assert len(http_server.received("/redirect-loop")) == 3


async def test_secret_headers_do_not_follow_a_redirect_to_another_origin(
    loopback: ServerFactory, env: ProbeEnvironment
) -> None:
    first, other = loopback(), loopback()
    url = first.route("/away", Reply(status=302, body=b"", headers=(("Location", other.url("/ok")),)))
    headers = {"X-Api-Key": TOKEN_REF.model_dump(), "X-Plain": "kept"}

    _, result = await probe_and_judge(make_check(url, headers=headers, follow_redirects=True), env)

    assert result.ok
    assert first.received("/away")[0].headers["x-api-key"] == TOKEN
    (arrived,) = other.received("/ok")
    assert "x-api-key" not in arrived.headers
    assert arrived.headers["x-plain"] == "kept"


# --- broken connections ----------------------------------------------------------------------


async def test_a_server_that_never_answers_times_out(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    check = make_check(http_server.url("/hang"), timeout=0.3)

    observation, result = await probe_and_judge(check, env)

    assert result.outcome is Outcome.TIMEOUT
    assert "within 0.3 s (waiting for the response)" in result.reason
    assert observation.latency_s is None


async def test_a_reset_connection(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    _, result = await probe_and_judge(make_check(http_server.url("/reset")), env)

    assert result.outcome is Outcome.CONNECTION_ERROR
    assert "reset" in result.reason


async def test_a_connection_closed_mid_answer(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    _, result = await probe_and_judge(make_check(http_server.url("/cut")), env)

    assert result.outcome is Outcome.CONNECTION_ERROR
    assert "reading the response body" in result.reason


async def test_an_answer_that_is_not_http(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    _, result = await probe_and_judge(make_check(http_server.url("/garbage")), env)

    assert result.outcome is Outcome.CONNECTION_ERROR
    assert "waiting for the response" in result.reason


@pytest.mark.parametrize(
    ("scheme", "outcome", "words"),
    [
        ("http", Outcome.CONNECTION_ERROR, "waiting for the response"),
        # closed or reset: whether the ClientHello arrived before the hang-up is up to the scheduler
        ("https", Outcome.TLS_ERROR, "TLS handshake failed: the server "),
    ],
)
async def test_a_server_that_hangs_up_at_once(
    loopback: ServerFactory, env: ProbeEnvironment, scheme: str, outcome: Outcome, words: str
) -> None:
    server = loopback(drop_connections=True)

    _, result = await probe_and_judge(make_check(f"{scheme}://127.0.0.1:{server.port}/healthz"), env)

    assert result.outcome is outcome
    assert words in result.reason
    assert server.connections == 1


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused, and no other test can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_a_refused_connection(closed_port: int, env: ProbeEnvironment) -> None:
    _, result = await probe_and_judge(make_check(f"http://127.0.0.1:{closed_port}/healthz"), env)

    assert result.outcome is Outcome.CONNECTION_REFUSED
    assert result.reason.endswith(f"connection refused by 127.0.0.1:{closed_port}")


async def test_an_unknown_host_is_a_connection_error(env: ProbeEnvironment) -> None:
    # .invalid never resolves (RFC 2606).
    _, result = await probe_and_judge(make_check("http://gateway.invalid/healthz"), env)

    assert result.outcome is Outcome.CONNECTION_ERROR
    assert "DNS lookup of gateway.invalid failed" in result.reason


async def test_waiting_too_long_for_a_pooled_connection_is_a_timeout(http_server: LoopbackServer) -> None:
    env = make_env(max_concurrency=1)  # one connection: the hanging check holds it
    hanging = asyncio.create_task(PROBE.observe(make_check(http_server.url("/hang")), env))
    try:
        await wait_until(lambda: bool(http_server.received("/hang")))

        _, result = await probe_and_judge(make_check(http_server.url("/ok"), timeout=0.3), env)
    finally:
        hanging.cancel()
        await PROBE.close(env)

    assert result.outcome is Outcome.TIMEOUT
    assert "waiting for a free connection" in result.reason
    assert not http_server.received("/ok")


async def test_checks_at_once_share_one_pool_of_at_most_max_concurrency_connections(
    http_server: LoopbackServer,
) -> None:
    env = make_env(max_concurrency=10)
    hanging = [
        asyncio.create_task(PROBE.observe(make_check(http_server.url("/hang")), env)) for _ in range(15)
    ]
    try:
        await wait_until(lambda: len(http_server.received("/hang")) == 10)
        await asyncio.sleep(0.3)  # room for an 11th connection, were the pool to make one
        clients = env.clients[CLIENTS_KEY].all_clients()
        received = len(http_server.received("/hang"))
    finally:
        for task in hanging:
            task.cancel()
        await asyncio.gather(*hanging, return_exceptions=True)
        await PROBE.close(env)

    assert len(clients) == 1  # one trust setting: one client, one pool
    assert (received, http_server.connections) == (10, 10)


# --- bodies ----------------------------------------------------------------------------------


async def test_a_header_line_above_8_kib_is_still_an_answer(http_server: LoopbackServer) -> None:
    # RFC 9110 sets no limit; h11, the probe's parser before, took 100 KiB, aiohttp's default 8190 bytes.
    cookie = "session=" + "c" * 16_000
    url = http_server.route("/big-cookie", Reply(headers=(("Set-Cookie", cookie),)))
    env = make_env()
    try:
        _, result = await probe_and_judge(make_check(url), env)
    finally:
        await PROBE.close(env)

    assert result.outcome is Outcome.OK, result.reason


async def test_the_body_is_read_up_to_the_cap(http_server: LoopbackServer) -> None:
    env = make_env(max_response_bytes=4096)
    try:
        check = make_check(http_server.url("/huge"), expect={"body_contains": "the end"})
        observation, result = await probe_and_judge(check, env)
    finally:
        await PROBE.close(env)

    assert observation.status_code == 200
    assert observation.body_truncated
    assert observation.body_text == "x" * 4096
    assert result.outcome is Outcome.BODY_MISMATCH
    assert "first 4096 characters" in result.reason


async def test_cookies_of_one_check_do_not_reach_the_next(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    url = http_server.route("/login", Reply(headers=(("Set-Cookie", "session=abc123; Path=/"),)))

    await probe_and_judge(make_check(url), env)
    await probe_and_judge(make_check(http_server.url("/echo")), env)

    assert "cookie" not in http_server.received("/echo")[0].headers


# --- secrets and query strings ---------------------------------------------------------------


async def test_a_secret_header_reaches_the_server_but_no_reason(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    # /echo answers with the request headers, so the secret comes back in the body.
    check = make_check(
        http_server.url("/echo"),
        headers={"X-Api-Key": TOKEN_REF.model_dump()},
        expect={"json": {"status": "ok"}},
    )

    observation, result = await probe_and_judge(check, env)

    assert http_server.received("/echo")[0].headers["x-api-key"] == TOKEN
    assert result.outcome is Outcome.BODY_MISMATCH
    assert TOKEN not in result.reason
    assert TOKEN not in str(result.details)
    assert TOKEN not in (observation.body_text or "")
    assert TOKEN not in str(observation.body_json)


@pytest.mark.parametrize("path", ["/ok", "/hang", "/reset", "/redirect"])
async def test_the_query_string_is_sent_but_never_reported(
    http_server: LoopbackServer, env: ProbeEnvironment, path: str
) -> None:
    check = make_check(http_server.url(path) + f"?token={QUERY_TOKEN}", timeout=0.3)

    observation, result = await probe_and_judge(check, env)

    assert http_server.received(path)[0].target == f"{path}?token={QUERY_TOKEN}"
    assert observation.target == f"http://127.0.0.1:{http_server.port}{path}"
    everything = observation.model_dump_json() + result.model_dump_json()
    assert QUERY_TOKEN not in everything
    assert "?" not in observation.target

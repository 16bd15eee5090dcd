"""RedisProbe against real, throwaway redis-servers and small fake servers on loopback."""

import asyncio
import contextlib
import gc
import logging
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.redis import RedisProbe
from runbook.models.config import ProbeSettings, RedisCheck
from runbook.models.observations import FailureKind, RedisObservation
from runbook.models.results import Outcome
from runbook.models.secrets import SsmParameterRef
from runbook.models.state import CheckState
from runbook.services.conditions import redis as condition
from tests.support.redis_server import RedisInfo, make_tls_files
from tests.support.secrets import StaticSecrets

PASSWORD_REF = SsmParameterRef(ssm="/runbook/redis/password")
TIMEOUT = 10.0  # far above any answer on a loaded machine; only "never answers" tests wait for a timeout
GUARD = 30.0  # outer bound of a test that waits for the probe's own timeout


def make_check(
    info: RedisInfo, *, password: bool | None = None, port: int | None = None, **overrides: object
) -> RedisCheck:
    """A check for `info`; `password` True/False forces a password reference on/off (default: as `info`)."""
    use_password = info.password is not None if password is None else password
    fields: dict[str, object] = {
        "kind": "redis",
        "name": "cache",
        "host": info.host,
        "port": info.port if port is None else port,
        "db": info.db,
        "username": info.username,
        "password": {"ssm": PASSWORD_REF.ssm} if use_password else None,
        "tls": info.tls,
        "ca_file": str(info.ca_file) if info.ca_file else None,
        "timeout": TIMEOUT,
    }
    fields.update(overrides)
    return RedisCheck.model_validate(fields)


async def observe(check: RedisCheck, password: str | None = None) -> RedisObservation:
    secrets = StaticSecrets({PASSWORD_REF: password} if password is not None else {})
    env = ProbeEnvironment(settings=ProbeSettings(), secrets=secrets)
    async with asyncio.timeout(GUARD):
        return await RedisProbe().observe(check, env)


def judge(check: RedisCheck, observation: RedisObservation) -> tuple[Outcome, str]:
    result = condition.evaluate(check, observation, CheckState(check=check.name))
    return result.outcome, result.reason


def assert_failure(observation: RedisObservation, kind: FailureKind) -> None:
    assert observation.failure is not None, f"expected {kind}, got reply {observation.reply!r}"
    assert observation.failure.kind is kind, observation.failure


# ------------------------------------------------------------------------------------------- real servers


async def test_pong(redis_plain: RedisInfo) -> None:
    check = make_check(redis_plain)
    observation = await observe(check)
    assert observation.failure is None
    assert observation.reply == "PONG"
    assert observation.target == f"redis://{redis_plain.host}:{redis_plain.port}/{redis_plain.db}"
    assert judge(check, observation) == (
        Outcome.OK,
        f"Redis at {redis_plain.host}:{redis_plain.port} answered PING with PONG",
    )


async def test_requirepass_right_password(redis_password: RedisInfo) -> None:
    observation = await observe(make_check(redis_password), redis_password.password)
    assert observation.failure is None
    assert observation.reply == "PONG"


async def test_requirepass_wrong_password(
    redis_password: RedisInfo, caplog: pytest.LogCaptureFixture
) -> None:
    assert redis_password.password is not None
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-" + redis_password.password[::-1]
    check = make_check(redis_password)

    observation = await observe(check, wrong)

    assert_failure(observation, FailureKind.AUTH)
    outcome, reason = judge(check, observation)
    assert outcome is Outcome.AUTH_FAILED
    for text in (observation.model_dump_json(), reason, caplog.text):
        assert wrong not in text
        assert redis_password.password not in text


async def test_requirepass_without_password(redis_password: RedisInfo) -> None:
    check = make_check(redis_password, password=False)
    observation = await observe(check)
    assert_failure(observation, FailureKind.AUTH)  # NOAUTH
    assert judge(check, observation)[0] is Outcome.AUTH_FAILED


async def test_acl_user(redis_acl: RedisInfo) -> None:
    observation = await observe(make_check(redis_acl), redis_acl.password)
    assert observation.failure is None
    assert observation.reply == "PONG"


async def test_acl_user_wrong_password(redis_acl: RedisInfo) -> None:
    observation = await observe(make_check(redis_acl), "not-the-password")
    assert_failure(observation, FailureKind.AUTH)  # WRONGPASS


async def test_tls_with_the_ca(redis_tls: RedisInfo) -> None:
    observation = await observe(make_check(redis_tls))
    assert observation.failure is None
    assert observation.reply == "PONG"
    assert observation.target.startswith("rediss://")


async def test_tls_with_the_wrong_ca(redis_tls: RedisInfo, tmp_path: Path) -> None:
    other_ca = make_tls_files(tmp_path).ca_file  # a CA that did not sign the server's certificate
    check = make_check(redis_tls, ca_file=str(other_ca))
    observation = await observe(check)
    assert_failure(observation, FailureKind.TLS)
    assert judge(check, observation)[0] is Outcome.TLS_ERROR


async def test_closed_port_is_refused(redis_plain: RedisInfo, closed_port: int) -> None:
    check = make_check(redis_plain, port=closed_port)
    observation = await observe(check)
    assert_failure(observation, FailureKind.REFUSED)
    assert judge(check, observation)[0] is Outcome.CONNECTION_REFUSED


# ------------------------------------------------------------------------------------------- fake servers


@dataclass
class FakeRedis:
    """A loopback server that reads RESP commands and answers each with `answer(command)` (None: silence)."""

    answer: Callable[[list[bytes]], bytes | None]
    commands: list[list[bytes]] = field(default_factory=list)
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ValueError):
            while (command := await read_command(reader)) is not None:
                self.commands.append(command)
                reply = self.answer(command)
                if reply is not None:
                    writer.write(reply)
                    await writer.drain()
        self.hung_up.set()  # the client closed its end
        writer.close()


async def read_command(reader: asyncio.StreamReader) -> list[bytes] | None:
    """One RESP array of bulk strings (what clients send), or None at end of stream."""
    header = await reader.readline()
    if not header:
        return None
    parts = []
    for _ in range(int(header[1:])):
        size = int((await reader.readline())[1:])
        parts.append((await reader.readexactly(size + 2))[:-2])
    return parts


@contextlib.asynccontextmanager
async def fake_redis(answer: Callable[[list[bytes]], bytes | None]) -> AsyncIterator[tuple[FakeRedis, int]]:
    fake = FakeRedis(answer)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    try:
        yield fake, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def fake_check(port: int, timeout: float = TIMEOUT) -> RedisCheck:
    return make_check(RedisInfo(host="127.0.0.1", port=port), timeout=timeout)


def handshake_then(ping_reply: bytes) -> Callable[[list[bytes]], bytes]:
    """Answers the client's connection set-up (HELLO, CLIENT ...) like Redis, and PING with `ping_reply`."""

    def answer(command: list[bytes]) -> bytes:
        name = command[0].upper()
        if name == b"HELLO":
            return b"%1\r\n$5\r\nproto\r\n:3\r\n"
        if name == b"PING":
            return ping_reply
        return b"+OK\r\n"

    return answer


async def test_server_that_never_answers_times_out() -> None:
    async with fake_redis(lambda command: None) as (fake, port):
        check = fake_check(port, timeout=0.5)
        observation = await observe(check)
        await asyncio.wait_for(fake.hung_up.wait(), GUARD)  # the client was closed, not abandoned
    assert_failure(observation, FailureKind.TIMEOUT)
    assert judge(check, observation)[0] is Outcome.TIMEOUT


async def test_loading_server() -> None:
    async with fake_redis(lambda command: b"-LOADING Redis is loading the dataset in memory\r\n") as (
        fake,
        port,
    ):
        check = fake_check(port)
        observation = await observe(check)
        await asyncio.wait_for(fake.hung_up.wait(), GUARD)
    assert_failure(observation, FailureKind.LOADING)
    outcome, reason = judge(check, observation)
    assert outcome is Outcome.LOADING
    assert reason.startswith(f"Redis at 127.0.0.1:{port} is loading its dataset")


async def test_loading_answer_to_ping_after_a_normal_handshake() -> None:
    loading = b"-LOADING Redis is loading the dataset in memory\r\n"
    async with fake_redis(handshake_then(loading)) as (fake, port):
        observation = await observe(fake_check(port))
    assert [b"PING"] in fake.commands
    assert_failure(observation, FailureKind.LOADING)


async def test_garbage_is_a_protocol_error() -> None:
    async with fake_redis(lambda command: b"HTTP/1.1 400 Bad Request\r\n\r\n") as (fake, port):
        check = fake_check(port)
        observation = await observe(check)
        await asyncio.wait_for(fake.hung_up.wait(), GUARD)
    assert_failure(observation, FailureKind.PROTOCOL)
    assert judge(check, observation)[0] is Outcome.UNEXPECTED_REPLY


async def test_ping_answered_with_something_else() -> None:
    async with fake_redis(handshake_then(b"+NOPE\r\n")) as (_, port):
        check = fake_check(port)
        observation = await observe(check)
    assert observation.failure is None
    assert observation.reply == "NOPE"
    assert judge(check, observation) == (
        Outcome.UNEXPECTED_REPLY,
        f"Redis at 127.0.0.1:{port} answered PING with 'NOPE' instead of PONG",
    )


async def test_ping_answered_with_an_error() -> None:
    async with fake_redis(handshake_then(b"-ERR unknown command 'PING'\r\n")) as (_, port):
        observation = await observe(fake_check(port))
    assert_failure(observation, FailureKind.PROTOCOL)


async def test_client_is_closed_after_a_pong() -> None:
    # After an answer the client keeps its connection for reuse. Left to the garbage collector it would
    # still be closed, but with a ResourceWarning ("unclosed Connection / transport"): there must be none.
    async with fake_redis(handshake_then(b"+PONG\r\n")) as (fake, port):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            observation = await observe(fake_check(port))
            gc.collect()
        await asyncio.wait_for(fake.hung_up.wait(), GUARD)
    assert observation.reply == "PONG"
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []

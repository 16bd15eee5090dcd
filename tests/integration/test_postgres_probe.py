"""PostgresProbe against real, throwaway PostgreSQL servers (and a TCP server that never answers)."""

import asyncio
import contextlib
import logging
import os
import pwd
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.postgres import PostgresProbe
from runbook.models.config import PostgresCheck, ProbeSettings
from runbook.models.observations import FailureKind, PostgresObservation
from runbook.models.results import Outcome
from runbook.models.secrets import SecretsManagerRef
from runbook.models.state import CheckState
from runbook.services.conditions import postgres as condition
from tests.support.postgres_server import PostgresInfo, PostgresServer, find_postgres_bindir
from tests.support.processes import ServiceUnavailable
from tests.support.redis_server import make_tls_files
from tests.support.secrets import StaticSecrets

PASSWORD_REF = SecretsManagerRef(secret="runbook/postgres", key="password")
# Far above what any step takes on a loaded machine; only the "never answers" tests wait for a timeout.
TIMEOUT = 10.0
GUARD = 30.0  # outer bound of a test that waits for the probe's own timeout


def make_check(info: PostgresInfo, **overrides: object) -> PostgresCheck:
    fields: dict[str, object] = {
        "kind": "postgres",
        "name": "main-db",
        "host": info.host,
        "port": info.port,
        "dbname": info.dbname,
        "user": info.user,
        "password": {"secret": PASSWORD_REF.secret, "key": PASSWORD_REF.key},
        "timeout": TIMEOUT,
    }
    fields.update(overrides)
    return PostgresCheck.model_validate(fields)


def make_env(password: str | None) -> ProbeEnvironment:
    secrets = StaticSecrets({PASSWORD_REF: password} if password is not None else {})
    return ProbeEnvironment(settings=ProbeSettings(), secrets=secrets)


async def observe(check: PostgresCheck, password: str | None) -> PostgresObservation:
    async with asyncio.timeout(GUARD):
        return await PostgresProbe().observe(check, make_env(password))


def judge(check: PostgresCheck, observation: PostgresObservation) -> tuple[Outcome, str]:
    result = condition.evaluate(check, observation, CheckState(check=check.name))
    return result.outcome, result.reason


# --------------------------------------------------------------------------------------------- accepting


async def test_accepting_server(postgres_server: PostgresInfo) -> None:
    check = make_check(postgres_server)
    observation = await observe(check, postgres_server.password)

    assert observation.failure is None
    assert observation.server_state == "accepting"
    assert observation.target == f"{postgres_server.host}:{postgres_server.port}/{postgres_server.dbname}"
    with postgres_server.superuser_connect() as conn:
        row = conn.execute("SHOW server_version").fetchone()
    assert row is not None
    assert observation.server_version == row[0]
    assert judge(check, observation)[0] is Outcome.OK


async def test_application_name_is_visible_to_the_server(postgres_server: PostgresInfo) -> None:
    # The query runs inside the probe's own session, so it sees the probe's application_name.
    check = make_check(
        postgres_server,
        query="DO $$ BEGIN IF current_setting('application_name') <> 'runbook-probe' "
        "THEN RAISE EXCEPTION 'wrong application_name'; END IF; END $$",
    )
    observation = await observe(check, postgres_server.password)
    assert observation.failure is None
    assert observation.query_ran


# ---------------------------------------------------------------------------------------------- credentials


async def test_wrong_password_is_bad_credentials_and_never_shown(
    postgres_server: PostgresInfo, caplog: pytest.LogCaptureFixture
) -> None:
    if not postgres_server.password_auth_enforced:
        pytest.skip("the external server lets a wrong password in (trust auth)")
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-" + postgres_server.password[::-1]
    check = make_check(postgres_server)

    observation = await observe(check, wrong)
    outcome, reason = judge(check, observation)

    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.AUTH
    assert "(28P01)" in observation.failure.message
    assert observation.server_state == "accepting"  # as pg_isready says: the server is up
    assert outcome is Outcome.BAD_CREDENTIALS
    for text in (observation.model_dump_json(), reason, caplog.text):
        assert wrong not in text
        assert postgres_server.password not in text


async def test_no_password_configured_is_bad_credentials(postgres_server: PostgresInfo) -> None:
    check = make_check(postgres_server, password=None)
    observation = await observe(check, None)
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.AUTH
    assert judge(check, observation)[0] is Outcome.BAD_CREDENTIALS


async def test_missing_database_is_a_connection_error(postgres_server: PostgresInfo) -> None:
    check = make_check(postgres_server, dbname="no_such_database_here")
    observation = await observe(check, postgres_server.password)
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.OTHER
    assert "(3D000)" in observation.failure.message
    assert judge(check, observation)[0] is Outcome.CONNECTION_ERROR


# ---------------------------------------------------------------------------------------------- no response


async def test_stopped_server_is_no_response(stoppable_postgres: PostgresServer) -> None:
    info = stoppable_postgres.info
    stoppable_postgres.stop()
    check = make_check(info)

    observation = await observe(check, info.password)

    assert observation.server_state == "no_response"
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.REFUSED
    outcome, reason = judge(check, observation)
    assert outcome is Outcome.NO_RESPONSE
    assert reason == f"PostgreSQL at {info.host}:{info.port} is not responding: connection refused"


async def test_closed_port_is_no_response(postgres_server: PostgresInfo, closed_port: int) -> None:
    check = make_check(postgres_server, port=closed_port)
    observation = await observe(check, postgres_server.password)
    assert observation.server_state == "no_response"
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.REFUSED
    assert judge(check, observation)[0] is Outcome.NO_RESPONSE


@dataclass
class SilentServer:
    """Accepts connections and never answers; counts connections and the ones the client hung up."""

    accepted: int = 0
    hung_up: int = 0
    all_closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.all_closed.clear()
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass
        self.hung_up += 1
        if self.hung_up == self.accepted:
            self.all_closed.set()
        writer.close()


@contextlib.asynccontextmanager
async def silent_tcp_server() -> AsyncIterator[tuple[SilentServer, int]]:
    silent = SilentServer()
    server = await asyncio.start_server(silent.handle, "127.0.0.1", 0)
    try:
        yield silent, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_server_that_never_answers_times_out(postgres_server: PostgresInfo) -> None:
    async with silent_tcp_server() as (silent, port):
        check = make_check(postgres_server, port=port, timeout=0.5)
        observation = await observe(check, postgres_server.password)
        # Every connection the probe opened was closed, none left open.
        await asyncio.wait_for(silent.all_closed.wait(), GUARD)
        assert silent.accepted >= 1

    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.TIMEOUT
    assert "while waiting for the server to answer" in observation.failure.message
    assert observation.server_state == "no_response"
    assert judge(check, observation)[0] is Outcome.TIMEOUT


# ------------------------------------------------------------------------------------------------ queries


async def test_query_ok(postgres_server: PostgresInfo) -> None:
    check = make_check(postgres_server, query="select 1")
    observation = await observe(check, postgres_server.password)
    assert observation.failure is None
    assert observation.query_ran
    outcome, reason = judge(check, observation)
    assert outcome is Outcome.OK
    assert "query ran" in reason


async def test_query_error_reports_sqlstate_without_data(postgres_server: PostgresInfo) -> None:
    check = make_check(postgres_server, query="select * from no_such_table")
    observation = await observe(check, postgres_server.password)
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.QUERY
    assert observation.failure.message == 'relation "no_such_table" does not exist (42P01)'
    assert not observation.query_ran
    assert observation.server_state == "accepting"
    assert judge(check, observation)[0] is Outcome.QUERY_FAILED


async def test_query_error_detail_is_not_reported(postgres_server: PostgresInfo) -> None:
    # A unique violation carries the duplicated value in DETAIL only; the probe reports the primary message.
    query = (
        "create temp table t (v text primary key); "
        "insert into t values ('value-that-must-not-leak'), ('value-that-must-not-leak')"
    )
    check = make_check(postgres_server, query=query)
    observation = await observe(check, postgres_server.password)
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.QUERY
    assert "(23505)" in observation.failure.message
    assert "value-that-must-not-leak" not in observation.model_dump_json()


async def test_slow_query_is_cancelled_by_the_server(postgres_server: PostgresInfo) -> None:
    check = make_check(postgres_server, query="select pg_sleep(60)", timeout=1.0)
    observation = await observe(check, postgres_server.password)
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.TIMEOUT
    assert observation.server_state == "accepting"
    assert judge(check, observation)[0] is Outcome.TIMEOUT
    # statement_timeout ends the sleep on the server too, long before its 60 seconds (a closed client
    # alone would not stop it: the server notices only when it next writes).
    deadline = time.monotonic() + GUARD
    with postgres_server.superuser_connect() as conn:
        while True:
            row = conn.execute(
                "select count(*) from pg_stat_activity where application_name = 'runbook-probe' "
                "and query like '%pg_sleep(60)%' and state = 'active'"
            ).fetchone()
            if row == (0,):
                break
            assert time.monotonic() < deadline, "the probe's query kept running on the server"
            time.sleep(0.05)


# ---------------------------------------------------------------------------------------------- rejecting


async def test_full_server_is_rejecting(stoppable_postgres: PostgresServer) -> None:
    info = stoppable_postgres.info
    held: list[psycopg.Connection[tuple[object, ...]]] = []
    try:
        # Take every slot an ordinary role may have; the next login gets 53300.
        for _ in range(200):
            try:
                held.append(info.connect())
            except psycopg.OperationalError:
                break
        else:
            pytest.fail("the server never ran out of connection slots")
        check = make_check(info)
        observation = await observe(check, info.password)
    finally:
        for conn in held:
            conn.close()

    assert observation.server_state == "rejecting"
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.REJECTING
    assert observation.failure.message.endswith("(53300)")
    outcome, reason = judge(check, observation)
    assert outcome is Outcome.REJECTING
    assert reason.startswith(f"PostgreSQL at {info.host}:{info.port} is not accepting connections: ")


async def test_shutting_down_server_is_rejecting(stoppable_postgres: PostgresServer) -> None:
    info = stoppable_postgres.info
    assert stoppable_postgres.process is not None
    with info.superuser_connect():
        # A "smart" shutdown waits for this session to end and turns new sessions away meanwhile (57P03).
        stoppable_postgres.process.popen.send_signal(signal.SIGTERM)
        wait_until_connections_fail(info)
        check = make_check(info)
        observation = await observe(check, info.password)

    assert observation.server_state == "rejecting"
    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.REJECTING
    assert observation.failure.message == "the database system is shutting down (57P03)"
    outcome, reason = judge(check, observation)
    assert outcome is Outcome.REJECTING
    assert reason == (
        f"PostgreSQL at {info.host}:{info.port} is not accepting connections: "
        "the database system is shutting down (57P03)"
    )


def wait_until_connections_fail(info: PostgresInfo, timeout: float = GUARD) -> None:
    """The postmaster handles the signal asynchronously: wait until it turns a new session away."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info.connect(connect_timeout=5).close()
        except psycopg.OperationalError:
            return
        time.sleep(0.05)
    pytest.fail("the server kept accepting sessions after SIGTERM")


# ---------------------------------------------------------------------------------------------------- TLS


async def test_tls_required_but_server_has_none(postgres_server: PostgresInfo) -> None:
    with postgres_server.superuser_connect() as conn:
        row = conn.execute("SHOW ssl").fetchone()
    if row != ("off",):
        pytest.skip("this server has TLS enabled")
    check = make_check(postgres_server, sslmode="require")

    observation = await observe(check, postgres_server.password)

    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.TLS
    assert observation.failure.message == "the server does not offer TLS, but sslmode is require"
    outcome, reason = judge(check, observation)
    assert outcome is Outcome.TLS_ERROR
    assert "does not offer TLS" in reason


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[tuple[PostgresInfo, Path]]:
    """A throwaway server with TLS on (certificate for 127.0.0.1 from a trustme CA) and that CA's PEM."""
    bindir = find_postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found")
    # The server runs as the `postgres` user when the tests run as root: it must be able to read the files.
    directory = Path(tempfile.mkdtemp(prefix="runbook-pg-tls-"))
    directory.chmod(0o755)
    try:
        files = make_tls_files(directory)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (files.cert_file, files.key_file):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        settings = {"ssl": "on", "ssl_cert_file": str(files.cert_file), "ssl_key_file": str(files.key_file)}
        try:
            server = PostgresServer(bindir, extra_settings=settings)
        except ServiceUnavailable as exc:
            pytest.skip(str(exc))
        with server as info:
            yield info, files.ca_file
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def test_tls_verify_full_with_the_right_ca(tls_postgres: tuple[PostgresInfo, Path]) -> None:
    info, ca_file = tls_postgres
    check = make_check(info, sslmode="verify-full", sslrootcert=str(ca_file), query="select 1")
    observation = await observe(check, info.password)
    assert observation.failure is None
    assert observation.query_ran


async def test_tls_verify_full_with_the_wrong_ca(
    tls_postgres: tuple[PostgresInfo, Path], tmp_path: Path
) -> None:
    info, _ = tls_postgres
    other_ca = make_tls_files(tmp_path).ca_file  # a CA that did not sign the server's certificate
    check = make_check(info, sslmode="verify-full", sslrootcert=str(other_ca))

    observation = await observe(check, info.password)

    assert observation.failure is not None
    assert observation.failure.kind is FailureKind.TLS
    assert "certificate" in observation.failure.message
    assert judge(check, observation)[0] is Outcome.TLS_ERROR


def test_observed_at_comes_from_the_environment_clock(
    postgres_server: PostgresInfo, closed_port: int
) -> None:
    fixed = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    env = make_env(postgres_server.password)
    env.now = lambda: fixed
    check = make_check(postgres_server, port=closed_port)
    observation = asyncio.run(PostgresProbe().observe(check, env))
    assert observation.observed_at == fixed

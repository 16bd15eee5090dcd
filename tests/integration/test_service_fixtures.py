"""The service fixtures give real, throwaway, isolated PostgreSQL and Redis servers."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import psycopg
import pytest
import redis

from tests.support.postgres_server import PostgresInfo, PostgresServer
from tests.support.redis_server import RedisInfo, RedisServer

# ----------------------------------------------------------------------------------------------- PostgreSQL


def test_postgres_connects_as_the_app_role(postgres_server: PostgresInfo) -> None:
    with psycopg.connect(postgres_server.dsn()) as conn:
        row = conn.execute("SELECT current_user, current_database(), inet_server_port()").fetchone()
    assert row == (postgres_server.user, postgres_server.dbname, postgres_server.port)

    with psycopg.connect(postgres_server.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_postgres_is_a_throwaway_server(postgres_server: PostgresInfo) -> None:
    if not postgres_server.managed:
        pytest.skip("server comes from RUNBOOK_TEST_POSTGRES_DSN")
    assert postgres_server.port != 5432
    with postgres_server.superuser_connect() as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    assert "runbook-pg-" in str(row[0])


def test_postgres_wrong_password_is_an_auth_failure(postgres_server: PostgresInfo) -> None:
    if not postgres_server.password_auth_enforced:
        pytest.skip("the RUNBOOK_TEST_POSTGRES_DSN server does not check passwords (trust auth)")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed") as excinfo:
        psycopg.connect(postgres_server.dsn(password="not-the-password"))
    assert excinfo.value.sqlstate in (None, "28P01")


def test_postgres_unknown_database(postgres_server: PostgresInfo) -> None:
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(postgres_server.dsn(dbname="no_such_database"))


def test_postgres_role_factory_and_superuser_can_terminate(
    postgres_server: PostgresInfo, postgres_role_factory: Callable[..., PostgresInfo]
) -> None:
    other = postgres_role_factory()
    assert other.user != postgres_server.user
    conn = psycopg.connect(other.dsn(), autocommit=True)
    try:
        assert conn.execute("SELECT current_user").fetchone() == (other.user,)
        assert postgres_server.terminate_backends(user=other.user) == 1
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()

    nologin = postgres_role_factory(login=False)
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        psycopg.connect(nologin.dsn())


def test_postgres_factory_roles_are_dropped(postgres_server: PostgresInfo) -> None:
    with postgres_server.superuser_connect() as conn:
        leftovers = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'runbook_role%'").fetchall()
    assert leftovers == []


def test_stoppable_postgres_can_be_stopped(stoppable_postgres: PostgresServer) -> None:
    info = stoppable_postgres.info
    with psycopg.connect(info.dsn()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    stoppable_postgres.stop()

    assert not stoppable_postgres.running
    with pytest.raises(psycopg.OperationalError, match="refused"):
        psycopg.connect(info.dsn(connect_timeout=2))


def test_stopping_under_a_live_connection(stoppable_postgres: PostgresServer) -> None:
    conn = psycopg.connect(stoppable_postgres.info.dsn(), autocommit=True)
    try:
        stoppable_postgres.stop(mode="fast")
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()


def test_closed_port_refuses_connections(closed_port: int) -> None:
    with pytest.raises(psycopg.OperationalError, match="refused"):
        psycopg.connect(
            host="127.0.0.1", port=closed_port, user="x", password="y", dbname="z", connect_timeout=2
        )
    with pytest.raises(redis.ConnectionError), RedisInfo("127.0.0.1", closed_port).client() as client:
        client.ping()


# ----------------------------------------------------------------------------------------------------- Redis


def test_redis_plain_ping_and_roundtrip(redis_plain: RedisInfo) -> None:
    with redis_plain.client() as client:
        assert client.ping() is True
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
    with redis.Redis.from_url(redis_plain.url()) as client:
        assert client.get("greeting") == b"hello"


@pytest.mark.parametrize("attempt", [1, 2])
def test_redis_tests_do_not_see_each_others_keys(redis_plain: RedisInfo, attempt: int) -> None:
    with redis_plain.client() as client:
        assert client.dbsize() == 0
        client.set(f"leftover-{attempt}", "x")


def test_redis_password_required(redis_password: RedisInfo) -> None:
    assert redis_password.password
    assert redis_password.username is None
    with redis_password.client() as client:
        assert client.ping() is True
    with redis.Redis.from_url(redis_password.url()) as client:
        assert client.ping() is True
    with pytest.raises(redis.AuthenticationError), redis_password.client(password="wrong") as client:
        client.ping()
    with pytest.raises(redis.AuthenticationError), redis_password.client(password=None) as client:
        client.ping()


def test_redis_acl_user(redis_acl: RedisInfo) -> None:
    assert redis_acl.username
    assert redis_acl.password
    with redis_acl.client() as client:
        assert client.ping() is True
        assert client.acl_whoami() == redis_acl.username
    with pytest.raises(redis.AuthenticationError), redis_acl.client(password="wrong") as client:
        client.ping()
    with pytest.raises(redis.AuthenticationError), redis_acl.client(username="nobody") as client:
        client.ping()


def test_redis_acl_default_user_is_disabled(redis_acl: RedisInfo) -> None:
    if not redis_acl.managed:
        pytest.skip("the RUNBOOK_TEST_REDIS_URL server's default user is not ours to configure")
    with pytest.raises(redis.AuthenticationError), redis_acl.client(username=None, password=None) as client:
        client.ping()


def test_redis_tls_with_ca(redis_tls: RedisInfo) -> None:
    assert redis_tls.tls
    assert redis_tls.ca_file is not None
    assert redis_tls.ca_file.is_file()
    with redis_tls.client() as client:
        assert client.ping() is True
    with redis.Redis.from_url(redis_tls.url()) as client:
        assert client.ping() is True
    with redis.Redis(
        host=redis_tls.host,
        port=redis_tls.port,
        ssl=True,
        ssl_ca_certs=str(redis_tls.ca_file),
        ssl_check_hostname=True,
    ) as client:
        assert client.ping() is True
    context = ssl.create_default_context(cafile=str(redis_tls.ca_file))
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_redis_tls_rejects_untrusted_and_plaintext(redis_tls: RedisInfo) -> None:
    # No CA given: the system trust store does not know the throwaway CA.
    with (
        pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"),
        redis_tls.client(ssl_ca_certs=None) as client,
    ):
        client.ping()
    with pytest.raises(redis.ConnectionError), redis_tls.client(ssl=False, socket_timeout=2) as client:
        client.ping()


def test_stoppable_redis_can_be_stopped(stoppable_redis: RedisServer) -> None:
    info = stoppable_redis.info
    with info.client() as client:
        assert client.ping() is True
    stoppable_redis.stop()
    assert not stoppable_redis.running
    with pytest.raises(redis.ConnectionError), info.client(socket_connect_timeout=2) as client:
        client.ping()

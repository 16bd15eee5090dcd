"""Pytest fixtures for real, throwaway PostgreSQL and Redis servers (registered in tests/conftest.py).

PostgreSQL
    ``postgres_server`` (session): :class:`PostgresInfo` for a LOGIN role owning its own database, on a
    throwaway server (or on ``RUNBOOK_TEST_POSTGRES_DSN``). ``postgres_role_factory`` (function): creates
    extra roles, dropped after the test. ``stoppable_postgres`` (function): a separate short-lived
    :class:`PostgresServer` the test may ``.stop()``.
Redis
    ``redis_plain_server`` / ``redis_password_server`` / ``redis_acl_server`` / ``redis_tls_server``
    (session): :class:`RedisInfo` for each variant (or ``RUNBOOK_TEST_REDIS_URL`` where it can serve the
    variant). ``redis_plain`` / ``redis_password`` / ``redis_acl`` / ``redis_tls`` (function): the same,
    flushed first so no test sees another's keys. ``stoppable_redis`` (function): a separate
    :class:`RedisServer` the test may ``.stop()``.
Other
    ``closed_port`` (function): a 127.0.0.1 port with nothing listening.

Servers start lazily, on first use. When a server can be neither started nor taken from the environment, the
tests using it are skipped with the reason (what to install / which variable to set).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.postgres_server import (
    ExternalPostgres,
    PostgresInfo,
    PostgresServer,
    ServiceUnavailable,
    create_login_role,
    drop_role,
    free_port,
    local_postgres_server,
    postgres_provider,
)
from tests.support.redis_server import (
    ExternalRedis,
    RedisInfo,
    RedisServer,
    RedisVariant,
    flush,
    local_redis_server,
    redis_provider,
)

__all__ = [
    "closed_port",
    "postgres_role_factory",
    "postgres_server",
    "redis_acl",
    "redis_acl_server",
    "redis_password",
    "redis_password_server",
    "redis_plain",
    "redis_plain_server",
    "redis_tls",
    "redis_tls_server",
    "stoppable_postgres",
    "stoppable_redis",
]

# ----------------------------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresInfo]:
    """The session's PostgreSQL: role ``info.user`` / ``info.password`` owning ``info.dbname``."""
    try:
        provider: PostgresServer | ExternalPostgres = postgres_provider()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    with provider as info:
        yield info


@pytest.fixture
def postgres_role_factory(postgres_server: PostgresInfo) -> Iterator[Callable[..., PostgresInfo]]:
    """``make_role(name=None, password=None, *, login=True) -> PostgresInfo`` for a new role that may CONNECT
    to the test database; every role made is dropped (sessions terminated) after the test."""
    made: list[str] = []

    def make_role(
        name: str | None = None, password: str | None = None, *, login: bool = True
    ) -> PostgresInfo:
        info = create_login_role(postgres_server, name, password, login=login)
        made.append(info.user)
        return info

    try:
        yield make_role
    finally:
        for name in reversed(made):
            drop_role(postgres_server, name)


@pytest.fixture
def stoppable_postgres() -> Iterator[PostgresServer]:
    """A separate, already started throwaway server (``.info``, ``.stop(mode=...)``, ``.running``).

    Needs the local binaries even when ``RUNBOOK_TEST_POSTGRES_DSN`` is set (that server must not be stopped).
    """
    try:
        server = local_postgres_server()
    except ServiceUnavailable as exc:
        pytest.skip(
            "stoppable_postgres needs a locally started server (a RUNBOOK_TEST_POSTGRES_DSN server is not "
            f"ours to stop): {str(exc).split('; ')[0]}; "
            "install them (Debian/Ubuntu: `apt install postgresql`)"
        )
    with server:
        yield server


# ----------------------------------------------------------------------------------------------------- Redis


def _redis_session(variant: RedisVariant) -> Iterator[RedisInfo]:
    try:
        provider: RedisServer | ExternalRedis = redis_provider(variant)
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    try:
        info = provider.__enter__()
    except ServiceUnavailable as exc:  # e.g. redis-server built without TLS
        pytest.skip(str(exc))
    try:
        yield info
    finally:
        provider.cleanup()


@pytest.fixture(scope="session")
def redis_plain_server() -> Iterator[RedisInfo]:
    """No authentication. Session-wide: keys persist between tests; prefer ``redis_plain``."""
    yield from _redis_session(RedisVariant.PLAIN)


@pytest.fixture(scope="session")
def redis_password_server() -> Iterator[RedisInfo]:
    """``requirepass``: ``info.password`` set, ``info.username`` None."""
    yield from _redis_session(RedisVariant.PASSWORD)


@pytest.fixture(scope="session")
def redis_acl_server() -> Iterator[RedisInfo]:
    """ACL user ``info.username`` / ``info.password`` (``+@all``); the ``default`` user is disabled."""
    yield from _redis_session(RedisVariant.ACL)


@pytest.fixture(scope="session")
def redis_tls_server() -> Iterator[RedisInfo]:
    """TLS only, no auth: ``info.tls`` is True, ``info.ca_file`` is the CA PEM that verifies the server."""
    yield from _redis_session(RedisVariant.TLS)


@pytest.fixture
def redis_plain(redis_plain_server: RedisInfo) -> RedisInfo:
    return flush(redis_plain_server)


@pytest.fixture
def redis_password(redis_password_server: RedisInfo) -> RedisInfo:
    return flush(redis_password_server)


@pytest.fixture
def redis_acl(redis_acl_server: RedisInfo) -> RedisInfo:
    return flush(redis_acl_server)


@pytest.fixture
def redis_tls(redis_tls_server: RedisInfo) -> RedisInfo:
    return flush(redis_tls_server)


@pytest.fixture
def stoppable_redis() -> Iterator[RedisServer]:
    """A separate, already started plain ``redis-server`` (``.info``, ``.stop()``, ``.running``)."""
    try:
        server = local_redis_server(RedisVariant.PLAIN)
    except ServiceUnavailable:
        pytest.skip(
            "stoppable_redis needs a locally started redis-server (a RUNBOOK_TEST_REDIS_URL server is not "
            "ours to stop); install it (Debian/Ubuntu: `apt install redis-server`)"
        )
    with server:
        yield server


# ----------------------------------------------------------------------------------------------------- Other


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    return free_port()

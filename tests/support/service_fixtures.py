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
from typing import Any

import pytest

from tests.support.postgres_server import (
    ExternalPostgres,
    PostgresInfo,
    PostgresServer,
    create_login_role,
    drop_role,
    local_postgres_server,
    postgres_provider,
)
from tests.support.processes import ServiceUnavailable, free_port
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


def _redis_fixtures(variant: RedisVariant, doc: str) -> tuple[Any, Any]:
    """The fixtures of one variant: ``redis_<variant>_server`` (session; documented by ``doc``) and
    ``redis_<variant>`` (function): the same server, flushed first so no test sees another's keys."""
    server_fixture = f"redis_{variant.value}_server"

    def server() -> Iterator[RedisInfo]:
        yield from _redis_session(variant)

    def flushed(request: pytest.FixtureRequest) -> RedisInfo:
        """The session's server of this variant, flushed first: no test sees another's keys."""
        return flush(request.getfixturevalue(server_fixture))

    server.__doc__ = doc
    return (
        pytest.fixture(scope="session", name=server_fixture)(server),
        pytest.fixture(name=f"redis_{variant.value}")(flushed),
    )


redis_plain_server, redis_plain = _redis_fixtures(
    RedisVariant.PLAIN, "No authentication. Session-wide: keys persist between tests; prefer ``redis_plain``."
)
redis_password_server, redis_password = _redis_fixtures(
    RedisVariant.PASSWORD, "``requirepass``: ``info.password`` set, ``info.username`` None."
)
redis_acl_server, redis_acl = _redis_fixtures(
    RedisVariant.ACL,
    "ACL user ``info.username`` / ``info.password`` (``+@all``); the ``default`` user is disabled.",
)
redis_tls_server, redis_tls = _redis_fixtures(
    RedisVariant.TLS,
    "TLS only, no auth: ``info.tls`` is True, ``info.ca_file`` is the CA PEM that verifies the server.",
)


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

"""Throwaway ``redis-server`` processes for the test suite.

:class:`RedisServer` starts one server (no persistence, 127.0.0.1, free port) in one of four variants,
described by :class:`RedisVariant`: no auth, ``requirepass``, an ACL user (the default user disabled), or
TLS only (certificates from ``trustme``). :class:`ExternalRedis` serves what it can from a server given by
``RUNBOOK_TEST_REDIS_URL`` instead.
"""

from __future__ import annotations

import enum
import os
import shutil
import signal
import ssl
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.processes import (
    LOCALHOST,
    LocalServer,
    ManagedProcess,
    ServiceProvider,
    ServiceStartError,
    ServiceUnavailable,
    free_port,
    log_tail,
    new_password,
    register_cleanup,
    unique_name,
    unregister_cleanup,
    wait_until_ready,
)

REDIS_URL_ENV = "RUNBOOK_TEST_REDIS_URL"
REDIS_INSTALL_HINT = (
    "install redis-server (Debian/Ubuntu: `apt install redis-server`) "
    f"or set {REDIS_URL_ENV} to the URL of a Redis server the tests may flush"
)


class RedisVariant(enum.Enum):
    PLAIN = "plain"
    PASSWORD = "password"  # requirepass: AUTH <password> as the default user
    ACL = "acl"  # ACL user with a password; the default user is disabled
    TLS = "tls"  # TLS only (port 0 + tls-port), no auth


@dataclass(frozen=True)
class RedisInfo:
    """How to reach a test Redis. ``client(**overrides)`` gives a ``redis.Redis``; ``url()`` the URL form.

    ``username``/``password`` are ``None`` when the server needs none; ``ca_file`` is the CA (PEM) that signed
    the server certificate when ``tls`` is true.
    """

    host: str
    port: int
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None
    managed: bool = True
    """True when the fixtures started this server (False: it comes from ``RUNBOOK_TEST_REDIS_URL``)."""

    def client_kwargs(self, **overrides: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "db": self.db,
            "username": self.username,
            "password": self.password,
            "socket_connect_timeout": 5,
            "socket_timeout": 5,
            # redis-py >= 6 retries 3 times with exponential backoff by default: failure tests would take
            # seconds, and the readiness poll would oversleep. Tests want the first answer.
            "retry": Retry(NoBackoff(), 0),
        }
        if self.tls:
            kwargs["ssl"] = True
            kwargs["ssl_ca_certs"] = str(self.ca_file) if self.ca_file else None
        kwargs.update(overrides)
        return kwargs

    def client(self, **overrides: Any) -> redis.Redis:
        return redis.Redis(**self.client_kwargs(**overrides))

    def url(self, *, db: int | None = None, username: str | None = None, password: str | None = None) -> str:
        """``redis://`` / ``rediss://`` URL (``ssl_ca_certs=`` for TLS), usable with ``Redis.from_url``."""
        username = self.username if username is None else username
        password = self.password if password is None else password
        auth = ""
        if username or password:
            auth = f"{quote(username or '', safe='')}:{quote(password or '', safe='')}@"
        scheme = "rediss" if self.tls else "redis"
        query = f"?{urlencode({'ssl_ca_certs': str(self.ca_file)})}" if self.tls and self.ca_file else ""
        return f"{scheme}://{auth}{self.host}:{self.port}/{self.db if db is None else db}{query}"

    def with_credentials(self, username: str | None, password: str | None) -> RedisInfo:
        return replace(self, username=username, password=password)


def find_redis_server() -> Path | None:
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    for candidate in (
        Path("/usr/bin/redis-server"),
        Path("/usr/sbin/redis-server"),
        Path("/usr/local/bin/redis-server"),
    ):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A fresh CA and a server certificate for 127.0.0.1 / localhost / ::1, written as PEM files."""
    import trustme  # a dev dependency; imported here so that plain tests do not need it

    ca = trustme.CA()
    leaf = ca.issue_cert(LOCALHOST, "localhost", "::1")
    files = TlsFiles(directory / "ca.pem", directory / "server.crt", directory / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_file))
    files.cert_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(files.key_file))
    files.key_file.chmod(0o600)
    return files


class RedisServer(LocalServer[RedisInfo]):
    """One throwaway ``redis-server``. Context manager, or :meth:`start` + (always) :meth:`cleanup`."""

    START_TIMEOUT = 15.0
    PORT_ATTEMPTS = 3
    ACL_USER = "probe"

    def __init__(self, binary: Path, variant: RedisVariant = RedisVariant.PLAIN) -> None:
        self.binary = binary
        self.variant = variant
        self.password = new_password() if variant in (RedisVariant.PASSWORD, RedisVariant.ACL) else None
        self.base_dir: Path | None = None
        self.process: ManagedProcess | None = None
        self.tls_files: TlsFiles | None = None
        self._info: RedisInfo | None = None

    def _config(self, port: int) -> str:
        assert self.base_dir is not None
        lines = [
            f"bind {LOCALHOST}",
            "daemonize no",
            'save ""',
            "appendonly no",
            f'dir "{self.base_dir}"',
            'logfile ""',
            "loglevel notice",
            "databases 16",
        ]
        if self.variant is RedisVariant.TLS:
            assert self.tls_files is not None
            lines += [
                "port 0",
                f"tls-port {port}",
                f'tls-cert-file "{self.tls_files.cert_file}"',
                f'tls-key-file "{self.tls_files.key_file}"',
                f'tls-ca-cert-file "{self.tls_files.ca_file}"',
                "tls-auth-clients no",
            ]
        else:
            lines.append(f"port {port}")
        if self.variant is RedisVariant.PASSWORD:
            lines.append(f'requirepass "{self.password}"')
        elif self.variant is RedisVariant.ACL:
            lines += ["user default off", f"user {self.ACL_USER} on >{self.password} ~* &* +@all"]
        return "\n".join(lines) + "\n"

    def _info_for(self, port: int) -> RedisInfo:
        return RedisInfo(
            host=LOCALHOST,
            port=port,
            username=self.ACL_USER if self.variant is RedisVariant.ACL else None,
            password=self.password,
            tls=self.variant is RedisVariant.TLS,
            ca_file=self.tls_files.ca_file if self.tls_files else None,
        )

    def start(self) -> RedisInfo:
        if self._info is not None:
            return self._info
        self.base_dir = Path(tempfile.mkdtemp(prefix=f"runbook-redis-{self.variant.value}-"))
        register_cleanup(self, self.cleanup)
        if self.variant is RedisVariant.TLS:
            self.tls_files = make_tls_files(self.base_dir)
        conf = self.base_dir / "redis.conf"
        log_path = self.base_dir / "redis.log"
        for attempt in range(1, self.PORT_ATTEMPTS + 1):
            port = free_port()
            conf.write_text(self._config(port))
            conf.chmod(0o600)
            self.process = ManagedProcess(
                [str(self.binary), str(conf)],
                log_path=log_path,
                cwd=self.base_dir,
                stop_signal=signal.SIGTERM,
            )
            info = self._info_for(port)

            def ping(info: RedisInfo = info) -> None:
                with info.client(socket_connect_timeout=1, socket_timeout=2) as client:
                    client.ping()

            try:
                wait_until_ready(
                    ping,
                    process=self.process,
                    what=f"redis-server ({self.variant.value})",
                    timeout=self.START_TIMEOUT,
                )
            except ServiceStartError:
                tail = log_tail(log_path).lower()
                self.process.stop()
                tls_rejected = ("bad directive" in tail and ">>> 'tls-" in tail) or (
                    "tls" in tail and ("not supported" in tail or "built without" in tail)
                )
                if self.variant is RedisVariant.TLS and tls_rejected:
                    raise ServiceUnavailable(
                        f"{self.binary} seems to be built without TLS support:\n{log_tail(log_path)}"
                    ) from None
                if attempt < self.PORT_ATTEMPTS and "address already in use" in tail:
                    continue
                raise
            self._info = info
            return info
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            self.process.stop(timeout=timeout)


def external_redis_info(url: str) -> RedisInfo:
    """Parse ``RUNBOOK_TEST_REDIS_URL`` (``redis://[user:pass@]host:port/db``, ``rediss://...?ssl_ca_certs=``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ServiceStartError(f"{REDIS_URL_ENV} must be a redis:// or rediss:// URL, got {parts.scheme!r}")
    query = parse_qs(parts.query)
    path = parts.path.strip("/")
    ca = query.get("ssl_ca_certs", [None])[0]
    return RedisInfo(
        host=parts.hostname or LOCALHOST,
        port=parts.port or 6379,
        db=int(path) if path else int(query.get("db", ["0"])[0]),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "rediss",
        ca_file=Path(ca) if ca else None,
        managed=False,
    )


def create_acl_user(admin: RedisInfo, name: str | None = None, password: str | None = None) -> RedisInfo:
    """``ACL SETUSER`` a user (unique name by default) with a password and full access, through ``admin``."""
    name = name or unique_name("runbook_probe")
    password = password or new_password()
    with admin.client() as client:
        client.acl_setuser(
            name,
            enabled=True,
            reset=True,
            passwords=[f"+{password}"],
            keys=["~*"],
            channels=["&*"],
            commands=["+@all"],
        )
    return admin.with_credentials(name, password)


def delete_acl_user(admin: RedisInfo, name: str) -> None:
    with admin.client() as client:
        client.acl_deluser(name)


class ExternalRedis(ServiceProvider[RedisInfo]):
    """A variant served by ``RUNBOOK_TEST_REDIS_URL``: PLAIN is the URL as given; ACL creates a unique ACL
    user (deleted in :meth:`cleanup`). PASSWORD (``requirepass``) and TLS would need to reconfigure or
    re-certify the server, so they raise :class:`ServiceUnavailable`."""

    def __init__(self, url: str, variant: RedisVariant) -> None:
        if variant in (RedisVariant.PASSWORD, RedisVariant.TLS):
            raise ServiceUnavailable(
                f"the {variant.value} Redis variant needs a locally started redis-server and cannot be "
                f"provided by {REDIS_URL_ENV}; unset it and install redis-server "
                "(Debian/Ubuntu: `apt install redis-server`)"
            )
        self.admin = external_redis_info(url)
        self.variant = variant
        self._info: RedisInfo | None = None
        self._acl_user: str | None = None

    def start(self) -> RedisInfo:
        if self._info is not None:
            return self._info
        try:
            with self.admin.client() as client:
                client.ping()
        except redis.RedisError as exc:
            raise ServiceStartError(f"cannot reach the Redis server in {REDIS_URL_ENV}: {exc!r}") from exc
        info = self.admin
        if self.variant is RedisVariant.ACL:
            register_cleanup(self, self.cleanup)
            name = unique_name("runbook_probe")
            self._acl_user = name
            info = create_acl_user(self.admin, name)
        self._info = info
        return info

    def cleanup(self) -> None:
        try:
            if self._acl_user is not None:
                delete_acl_user(self.admin, self._acl_user)
                self._acl_user = None
        finally:
            unregister_cleanup(self)


def redis_provider(variant: RedisVariant) -> RedisServer | ExternalRedis:
    """``RUNBOOK_TEST_REDIS_URL`` if set, else a throwaway local server; not started yet. Raises
    :class:`ServiceUnavailable` (tests skip) when the variant cannot be provided."""
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if url:
        return ExternalRedis(url, variant)
    return local_redis_server(variant)


def local_redis_server(variant: RedisVariant = RedisVariant.PLAIN) -> RedisServer:
    binary = find_redis_server()
    if binary is None:
        raise ServiceUnavailable(f"redis-server not found; {REDIS_INSTALL_HINT}")
    return RedisServer(binary, variant)


def flush(info: RedisInfo) -> RedisInfo:
    """Empty the server (FLUSHALL) if the fixtures own it, else only the database in use (FLUSHDB)."""
    with info.client() as client:
        if info.managed:
            client.flushall()
        else:
            client.flushdb()
    return info


def ssl_context_for(info: RedisInfo) -> ssl.SSLContext:
    """An ``ssl.SSLContext`` trusting the server's CA, for code that takes a context instead of a CA path."""
    return ssl.create_default_context(cafile=str(info.ca_file) if info.ca_file else None)

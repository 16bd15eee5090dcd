"""Throwaway PostgreSQL servers for the test suite.

Two providers give the same :class:`PostgresInfo`:

* :class:`PostgresServer` runs ``initdb`` + ``postgres`` from the installed binaries in a fresh temporary
  directory (as the ``postgres`` system user when the tests run as root, since PostgreSQL refuses to run as
  root), listening on 127.0.0.1 on a free port, with scram-sha-256 password authentication for TCP.
* :class:`ExternalPostgres` uses an existing server reached through a superuser DSN
  (``RUNBOOK_TEST_POSTGRES_DSN``) and creates a uniquely named role + database in it, dropped at the end.

The process helpers both use are in :mod:`tests.support.processes`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

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
    remove_tree,
    unique_name,
    unregister_cleanup,
    wait_until_ready,
)

POSTGRES_DSN_ENV = "RUNBOOK_TEST_POSTGRES_DSN"
POSTGRES_INSTALL_HINT = (
    "install the PostgreSQL server binaries (Debian/Ubuntu: `apt install postgresql`) "
    f"or set {POSTGRES_DSN_ENV} to a superuser DSN of a server the tests may use"
)


@dataclass(frozen=True)
class PostgresInfo:
    """How to reach the test database: an ordinary LOGIN role that owns ``dbname``.

    ``dsn(**overrides)`` builds a libpq conninfo string, e.g. ``info.dsn(password="wrong")``; ``url()``
    the ``postgresql://`` form. ``superuser_dsn`` reaches the same server as a superuser (create roles,
    ``pg_terminate_backend``, ...); use :meth:`superuser_connect` for an autocommit connection.
    """

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str
    superuser_dsn: str = field(repr=False)
    managed: bool = True
    """True when the fixtures started this server themselves (False: from ``RUNBOOK_TEST_POSTGRES_DSN``)."""
    password_auth_enforced: bool = True
    """False only for an external server whose pg_hba lets a wrong password in (trust auth)."""

    def conninfo_params(self, **overrides: str | int | None) -> dict[str, str | int]:
        params: dict[str, str | int | None] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": 5,
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def dsn(self, **overrides: str | int | None) -> str:
        """A conninfo string; keyword overrides replace (or with ``None`` drop) parameters."""
        return make_conninfo("", **self.conninfo_params(**overrides))

    def url(self, *, user: str | None = None, password: str | None = None, dbname: str | None = None) -> str:
        user = self.user if user is None else user
        password = self.password if password is None else password
        dbname = self.dbname if dbname is None else dbname
        return (
            f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}/"
            f"{quote(dbname, safe='')}"
        )

    def with_login(self, user: str, password: str) -> PostgresInfo:
        return replace(self, user=user, password=password)

    def connect(self, **overrides: str | int | None) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.dsn(**overrides))

    def superuser_connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.superuser_dsn, autocommit=True)

    def terminate_backends(self, *, user: str | None = None) -> int:
        """``pg_terminate_backend`` every other session on ``dbname`` (only ``user``'s if given)."""
        query = sql.SQL(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND (%s::text IS NULL OR usename = %s)"
        )
        with self.superuser_connect() as conn:
            row = conn.execute(query, (self.dbname, user, user)).fetchone()
        return int(row[0]) if row and isinstance(row[0], int) else 0


def create_login_role(
    info: PostgresInfo, name: str | None = None, password: str | None = None, *, login: bool = True
) -> PostgresInfo:
    """Create a role (unique name by default) with a password, allowed to CONNECT to ``info.dbname``."""
    name = name or unique_name("runbook_role")
    password = password or new_password()
    with info.superuser_connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(
                sql.Identifier(name), sql.SQL("LOGIN" if login else "NOLOGIN"), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(info.dbname), sql.Identifier(name)
            )
        )
    return info.with_login(name, password)


def drop_role(info: PostgresInfo, name: str) -> None:
    """Terminate the role's sessions and drop it (and whatever it owns in ``info.dbname``)."""
    with info.superuser_connect() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE usename = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if not exists:
            return
    # DROP OWNED must run in the database that holds the objects.
    with psycopg.connect(make_conninfo(info.superuser_dsn, dbname=info.dbname), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _check_password_enforced(info: PostgresInfo) -> bool:
    try:
        with psycopg.connect(info.dsn(password=info.password + "-wrong", connect_timeout=5)):
            return False
    except psycopg.OperationalError:
        return True


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_postgres_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``: PATH, ``pg_config --bindir``, then known globs."""
    candidates: list[Path] = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"):
        base, _, rest = pattern.partition("*")
        if rest:
            found = sorted(Path("/").glob(pattern.lstrip("/")), key=_version_key, reverse=True)
            candidates.extend(found)
        else:
            candidates.append(Path(base))
    for directory in candidates:
        if all(os.access(directory / exe, os.X_OK) for exe in ("initdb", "postgres")):
            return directory
    return None


@dataclass(frozen=True)
class _RunAs:
    uid: int | None
    gid: int | None
    name: str


def _run_as() -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs(None, None, pwd.getpwuid(os.geteuid()).pw_name)
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceUnavailable(
            "tests run as root and PostgreSQL refuses to run as root, but there is no `postgres` system user "
            f"to run it as; {POSTGRES_INSTALL_HINT}"
        ) from None
    return _RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name)


def _chown(path: Path, run_as: _RunAs) -> None:
    if run_as.uid is not None:
        os.chown(path, run_as.uid, run_as.gid if run_as.gid is not None else -1)


def _child_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C",
        "LANG": "C",
        "HOME": str(home),
        "TZ": "UTC",
    }


def _run_as_server_user(args: Sequence[str], run_as: _RunAs, cwd: Path, what: str) -> None:
    try:
        result = subprocess.run(
            args,
            cwd=cwd,
            env=_child_env(cwd),
            user=run_as.uid,
            group=run_as.gid,
            extra_groups=[] if run_as.uid is not None else None,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceStartError(f"{what} did not finish within {exc.timeout}s") from exc
    if result.returncode != 0:
        raise ServiceStartError(
            f"{what} failed with code {result.returncode} (as user {run_as.name}):\n"
            f"{result.stdout}\n{result.stderr}"
        )


PG_HBA = (
    "# written by tests/support/postgres_server.py\n"
    "# TYPE  DATABASE  USER  ADDRESS        METHOD\n"
    "local   all       all                  trust\n"
    "host    all       all   127.0.0.1/32   scram-sha-256\n"
    "host    all       all   ::1/128        scram-sha-256\n"
)


@dataclass(frozen=True)
class _ClusterTemplate:
    data_dir: Path
    superuser_password: str = field(repr=False)


_templates: dict[tuple[Path, int | None], _ClusterTemplate] = {}
_templates_lock = threading.Lock()


def _cluster_template(bindir: Path, run_as: _RunAs, superuser: str) -> _ClusterTemplate:
    """An ``initdb``-ed (never started) cluster, made once per process and copied for every server: initdb
    costs ~0.6-1.2 s, a copy ~0.1 s. Removed at interpreter exit."""
    key = (bindir, run_as.uid)
    with _templates_lock:
        template = _templates.get(key)
        if template is not None and (template.data_dir / "PG_VERSION").is_file():
            return template
        base = Path(tempfile.mkdtemp(prefix="runbook-pg-template-"))
        register_cleanup(base, functools.partial(remove_tree, base))
        _chown(base, run_as)
        password = new_password()
        pwfile = base / "superuser.pw"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        _chown(pwfile, run_as)
        data_dir = base / "data"
        try:
            _run_as_server_user(
                [
                    str(bindir / "initdb"),
                    "--pgdata",
                    str(data_dir),
                    "--username",
                    superuser,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                ],
                run_as,
                base,
                "initdb",
            )
        except BaseException:
            remove_tree(base)
            unregister_cleanup(base)
            raise
        finally:
            pwfile.unlink(missing_ok=True)
        hba = data_dir / "pg_hba.conf"
        hba.write_text(PG_HBA)
        _chown(hba, run_as)
        template = _templates[key] = _ClusterTemplate(data_dir, password)
        return template


class PostgresServer(LocalServer[PostgresInfo]):
    """A throwaway cluster (copied from an ``initdb``-ed template) in a temp dir, on 127.0.0.1:<free port>.

    Use as a context manager, or call :meth:`start` and (always) :meth:`cleanup`. :meth:`stop` stops the
    server but keeps the directory (the port is then closed), for "server was there, now it is gone" tests.
    """

    SUPERUSER = "postgres"
    START_TIMEOUT = 30.0
    PORT_ATTEMPTS = 3

    def __init__(
        self,
        bindir: Path,
        *,
        user: str = "probe",
        password: str | None = None,
        dbname: str = "probe",
        extra_settings: Mapping[str, str] | None = None,
    ) -> None:
        self.bindir = bindir
        self.app_user = user
        self.app_password = password or new_password()
        self.app_dbname = dbname
        self.superuser_password = ""  # set from the cluster template in start()
        self.extra_settings = dict(extra_settings or {})
        self.run_as = _run_as()
        self.base_dir: Path | None = None
        self.process: ManagedProcess | None = None
        self._info: PostgresInfo | None = None

    @property
    def data_dir(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "data"

    @property
    def log_path(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "postgres.log"

    def start(self) -> PostgresInfo:
        if self._info is not None:
            return self._info
        template = _cluster_template(self.bindir, self.run_as, self.SUPERUSER)
        self.superuser_password = template.superuser_password
        self.base_dir = Path(tempfile.mkdtemp(prefix="runbook-pg-"))
        register_cleanup(self, self.cleanup)
        _chown(self.base_dir, self.run_as)
        _run_as_server_user(
            ["cp", "-a", str(template.data_dir), str(self.data_dir)],
            self.run_as,
            self.base_dir,
            "copying the cluster",
        )
        for attempt in range(1, self.PORT_ATTEMPTS + 1):
            port = free_port()
            self._launch(port)
            try:
                self._info = self._wait_and_provision(port)
                return self._info
            except ServiceStartError:
                # Someone grabbed the port between free_port() and the bind: try another one.
                assert self.process is not None
                if attempt < self.PORT_ATTEMPTS and "could not bind" in log_tail(self.log_path).lower():
                    self.process.stop()
                    continue
                raise
        raise AssertionError("unreachable")

    def _launch(self, port: int) -> None:
        assert self.base_dir is not None
        settings = {
            "listen_addresses": LOCALHOST,
            "port": str(port),
            "unix_socket_directories": str(self.base_dir),
            "password_encryption": "scram-sha-256",
            # Throwaway data: durability is irrelevant, speed is not.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "wal_level": "minimal",
            "max_wal_senders": "0",
            "autovacuum": "off",
            "shared_buffers": "32MB",
            "max_connections": "50",
            "logging_collector": "off",
            "log_destination": "stderr",
            "log_min_messages": "warning",
        }
        settings.update(self.extra_settings)
        args = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        self.process = ManagedProcess(
            args,
            log_path=self.log_path,
            cwd=self.base_dir,
            env=_child_env(self.base_dir),
            user=self.run_as.uid,
            group=self.run_as.gid,
            stop_signal=signal.SIGINT,  # "fast" shutdown: disconnect clients, no waiting for them
            death_signal=signal.SIGQUIT,  # "immediate" shutdown when pytest itself dies
        )

    def _wait_and_provision(self, port: int) -> PostgresInfo:
        assert self.process is not None
        assert self.base_dir is not None
        superuser_dsn = make_conninfo(
            "",
            host=LOCALHOST,
            port=port,
            user=self.SUPERUSER,
            password=self.superuser_password,
            dbname="postgres",
            connect_timeout=5,
        )

        def connect() -> psycopg.Connection[tuple[object, ...]]:
            return psycopg.connect(superuser_dsn, autocommit=True)

        with wait_until_ready(
            connect, process=self.process, what="postgres", timeout=self.START_TIMEOUT
        ) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(self.app_user), sql.Literal(self.app_password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(self.app_dbname), sql.Identifier(self.app_user)
                )
            )
        info = PostgresInfo(
            host=LOCALHOST,
            port=port,
            user=self.app_user,
            password=self.app_password,
            dbname=self.app_dbname,
            superuser_dsn=superuser_dsn,
            managed=True,
        )
        if not _check_password_enforced(info):
            raise ServiceStartError(
                "the throwaway server accepted a wrong password; pg_hba.conf not applied?"
            )
        return info

    def stop(self, *, mode: str = "fast", timeout: float = 15.0) -> None:
        """Stop the server (``fast``: SIGINT, ``immediate``: SIGQUIT, ``smart``: SIGTERM); keep the files."""
        signals = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}
        if self.process is not None:
            self.process.stop(timeout=timeout, sig=signals[mode])


class ExternalPostgres(ServiceProvider[PostgresInfo]):
    """A server given by a superuser DSN: creates a unique role + database, drops both in :meth:`cleanup`."""

    def __init__(self, superuser_dsn: str) -> None:
        self.superuser_dsn = superuser_dsn
        self._info: PostgresInfo | None = None
        self._created_role: str | None = None
        self._created_db: str | None = None

    def start(self) -> PostgresInfo:
        if self._info is not None:
            return self._info
        params = conninfo_to_dict(self.superuser_dsn)
        params.setdefault("connect_timeout", 10)
        admin_dsn = make_conninfo("", **params)
        role, password, dbname = unique_name("runbook_probe"), new_password(), unique_name("runbook_test")
        register_cleanup(self, self.cleanup)
        try:
            conn = psycopg.connect(admin_dsn, autocommit=True)
        except psycopg.Error as exc:
            raise ServiceStartError(f"cannot connect with {POSTGRES_DSN_ENV}: {exc}") from exc
        with conn:
            is_super = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
            if not (is_super and is_super[0]):
                raise ServiceStartError(
                    f"{POSTGRES_DSN_ENV} must name a superuser (it creates roles/databases)"
                )
            host = conn.info.host
            port = conn.info.port
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            self._created_role = role
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(role))
            )
            self._created_db = dbname
        info = PostgresInfo(
            host=host,
            port=port,
            user=role,
            password=password,
            dbname=dbname,
            superuser_dsn=admin_dsn,
            managed=False,
        )
        self._info = replace(info, password_auth_enforced=_check_password_enforced(info))
        return self._info

    def cleanup(self) -> None:
        try:
            if self._created_db is None and self._created_role is None:
                return
            with psycopg.connect(self.superuser_dsn, autocommit=True) as conn:
                if self._created_db is not None:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                        (self._created_db,),
                    )
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self._created_db))
                    )
                    self._created_db = None
                if self._created_role is not None:
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self._created_role)))
                    self._created_role = None
        finally:
            unregister_cleanup(self)


def postgres_provider(**server_kwargs: Any) -> PostgresServer | ExternalPostgres:
    """The server the session fixture should use: ``RUNBOOK_TEST_POSTGRES_DSN`` if set, else a throwaway local
    one. Raises :class:`ServiceUnavailable` (tests skip) if neither is possible. Not started yet."""
    dsn = os.environ.get(POSTGRES_DSN_ENV, "").strip()
    if dsn:
        return ExternalPostgres(dsn)
    return local_postgres_server(**server_kwargs)


def local_postgres_server(**server_kwargs: Any) -> PostgresServer:
    """A not-yet-started :class:`PostgresServer`, or :class:`ServiceUnavailable` if no binaries are found."""
    bindir = find_postgres_bindir()
    if bindir is None:
        raise ServiceUnavailable(
            f"PostgreSQL server binaries (initdb, postgres) not found; {POSTGRES_INSTALL_HINT}"
        )
    return PostgresServer(bindir, **server_kwargs)

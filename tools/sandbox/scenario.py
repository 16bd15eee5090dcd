"""The default scenario: local targets, a config that watches them, and an outage that comes and goes.

Targets (one loopback HTTP server, tools/standins/http_servers.py):
- `storefront-api` (/storefront/healthz) answers 200 {"status":"ok"} throughout;
- `payments-api` (/payments/healthz) answers 503 from the start until `recover_tick`, then 200: it goes
  DOWN on tick 2 (failure_threshold 2) and comes back on `recover_tick` (success_threshold 1);
- the `maps` integration's /status answers 200 with rate-limit headers saying 4,550 of 5,000 requests are
  used (91 %: a warning, below the 95 % critical level); its API key is read from local SSM;
- PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379, each only when it answers (user $PGUSER or
  postgres, password $PGPASSWORD; Redis password $REDIS_PASSWORD; passwords go to local SSM).

Config: PagerDuty with one service (its service_id makes the ack-deadline sweep run), a 20 s ack deadline
for SEV1/SEV2 (30 m for SEV3, so the quota warning does not escalate), quota warnings routed as low
urgency; Statuspage with a component per API and one for maps, a 3 s quiet period and #incident-room
reminders every 10 s.
"""

import math
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from sandbox.secrets import SecretValue
from standins.http_servers import LoopbackServer, Reply, ServerLoop

ACK_DEADLINE_S = 20
QUIET_PERIOD_S = 3
UPDATE_EVERY_S = 10
DEFAULT_TICK_SECONDS = 4.0
MIN_TICK_ESTIMATE_S = 3.0  # what a tick takes on a slow machine, when ticks are not paced
QUOTA_LIMIT, QUOTA_USED = 5000, 4550
PROBE_TIMEOUT_S = 0.5
HEALTHY = Reply(body=b'{"status":"ok"}')
FAILING = Reply(status=503, body=b'{"status":"error","reason":"payments database pool exhausted"}')
PAGE_ID = "sandboxpage1"
MAPS_KEY_PARAMETER = "/runbook/sandbox/maps-api-key"
POSTGRES_PASSWORD_PARAMETER = "/runbook/sandbox/postgres-password"  # noqa: S105 - a name, not a value
REDIS_PASSWORD_PARAMETER = "/runbook/sandbox/redis-password"  # noqa: S105 - a name, not a value


@dataclass
class LocalService:
    name: str
    address: str
    used: bool
    why: str


@dataclass
class Scenario:
    """The targets of the default run; `before_tick` moves the outage along."""

    recover_tick: int
    ticks: int
    server: LoopbackServer
    loop: ServerLoop
    services: list[LocalService] = field(default_factory=list)
    secrets: dict[str, SecretValue] = field(default_factory=dict)
    config_text: str = ""

    def url(self, path: str) -> str:
        return self.server.url(path)

    def setup_lines(self) -> list[str]:
        lines = [
            f"storefront-api  {self.url('/storefront/healthz')}: healthy throughout",
            f"payments-api    {self.url('/payments/healthz')}: answers 503 until tick "
            f"{self.recover_tick}, then 200",
            f"maps (quota)    {self.url('/maps/status')}: {QUOTA_USED} of {QUOTA_LIMIT} requests used "
            f"({100 * QUOTA_USED / QUOTA_LIMIT:.0f} %, warning at 80 %)",
        ]
        lines += [f"{s.name:<15} {s.address}: {s.why}" for s in self.services]
        return lines

    def before_tick(self, tick: int) -> list[str]:
        if tick == self.recover_tick:
            self.server.route("/payments/healthz", HEALTHY)
            return ['payments-api recovers: /payments/healthz answers 200 {"status":"ok"} from now on']
        return []

    def close(self) -> None:
        self.server.close()
        self.loop.close()


def recover_tick_for(tick_seconds: float) -> int:
    """Long enough after the page (end of tick 2) for the ack deadline to pass and a sweep to escalate
    before the tick on which the API recovers."""
    per_tick = max(tick_seconds, MIN_TICK_ESTIMATE_S)
    return 3 + math.ceil((ACK_DEADLINE_S + per_tick) / per_tick)


def start_scenario(tick_seconds: float, ticks: int | None = None) -> Scenario:
    loop = ServerLoop()
    server = LoopbackServer(loop)
    server.routes = {
        "/storefront/healthz": HEALTHY,
        "/payments/healthz": FAILING,
        "/maps/status": Reply(
            body=b'{"status":"ok"}',
            headers=(
                ("X-RateLimit-Limit", str(QUOTA_LIMIT)),
                ("X-RateLimit-Remaining", str(QUOTA_LIMIT - QUOTA_USED)),
                ("X-RateLimit-Used", str(QUOTA_USED)),
                ("X-RateLimit-Reset", str(int(time.time()) + 3600)),
            ),
        ),
    }
    server.start()
    recover = recover_tick_for(tick_seconds)
    scenario = Scenario(recover, ticks or recover + 2, server, loop)
    scenario.secrets[f"ssm:{MAPS_KEY_PARAMETER}"] = "sandbox-maps-key-0123456789"
    scenario.services = [_postgres(scenario.secrets), _redis(scenario.secrets)]
    scenario.config_text = config_text(scenario)
    return scenario


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _postgres(secrets: dict[str, SecretValue]) -> LocalService:
    address = "127.0.0.1:5432"
    if not _answers(5432):
        return LocalService("postgres", address, False, "nothing answers: skipped")
    user = os.environ.get("PGUSER") or "postgres"
    password = os.environ.get("PGPASSWORD")
    try:
        with psycopg.connect(
            host="127.0.0.1", port=5432, user=user, password=password, dbname="postgres", connect_timeout=2
        ) as connection:
            connection.execute("select 1")
    except psycopg.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return LocalService("postgres", address, False, f"answers, but not to user {user} ({first}): skipped")
    if password:
        secrets[f"ssm:{POSTGRES_PASSWORD_PARAMETER}"] = password
    return LocalService("postgres", address, True, f"answers: checked as local-postgres (user {user})")


def _redis(secrets: dict[str, SecretValue]) -> LocalService:
    address = "127.0.0.1:6379"
    if not _answers(6379):
        return LocalService("redis", address, False, "nothing answers: skipped")
    password = os.environ.get("REDIS_PASSWORD")
    try:
        client = redis.Redis(host="127.0.0.1", port=6379, password=password, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        return LocalService("redis", address, False, f"answers, but not to PING ({error}): skipped")
    if password:
        secrets[f"ssm:{REDIS_PASSWORD_PARAMETER}"] = password
    return LocalService("redis", address, True, "answers: checked as local-redis")


def config_text(scenario: Scenario) -> str:
    services = {s.name: s for s in scenario.services}
    extra = ""
    if services["postgres"].used:
        user = os.environ.get("PGUSER") or "postgres"
        password = (
            f"\n    password: {{ssm: {POSTGRES_PASSWORD_PARAMETER}}}"
            if f"ssm:{POSTGRES_PASSWORD_PARAMETER}" in scenario.secrets
            else ""
        )
        extra += f"""
  - name: local-postgres
    kind: postgres
    component: postgresql
    host: 127.0.0.1
    user: {user}{password}
    sslmode: prefer
    query: select 1
"""
    if services["redis"].used:
        password = (
            f"\n    password: {{ssm: {REDIS_PASSWORD_PARAMETER}}}"
            if f"ssm:{REDIS_PASSWORD_PARAMETER}" in scenario.secrets
            else ""
        )
        extra += f"""
  - name: local-redis
    kind: redis
    component: redis
    host: 127.0.0.1{password}
"""
    return f"""\
# Generated by runbook-sandbox for one run: local targets, local vendors, short time limits.
version: 1

defaults:
  timeout: 2s
  failure_threshold: 2
  success_threshold: 1
  severity: critical
  sev: SEV2

checks:
  - name: storefront-api
    kind: http
    component: storefront
    sev: SEV1
    url: {scenario.url("/storefront/healthz")}
    expect: {{status: [200], json: {{status: ok}}}}

  - name: payments-api
    kind: http
    component: payments
    sev: SEV1
    url: {scenario.url("/payments/healthz")}
    expect: {{status: [200], json: {{status: ok}}}}
    runbook_url: https://runbooks.example.com/payments-api
{extra}
integrations:
  - name: maps
    component: maps
    status_url: {scenario.url("/maps/status")}
    auth: {{header: Authorization, prefix: "Bearer ", value: {{ssm: {MAPS_KEY_PARAMETER}}}}}
    failure_threshold: 1
    warning_percent: 80
    critical_percent: 95

pagerduty:
  services:
    platform:
      routing_key: {{secret: runbook/sandbox/pagerduty, key: platform_routing_key}}
      service_id: PSBX001
  default_service: platform
  routes:
    - match: {{source: quota-check, severity: [warning]}}
      urgency: low
  ack:
    deadline: {ACK_DEADLINE_S}s
    deadlines: {{SEV3: 30m, SEV4: 4h}}
    api_token: {{secret: runbook/sandbox/pagerduty, key: rest_api_token}}
    from_email: oncall-automation@example.com

statuspage:
  page_id: {PAGE_ID}
  api_key: {{secret: runbook/sandbox/statuspage, key: api_key}}
  components:
    - {{id: sbxstore0001, name: Storefront API, match: {{check: [storefront-api]}}}}
    - {{id: sbxpaym00002, name: Payments API, match: {{check: [payments-api]}}}}
    - {{id: sbxmaps00003, name: Maps, match: {{component: [maps]}}}}
  quiet_period: {QUIET_PERIOD_S}s
  slack:
    ops_alerts: {{secret: runbook/sandbox/slack, key: ops_alerts_webhook}}
    incident_room: {{secret: runbook/sandbox/slack, key: incident_room_webhook}}
    update_every: {UPDATE_EVERY_S}s
"""


def write_config(scenario: Scenario, directory: Path) -> Path:
    path = directory / "runbook.yaml"
    path.write_text(scenario.config_text, encoding="utf-8")
    return path

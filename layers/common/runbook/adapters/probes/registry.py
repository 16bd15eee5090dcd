"""The registry: one probe per kind of target, each behind the small interface in base.py."""

from typing import Any

from runbook.adapters.probes.heartbeat import HeartbeatProbe
from runbook.adapters.probes.http import HttpProbe
from runbook.adapters.probes.integration import IntegrationProbe
from runbook.adapters.probes.postgres import PostgresProbe
from runbook.adapters.probes.queue import QueueProbe
from runbook.adapters.probes.redis import RedisProbe


def default_probes() -> dict[str, Any]:
    return {
        "http": HttpProbe(),
        "postgres": PostgresProbe(),
        "redis": RedisProbe(),
        "queue": QueueProbe(),
        "heartbeat": HeartbeatProbe(),
        "integration": IntegrationProbe(),
    }

"""The registry: one probe per kind of target, each behind the small interface in base.py.

A probe's module is imported when its kind is first asked for, so a function imports only the kinds
its config uses (the quota check never loads redis or psycopg). The composition roots preload the
kinds of the config at cold start: one-time work stays out of every check's timer.
"""

import importlib
from collections.abc import Iterable, Iterator, Mapping, ValuesView
from typing import Any

PROBES = {
    "http": ("runbook.adapters.probes.http", "HttpProbe"),
    "postgres": ("runbook.adapters.probes.postgres", "PostgresProbe"),
    "redis": ("runbook.adapters.probes.redis", "RedisProbe"),
    "queue": ("runbook.adapters.probes.queue", "QueueProbe"),
    "heartbeat": ("runbook.adapters.probes.heartbeat", "HeartbeatProbe"),
    "integration": ("runbook.adapters.probes.integration", "IntegrationProbe"),
}


class ProbeRegistry(Mapping[str, Any]):
    """Probes by kind, each built on first use and kept."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, kind: str) -> Any:
        if kind not in self._built:
            module, name = PROBES[kind]
            self._built[kind] = getattr(importlib.import_module(module), name)()
        return self._built[kind]

    def __contains__(self, kind: object) -> bool:
        return kind in PROBES

    def __iter__(self) -> Iterator[str]:
        return iter(PROBES)

    def __len__(self) -> int:
        return len(PROBES)

    def values(self) -> ValuesView[Any]:
        """The probes built so far: what a run used, and has to close."""
        return self._built.values()

    def preload(self, kinds: Iterable[str]) -> "ProbeRegistry":
        for kind in kinds:
            self[kind]
        return self


def default_probes() -> ProbeRegistry:
    return ProbeRegistry()

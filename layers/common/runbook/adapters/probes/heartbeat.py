"""The `heartbeat` probe: no network. The latest report of the outside job was loaded by the service
(env.heartbeats, from the state table); this only hands it to the condition."""

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.models.config import HeartbeatCheck
from runbook.models.observations import HeartbeatObservation


class HeartbeatProbe:
    async def observe(self, check: HeartbeatCheck, env: ProbeEnvironment) -> HeartbeatObservation:
        return HeartbeatObservation(observed_at=env.now(), latest=env.heartbeats.get(check.name))

    async def close(self, env: ProbeEnvironment) -> None:
        """Nothing to release."""

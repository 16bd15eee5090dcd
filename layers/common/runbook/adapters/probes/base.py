"""The one small interface every probe implements (one module per kind of target)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from runbook.models.config import ProbeSettings
from runbook.models.observations import Observation
from runbook.models.secrets import SecretRef
from runbook.models.state import HeartbeatRecord


class SecretLookup(Protocol):
    """Secrets resolved before the run; lookups are in memory."""

    def value(self, ref: SecretRef) -> str: ...

    def scrub(self, text: str) -> str:
        """`text` with every known secret value masked."""
        ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ProbeEnvironment:
    """What probes share during one run. Built per run by the service; clients are injected."""

    settings: ProbeSettings
    secrets: SecretLookup
    # Long-lived clients a probe may reuse within the run, keyed by the probe module (e.g. httpx pools).
    clients: dict[str, Any] = field(default_factory=dict)
    # boto3 SQS client factory (sync; probes call it through asyncio.to_thread).
    sqs_client: Callable[[str], Any] | None = None
    heartbeats: dict[str, HeartbeatRecord] = field(default_factory=dict)
    now: Callable[[], datetime] = utc_now


class Probe[CheckT](Protocol):
    async def observe(self, check: CheckT, env: ProbeEnvironment) -> Observation:
        """Look at the target once. Expected failures (refused, timeout, auth, ...) are returned as an
        observation with `failure` set; only bugs raise. Must honour `check.timeout` itself where the
        client library allows, so the reported failure says which step timed out."""
        ...

    async def close(self, env: ProbeEnvironment) -> None:
        """Release what `observe` left in `env.clients` (called once at the end of the run)."""
        ...

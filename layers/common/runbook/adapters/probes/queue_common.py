"""What the queue readers (Redis, SQS) hand back to the queue probe."""

from dataclasses import dataclass, field

DetailValue = int | bool | str


@dataclass(frozen=True)
class QueueCounts:
    depth: int  # ready to run, waiting for a worker
    in_flight: int | None = None  # held by a worker (BullMQ active, SQS not visible)
    processed_total: int | None = None  # finished since the queue was created, where the backend tells
    details: dict[str, DetailValue] = field(default_factory=dict)

"""What the queue readers (Redis, SQS) hand back to the queue probe, and helpers they share."""

from collections.abc import Iterator
from dataclasses import dataclass, field

DetailValue = int | bool | str


@dataclass(frozen=True)
class QueueCounts:
    depth: int  # ready to run, waiting for a worker
    in_flight: int | None = None  # held by a worker (BullMQ active, SQS not visible)
    processed_total: int | None = None  # finished since the queue was created, where the backend tells
    details: dict[str, DetailValue] = field(default_factory=dict)


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what caused it: client libraries wrap socket errors, explicitly or implicitly."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__

"""What the alert subscribers do with a message they cannot read: keep it on the dead-letter queue (at
once: retrying would fail the same way), log and count it, and go on with the rest of the batch.

If the queue could not take it, the invocation fails once the batch is done (`NotKeptError`), so that
Lambda retries it and, after its retries, keeps the whole event on its own failure destination: the
message is never lost, and what the batch already did is not repeated (deliveries are idempotent).
"""

from typing import Protocol

from runbook.adapters.intake import Rejected


class DeadLetterKeeper(Protocol):
    def keep(self, body: str, reason: str) -> bool: ...


class RejectionReporter(Protocol):
    def rejected(self, reason: str, kept: bool) -> None: ...


class NotKeptError(RuntimeError):
    """A message that could not be read could not be kept on the dead-letter queue either."""


def keep_rejected(item: Rejected, dead_letters: DeadLetterKeeper, reporter: RejectionReporter) -> bool:
    """False when the message had a body and the queue did not take it."""
    kept = item.body is not None and dead_letters.keep(item.body, item.reason)
    reporter.rejected(item.reason, kept)
    return kept or item.body is None


def raise_if_lost(lost: int) -> None:
    if lost:
        raise NotKeptError(
            f"{lost} unreadable message(s) could not be kept on the dead-letter queue; "
            "failing the invocation so that Lambda retries it and keeps the event"
        )

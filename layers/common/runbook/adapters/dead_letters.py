"""Keeps a message that cannot be read on the dead-letter queue (SQS), with the reason, so that a person
can look at it and redrive it once the cause is fixed. Retrying it would fail the same way."""

from typing import Any

MAX_BODY_BYTES = 250_000  # under SQS's 256 KiB message limit, with room for the attributes
MAX_REASON_CHARS = 256


class DeadLetters:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def keep(self, body: str, reason: str) -> None:
        data = body.encode("utf-8", errors="replace")
        truncated = len(data) > MAX_BODY_BYTES
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=data[:MAX_BODY_BYTES].decode("utf-8", errors="ignore") if truncated else body,
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason[:MAX_REASON_CHARS]},
                "kept_by": {"DataType": "String", "StringValue": "runbook-alert-intake"},
                "truncated": {"DataType": "String", "StringValue": str(truncated).lower()},
            },
        )

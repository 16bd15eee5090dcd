"""Publishes runbook.alert/v1 messages on the SNS AlertsTopic."""

import json
from typing import Any

from runbook.models.alert import Alert

PUBLISH_BATCH_LIMIT = 10  # SNS PublishBatch takes at most 10 entries


class AlertsTopic:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, alerts: list[Alert]) -> list[tuple[Alert, str]]:
        """Publish all; returns the alerts that SNS did not accept, each with the reason."""
        failed: list[tuple[Alert, str]] = []
        for start in range(0, len(alerts), PUBLISH_BATCH_LIMIT):
            batch = alerts[start : start + PUBLISH_BATCH_LIMIT]
            entries = [_entry(str(i), alert) for i, alert in enumerate(batch)]
            try:
                response = self._client.publish_batch(
                    TopicArn=self._topic_arn, PublishBatchRequestEntries=entries
                )
            except Exception as error:
                failed += [(alert, f"{type(error).__name__}: {error}") for alert in batch]
                continue
            for failure in response.get("Failed", []):
                failed.append((batch[int(failure["Id"])], f"{failure.get('Code')}: {failure.get('Message')}"))
        return failed


def _entry(entry_id: str, alert: Alert) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "Subject": _subject(alert),
        "Message": json.dumps(alert.to_message(), separators=(",", ":")),
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value}
            for name, value in alert.message_attributes().items()
        },
    }


def _subject(alert: Alert) -> str:
    # SNS subjects: ASCII, no line breaks, at most 100 characters (shown by e-mail subscriptions).
    text = f"[{alert.status.upper()}] {alert.sev} {alert.summary}"
    ascii_text = text.encode("ascii", "replace").decode().replace("\n", " ")
    return ascii_text[:100]

"""Sends a heartbeat report the way an outside job does: an EventBridge event on the default bus."""

import json
from typing import Any

from runbook.models.events import HEARTBEAT_DETAIL_TYPE, HEARTBEAT_SOURCE, HeartbeatReport


class HeartbeatSendError(Exception):
    pass


def send_heartbeat(client: Any, report: HeartbeatReport, event_bus: str = "default") -> str:
    detail = report.model_dump(mode="json", exclude_none=True)
    response = client.put_events(
        Entries=[
            {
                "Source": HEARTBEAT_SOURCE,
                "DetailType": HEARTBEAT_DETAIL_TYPE,
                "Detail": json.dumps(detail),
                "EventBusName": event_bus,
            }
        ]
    )
    entry = response["Entries"][0]
    if response.get("FailedEntryCount") or "EventId" not in entry:
        raise HeartbeatSendError(
            f"EventBridge refused the report: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
        )
    return str(entry["EventId"])

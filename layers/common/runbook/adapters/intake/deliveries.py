"""What reading an event gives: a Delivery of alerts, or a Rejected message with a reason."""

from dataclasses import dataclass

from runbook.models.alert import Alert

FORMATS = (
    "runbook.alert/v1",
    "cloudwatch-sns",
    "cloudwatch-eventbridge",
    "cloudwatch-lambda-action",
    "alertmanager-sns-text",
    "alertmanager-sns-json",
    "alertmanager-webhook",
)


@dataclass(frozen=True)
class Delivery:
    """One message that was read, with its alerts (several for an Alertmanager group).

    `delivery_id` is unique per delivery and the same for a redelivery of it, for idempotency: the SNS
    MessageId; the EventBridge event id; for a direct alarm-action invoke a hash of the alarm ARN and the
    state timestamp; for a direct webhook its groupKey and a hash of its alerts' fingerprints, statuses,
    startsAt and endsAt. `format` is one of FORMATS."""

    delivery_id: str
    format: str
    alerts: list[Alert]


@dataclass(frozen=True)
class Rejected:
    """A message (or the part of one) that could not be read.

    `reason` says what was expected and what was found, by names of formats and fields only, never the
    message's content; at most 300 characters. `body` is the raw message (the SNS Message) so that the
    caller can keep it on the dead-letter path; None when the event did not come through SNS."""

    delivery_id: str | None
    reason: str
    body: str | None

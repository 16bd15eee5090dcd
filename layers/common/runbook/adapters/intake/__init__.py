"""Alert intake: every message the alert functions accept, read into `runbook.alert/v1` alerts. Pure.

`read_event(event)` takes a Lambda event as it is:
- an SNS event: each of `Records[*]` is read on its own; its `Sns.Message` (decoded a second time where it
  is JSON) may be a `runbook.alert/v1` alert, a CloudWatch alarm notification, an EventBridge "CloudWatch
  Alarm State Change" event, Alertmanager JSON (`toJson`-style templates, the webhook shape) or
  Alertmanager's default plain-text message (`sns.default.message`, the Subject from `sns.default.subject`);
- an EventBridge "CloudWatch Alarm State Change" event;
- a CloudWatch alarm invoking Lambda as its alarm action (`alarmData`);
- an Alertmanager webhook v4 JSON invoked directly.

It gives one `Delivery` per message read (with one alert, or one per alert of an Alertmanager group) and a
`Rejected` for what could not be read: never an exception. The formats and how each maps to an `Alert`
(key, status, severity, sev, check, component, labels, details, links, summary, observed_at) are written
in `cloudwatch`, `alertmanager` and `runbook_alert`. In short:
- key: `cloudwatch/<account>/<region>/<alarm name>` (the same through SNS, EventBridge and the alarm
  action), `alertmanager/<fingerprint>` (the fingerprint Alertmanager computes from the labels when the
  message has none, as in the text template), runbook alerts keep theirs; at most 200 characters, a longer
  key keeps its head and ends with a hash of the whole. Firing and resolved of one problem share the key.
- status: ALARM firing, OK resolved, INSUFFICIENT_DATA firing with severity "info" (never pages);
  Alertmanager per alert. severity: "critical" for a CloudWatch alarm, the Alertmanager `severity` label
  (synonyms mapped, default "warning"); sev SEV2 / SEV3 / SEV4 for critical / warning / info.

Delivery ids (for idempotency): the SNS MessageId (a hash of the message if a record has none); the
EventBridge event id; for a direct alarm action a hash of the alarm ARN and state timestamp; for a direct
webhook its groupKey (hashed when longer than 200 characters) and a hash of its alerts' fingerprints,
statuses, startsAt and endsAt.

Rejected: not JSON where JSON is needed and not the Alertmanager text either; JSON of an unknown shape
(the reason lists the formats tried and the keys missing); a runbook alert failing validation (the
fields named); an Alertmanager message with no alerts, or alerts of a group that cannot be read (the rest
of the group is delivered); an SNS record without Sns.Message; a non-object event. Reasons name formats,
fields and JSON types, never the content. Bounds: at most 1,000 records per event and 1,000 alerts per
group; the records and alerts beyond are Rejected with a reason that says so, nothing is dropped
silently. A Rejected from SNS carries the raw message as `body` for the dead-letter path.
"""

from runbook.adapters.intake.common import MAX_ALERTS, MAX_RECORDS
from runbook.adapters.intake.deliveries import FORMATS, Delivery, Rejected
from runbook.adapters.intake.reader import read_event

__all__ = ["FORMATS", "MAX_ALERTS", "MAX_RECORDS", "Delivery", "Rejected", "read_event"]

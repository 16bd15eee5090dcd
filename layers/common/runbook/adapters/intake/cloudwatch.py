"""CloudWatch alarm state changes as `Alert`s, from the three ways they arrive. Pure.

- `cloudwatch-sns`: the alarm's SNS notification (AlarmName, NewStateValue, NewStateReason,
  StateChangeTime, Region, AWSAccountId, AlarmArn, OldStateValue, Trigger). `Trigger` has one metric
  (MetricName, Namespace, Dimensions [{name, value}], Statistic, Period, Threshold, ComparisonOperator)
  or, for a metric math alarm, `Trigger.Metrics[]` (Expression, or MetricStat.Metric); a composite
  alarm has no Trigger. Note that `Region` there is the region's display name ("US East (N. Virginia)").
- `cloudwatch-eventbridge`: the "CloudWatch Alarm State Change" event (id, account, region, resources
  [alarm ARN], detail.alarmName, detail.state {value, reason, reasonData, timestamp}, previousState,
  configuration.metrics[] with metricStat.metric {namespace, name, dimensions {Name: value}}).
- `cloudwatch-lambda-action`: the alarm invoking Lambda as its action (alarmArn, accountId, region,
  time, alarmData with the same inner shape as the EventBridge detail).

Mapping:
- key `cloudwatch/<account>/<region>/<alarm name>`, the same for firing and resolved and for the three
  paths: account and region come from the alarm ARN (`arn:<partition>:cloudwatch:<region>:<account>:
  alarm:<name>`) when it has a region code and a 12-digit account, else from the payload's own fields.
  A key longer than 200 characters keeps its head and ends with a hash of the whole.
- status and severity by the new state: ALARM is firing, "critical" (the route config may lower it);
  INSUFFICIENT_DATA is firing with severity "info", which never pages (missing data is worth a look, not
  a page); OK is resolved, "critical", or "info" when it ends an INSUFFICIENT_DATA state. SEV2 for
  critical, SEV4 for info (routing may override).
- source "cloudwatch"; check: the alarm name; component: the first dimension's value of the first
  metric, else its namespace, else the alarm name.
- labels: namespace, metric, region, account, and each dimension as `dimension.<Name>`.
- details: state, previous state, reason, description, state change time, alarm ARN, the trigger
  (metric, statistic, period, threshold, comparison, evaluation periods, the metric math expressions and
  metrics) and, from `reasonData`, the threshold and recent datapoints where the payload has no trigger.
- links: `source`, the alarm in the CloudWatch console (region and URL-quoted alarm name).
- summary: "<STATE>: <alarm name>: <reason>", one line, at most 1024 characters.
- observed_at: the state change time (StateChangeTime; state.timestamp), in UTC.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from runbook.adapters.intake.common import (
    SEV_FOR_SEVERITY,
    Unreadable,
    bounded_key,
    json_type,
    parse_time,
    summary_line,
    text_or_none,
    without_none,
)
from runbook.models.alert import Alert, AlertStatus
from runbook.models.levels import Severity

SOURCE = "cloudwatch"
STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
State = Literal["ALARM", "OK", "INSUFFICIENT_DATA"]
MAX_METRICS = 50  # metrics (and dimensions) read per alarm: well above what an alarm holds
MAX_REASON_DATA = 65536
MAX_DATAPOINTS = 10

_REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_CONSOLES = {
    "aws": "https://{region}.console.aws.amazon.com",
    "aws-cn": "https://{region}.console.amazonaws.cn",
    "aws-us-gov": "https://{region}.console.amazonaws-us-gov.com",
}


@dataclass(frozen=True)
class Metric:
    id: str | None = None
    namespace: str | None = None
    name: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    stat: str | None = None
    period: Any = None
    expression: str | None = None
    label: str | None = None
    return_data: Any = None

    def detail(self) -> dict[str, Any]:
        return without_none(
            {
                "id": self.id,
                "expression": self.expression,
                "namespace": self.namespace,
                "metric": self.name,
                "dimensions": self.dimensions or None,
                "stat": self.stat,
                "period": self.period,
                "label": self.label,
                "return_data": self.return_data,
            }
        )


@dataclass(frozen=True)
class AlarmChange:
    """One alarm state change, whatever the path it came by."""

    name: str
    state: State
    changed_at: datetime
    reason: str
    previous_state: str | None
    arn: str | None
    account_field: str | None
    region_field: str | None
    description: str | None = None
    metrics: list[Metric] = field(default_factory=list)
    trigger: dict[str, Any] = field(default_factory=dict)
    alarm_rule: str | None = None


# --- the three payloads ----------------------------------------------------------------------------


def from_sns_message(message: dict[str, Any]) -> AlarmChange:
    """The decoded `Sns.Message` of a CloudWatch alarm notification."""
    trigger = message.get("Trigger")
    trigger = trigger if isinstance(trigger, dict) else {}
    metrics: list[Metric]
    if isinstance(trigger.get("Metrics"), list):
        metrics = [_sns_math_metric(m) for m in trigger["Metrics"][:MAX_METRICS] if isinstance(m, dict)]
    elif text_or_none(trigger.get("MetricName")) or text_or_none(trigger.get("Namespace")):
        metrics = [
            Metric(
                namespace=text_or_none(trigger.get("Namespace")),
                name=text_or_none(trigger.get("MetricName")),
                dimensions=_sns_dimensions(trigger.get("Dimensions")),
                stat=text_or_none(trigger.get("Statistic")) or text_or_none(trigger.get("ExtendedStatistic")),
                period=trigger.get("Period"),
            )
        ]
    else:
        metrics = []
    return AlarmChange(
        name=_required_text(message, "AlarmName"),
        state=_state(message.get("NewStateValue"), "NewStateValue"),
        changed_at=parse_time(message.get("StateChangeTime"), "StateChangeTime"),
        reason=text_or_none(message.get("NewStateReason")) or "",
        previous_state=text_or_none(message.get("OldStateValue")),
        arn=text_or_none(message.get("AlarmArn")),
        account_field=_scalar_text(message.get("AWSAccountId")),
        region_field=text_or_none(message.get("Region")),
        description=text_or_none(message.get("AlarmDescription")),
        metrics=metrics,
        trigger=without_none(
            {
                "threshold": trigger.get("Threshold"),
                "comparison": text_or_none(trigger.get("ComparisonOperator")),
                "evaluation_periods": trigger.get("EvaluationPeriods"),
                "datapoints_to_alarm": trigger.get("DatapointsToAlarm"),
                "period": trigger.get("Period"),
                "statistic": text_or_none(trigger.get("Statistic"))
                or text_or_none(trigger.get("ExtendedStatistic")),
                "unit": text_or_none(trigger.get("Unit")),
                "treat_missing_data": _treat_missing(trigger.get("TreatMissingData")),
                "threshold_metric_id": text_or_none(trigger.get("ThresholdMetricId")),
            }
        ),
        alarm_rule=text_or_none(message.get("AlarmRule")),
    )


def from_eventbridge(event: dict[str, Any]) -> AlarmChange:
    """An EventBridge "CloudWatch Alarm State Change" event."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise Unreadable(f"detail is a JSON {json_type(detail)}, expected an object")
    resources = event.get("resources")
    arn = (
        next(
            (r for r in resources if isinstance(r, str) and ":alarm:" in r),
            None,
        )
        if isinstance(resources, list)
        else None
    )
    return _from_alarm_data(
        detail,
        "detail",
        arn=arn,
        account=_scalar_text(event.get("account")),
        region=text_or_none(event.get("region")),
        fallback_time=event.get("time"),
    )


def from_lambda_action(event: dict[str, Any]) -> AlarmChange:
    """The event of a CloudWatch alarm that invokes Lambda as its alarm action."""
    data = event.get("alarmData")
    if not isinstance(data, dict):
        raise Unreadable(f"alarmData is a JSON {json_type(data)}, expected an object")
    return _from_alarm_data(
        data,
        "alarmData",
        arn=text_or_none(event.get("alarmArn")),
        account=_scalar_text(event.get("accountId")),
        region=text_or_none(event.get("region")),
        fallback_time=event.get("time"),
    )


def _from_alarm_data(
    data: dict[str, Any],
    where: str,
    *,
    arn: str | None,
    account: str | None,
    region: str | None,
    fallback_time: Any,
) -> AlarmChange:
    state = data.get("state")
    if not isinstance(state, dict):
        raise Unreadable(f"{where}.state is a JSON {json_type(state)}, expected an object")
    previous = data.get("previousState")
    configuration = data.get("configuration")
    configuration = configuration if isinstance(configuration, dict) else {}
    raw_metrics = configuration.get("metrics")
    metrics = (
        [_camel_metric(m) for m in raw_metrics[:MAX_METRICS] if isinstance(m, dict)]
        if isinstance(raw_metrics, list)
        else []
    )
    timestamp = state.get("timestamp") if state.get("timestamp") is not None else fallback_time
    return AlarmChange(
        name=_required_text(data, "alarmName", where),
        state=_state(state.get("value"), f"{where}.state.value"),
        changed_at=parse_time(timestamp, f"{where}.state.timestamp"),
        reason=text_or_none(state.get("reason")) or "",
        previous_state=text_or_none(previous.get("value")) if isinstance(previous, dict) else None,
        arn=arn,
        account_field=account,
        region_field=region,
        description=text_or_none(configuration.get("description")),
        metrics=metrics,
        trigger=_reason_data(state.get("reasonData")),
        alarm_rule=text_or_none(configuration.get("alarmRule")),
    )


def _sns_math_metric(raw: dict[str, Any]) -> Metric:
    stat = raw.get("MetricStat")
    stat = stat if isinstance(stat, dict) else {}
    metric = stat.get("Metric")
    metric = metric if isinstance(metric, dict) else {}
    return Metric(
        id=text_or_none(raw.get("Id")),
        namespace=text_or_none(metric.get("Namespace")),
        name=text_or_none(metric.get("MetricName")),
        dimensions=_sns_dimensions(metric.get("Dimensions")),
        stat=text_or_none(stat.get("Stat")),
        period=stat.get("Period"),
        expression=text_or_none(raw.get("Expression")),
        label=text_or_none(raw.get("Label")),
        return_data=raw.get("ReturnData"),
    )


def _camel_metric(raw: dict[str, Any]) -> Metric:
    stat = raw.get("metricStat")
    stat = stat if isinstance(stat, dict) else {}
    metric = stat.get("metric")
    metric = metric if isinstance(metric, dict) else {}
    dimensions = metric.get("dimensions")
    return Metric(
        id=text_or_none(raw.get("id")),
        namespace=text_or_none(metric.get("namespace")),
        name=text_or_none(metric.get("name")),
        dimensions=(
            {str(k): v for k, v in dimensions.items() if isinstance(v, str)}
            if isinstance(dimensions, dict)
            else {}
        ),
        stat=text_or_none(stat.get("stat")),
        period=stat.get("period"),
        expression=text_or_none(raw.get("expression")),
        label=text_or_none(raw.get("label")),
        return_data=raw.get("returnData"),
    )


def _sns_dimensions(raw: object) -> dict[str, str]:
    """[{"name": "InstanceId", "value": "i-1"}] (either case of the keys) as {"InstanceId": "i-1"}."""
    dimensions: dict[str, str] = {}
    if not isinstance(raw, list):
        return dimensions
    for item in raw[:MAX_METRICS]:
        if isinstance(item, dict):
            name = item.get("name", item.get("Name"))
            value = item.get("value", item.get("Value"))
            if isinstance(name, str) and isinstance(value, str):
                dimensions.setdefault(name, value)
    return dimensions


def _reason_data(raw: object) -> dict[str, Any]:
    """The useful part of `state.reasonData` (a JSON string): threshold, statistic, period, datapoints."""
    if not isinstance(raw, str) or len(raw) > MAX_REASON_DATA:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    recent = data.get("recentDatapoints")
    return without_none(
        {
            "threshold": data.get("threshold"),
            "statistic": text_or_none(data.get("statistic")),
            "period": data.get("period"),
            "recent_datapoints": recent[-MAX_DATAPOINTS:] if isinstance(recent, list) else None,
        }
    )


def _treat_missing(raw: object) -> str | None:
    # The notification writes it as "- TreatMissingData:                    missing".
    text = text_or_none(raw)
    if text is None:
        return None
    return text.rsplit(":", 1)[-1].strip() or None


def _required_text(data: dict[str, Any], name: str, where: str = "") -> str:
    value = text_or_none(data.get(name))
    if value is None:
        raise Unreadable(f"{where + '.' if where else ''}{name} is missing or empty")
    return value


def _scalar_text(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text_or_none(value)


def _state(value: object, field_name: str) -> State:
    if value == "ALARM" or value == "OK" or value == "INSUFFICIENT_DATA":
        return value
    raise Unreadable(f"{field_name} is not one of ALARM, OK, INSUFFICIENT_DATA")


# --- the alert -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Identity:
    partition: str
    account: str
    region: str


def _identity(change: AlarmChange) -> _Identity:
    partition = "aws"
    arn_region = arn_account = None
    if change.arn:
        parts = change.arn.split(":", 6)
        if len(parts) == 7 and parts[0] == "arn" and parts[2] == "cloudwatch" and parts[5] == "alarm":
            partition, arn_region, arn_account = parts[1], parts[3], parts[4]
    regions = [r for r in (arn_region, change.region_field) if r]
    accounts = [a for a in (arn_account, change.account_field) if a]
    region = next((r for r in regions if _REGION_CODE.match(r)), regions[0] if regions else "unknown")
    account = next((a for a in accounts if _ACCOUNT.match(a)), accounts[0] if accounts else "unknown")
    return _Identity(partition, account, region)


def alarm_key(account: str, region: str, alarm_name: str) -> str:
    return bounded_key(f"{SOURCE}/{account}/{region}/{alarm_name}")


def console_url(partition: str, region: str, alarm_name: str) -> str | None:
    """The alarm's page in the CloudWatch console; None when the region is not a region code."""
    host = _CONSOLES.get(partition)
    if host is None or not _REGION_CODE.match(region):
        return None
    base = host.format(region=region)
    return f"{base}/cloudwatch/home?region={region}#alarmsV2:alarm/{quote(alarm_name, safe='')}"


def _trigger(change: AlarmChange) -> dict[str, Any]:
    """What the alarm watches and how: one metric's name, dimensions, statistic and period, or the
    expressions and metrics of a metric math alarm; then threshold, comparison, ... where the payload
    has them."""
    if len(change.metrics) == 1:
        only = change.metrics[0]
        watched = without_none(
            {
                "metric": only.name,
                "namespace": only.namespace,
                "dimensions": only.dimensions or None,
                "statistic": only.stat,
                "period": only.period,
                "expression": only.expression,
            }
        )
    else:
        expressions = [m.expression for m in change.metrics if m.expression]
        watched = without_none(
            {
                "expression": expressions[0] if len(expressions) == 1 else None,
                "expressions": expressions if len(expressions) > 1 else None,
                "metrics": [m.detail() for m in change.metrics] or None,
            }
        )
    return {**watched, **change.trigger}


def to_alert(change: AlarmChange) -> Alert:
    identity = _identity(change)
    status: AlertStatus = "resolved" if change.state == "OK" else "firing"
    severity: Severity = "critical"
    if change.state == "INSUFFICIENT_DATA" or (
        change.state == "OK" and change.previous_state == "INSUFFICIENT_DATA"
    ):
        severity = "info"
    measured = next((m for m in change.metrics if m.namespace or m.name), None)
    component = change.name
    if measured is not None:
        component = next(iter(measured.dimensions.values()), None) or measured.namespace or change.name
    labels = {"region": identity.region, "account": identity.account}
    if measured is not None:
        labels.update(without_none({"namespace": measured.namespace, "metric": measured.name}))
    for metric in change.metrics:
        for name, value in metric.dimensions.items():
            labels.setdefault(f"dimension.{name}", value)
    console = console_url(identity.partition, identity.region, change.name)
    head = f"{change.state}: {change.name}"
    return Alert(
        key=alarm_key(identity.account, identity.region, change.name),
        status=status,
        severity=severity,
        sev=SEV_FOR_SEVERITY[severity],
        summary=summary_line(f"{head}: {change.reason}" if change.reason else head),
        source=SOURCE,
        check=change.name,
        component=component,
        observed_at=change.changed_at,
        details=without_none(
            {
                "alarm_name": change.name,
                "state": change.state,
                "previous_state": change.previous_state,
                "reason": change.reason or None,
                "description": change.description,
                "state_change_time": change.changed_at.isoformat(),
                "alarm_arn": change.arn,
                "account": identity.account,
                "region": identity.region,
                "trigger": _trigger(change) or None,
                "alarm_rule": change.alarm_rule,
            }
        ),
        labels=labels,
        links={"source": console} if console else {},
    )

"""Alertmanager notifications as `Alert`s, one per alert of the group. Pure.

Three shapes:
- `alertmanager-webhook`: the webhook v4 JSON (version "4", groupKey, truncatedAlerts, status, receiver,
  groupLabels, commonLabels, commonAnnotations, externalURL, alerts[] with status, labels, annotations,
  startsAt, endsAt, generatorURL, fingerprint), invoked directly.
- `alertmanager-sns-json`: an SNS message rendered as JSON (`{{ . | toJson }}`-style templates): the
  same shape without version and groupKey; hand-written JSON templates may also leave out fingerprint,
  times or generatorURL.
- `alertmanager-sns-text`: Alertmanager's default SNS message (`sns.default.message`): the common
  annotation values, then "Alerts Firing:" and "Alerts Resolved:" sections, each alert as "Labels:",
  " - name = value" lines, "Annotations:", " - name = value" lines and "Source: <generatorURL>". The SNS
  Subject (`sns.default.subject`, e.g. "[FIRING:2] HighLatency api (critical)") is kept in details. The
  text has no fingerprint and no times: observed_at is the SNS Timestamp. A multi-line annotation value
  is read back with its line breaks; a continuation line that itself looks like " - a = b" cannot be told
  apart from a new annotation.

Mapping:
- key `alertmanager/<fingerprint>`: the alert's fingerprint, and when the message has none (the text
  template, hand-written JSON) the fingerprint Alertmanager itself computes from the labels (FNV-1a 64 of
  the sorted label names and values, as prometheus/common `LabelSet.Fingerprint`), so that the same alert
  has the same key in every shape, firing and resolved.
- status per alert ("firing" / "resolved"; the group's status when an alert has none).
- severity from the `severity` label: critical (page, error, high, crit, fatal), warning (warn,
  medium), info (informational, low, none); no or another label: warning. SEV2 / SEV3 / SEV4.
- source "alertmanager"; check: the `alertname` label; component: the `service`, `job` or `instance`
  label (the first present), else the alert name. labels: the alert's labels as they are.
- details: reason (the `description`, else `summary`, annotation), all annotations, startsAt, endsAt,
  generatorURL, fingerprint, receiver, groupKey, groupLabels, externalURL, runbook_url.
- links: runbook (annotation `runbook_url` or `runbook`), dashboard (`dashboard_url`, `grafana_url`,
  `grafana` or `dashboard`), source (generatorURL); http(s) URLs only.
- summary: "HighLatency on api (critical): <summary or description annotation>", "RESOLVED: " before it
  when resolved; one line, at most 1024 characters.
- observed_at: startsAt when firing, endsAt (else startsAt) when resolved, else the delivery's time.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runbook.adapters.intake.common import (
    MAX_ALERTS,
    SEV_FOR_SEVERITY,
    Unreadable,
    bounded_key,
    http_url,
    json_type,
    optional_time,
    reason,
    severity_from_label,
    string_map,
    summary_line,
    text_or_none,
    without_none,
)
from runbook.models.alert import Alert, AlertStatus

SOURCE = "alertmanager"
COMPONENT_LABELS = ("service", "job", "instance")
RUNBOOK_ANNOTATIONS = ("runbook_url", "runbook")
DASHBOARD_ANNOTATIONS = ("dashboard_url", "grafana_url", "grafana", "dashboard")
FIRING_HEADER = "Alerts Firing:"
RESOLVED_HEADER = "Alerts Resolved:"

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = b"\xff"
_FINGERPRINT = re.compile(r"^[0-9a-fA-F]{1,32}$")
_TEXT_PAIR = re.compile(r"^\s*- (\S+) =(?: (.*))?$")


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of an alert: FNV-1a 64 over the label names in order, each name and
    value followed by the byte 0xff, as 16 hex digits (prometheus/common model.labelSetToFingerprint)."""
    hashed = _FNV_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + _SEPARATOR + labels[name].encode("utf-8", "surrogatepass") + _SEPARATOR:
            hashed = ((hashed ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{hashed:016x}"


def alert_key(alert_fingerprint: str) -> str:
    return bounded_key(f"{SOURCE}/{alert_fingerprint.lower()}")


@dataclass(frozen=True)
class Group:
    """What the group adds to each of its alerts."""

    status: str | None = None
    receiver: str | None = None
    group_key: str | None = None
    group_labels: dict[str, str] = field(default_factory=dict)
    external_url: str | None = None
    truncated_alerts: int | None = None
    subject: str | None = None


@dataclass(frozen=True)
class GroupRead:
    """The alerts of a group that were read, a reason for each one that was not, and how many alerts were
    beyond the limit and not read at all."""

    alerts: list[Alert]
    problems: list[str]
    beyond_limit: int


# --- JSON (webhook v4 and toJson) -----------------------------------------------------------------


def is_group(payload: dict[str, Any]) -> bool:
    return "alerts" in payload


def read_json_group(payload: dict[str, Any], fallback_time: datetime | None) -> GroupRead:
    raw_alerts = payload.get("alerts")
    if not isinstance(raw_alerts, list):
        raise Unreadable(f"alerts is a JSON {json_type(raw_alerts)}, expected an array")
    if not raw_alerts:
        raise Unreadable("an Alertmanager message with no alerts (alerts is empty)")
    truncated = payload.get("truncatedAlerts")
    group = Group(
        status=text_or_none(payload.get("status")),
        receiver=text_or_none(payload.get("receiver")),
        group_key=text_or_none(payload.get("groupKey")),
        group_labels=_lenient_map(payload.get("groupLabels")),
        external_url=http_url(payload.get("externalURL")),
        truncated_alerts=truncated
        if isinstance(truncated, int) and not isinstance(truncated, bool)
        else None,
    )
    alerts: list[Alert] = []
    problems: list[str] = []
    for index, raw in enumerate(raw_alerts[:MAX_ALERTS]):
        try:
            alerts.append(_json_alert(raw, group, fallback_time))
        except Unreadable as exc:
            problems.append(f"alerts[{index}]: {exc.reason}")
    return GroupRead(alerts, problems, max(0, len(raw_alerts) - MAX_ALERTS))


def _json_alert(raw: object, group: Group, fallback_time: datetime | None) -> Alert:
    if not isinstance(raw, dict):
        raise Unreadable(f"a JSON {json_type(raw)}, expected an object")
    labels = string_map(raw.get("labels"), "labels")
    annotations = string_map(raw.get("annotations"), "annotations")
    status = text_or_none(raw.get("status")) or group.status
    starts_at = optional_time(raw.get("startsAt"), "startsAt")
    ends_at = optional_time(raw.get("endsAt"), "endsAt")
    given = raw.get("fingerprint")
    return _alert(
        labels,
        annotations,
        status,
        group,
        starts_at=starts_at,
        ends_at=ends_at,
        fallback_time=fallback_time,
        generator_url=text_or_none(raw.get("generatorURL")),
        alert_fingerprint=given if isinstance(given, str) and _FINGERPRINT.match(given) else None,
    )


def _lenient_map(value: object) -> dict[str, str]:
    try:
        return string_map(value, "groupLabels")
    except Unreadable:
        return {}


# --- the default text template --------------------------------------------------------------------


def looks_like_text(message: str) -> bool:
    """The default SNS template: a section header and an alert's "Labels:" line."""
    lines = {line.strip() for line in message.splitlines()}
    return (FIRING_HEADER in lines or RESOLVED_HEADER in lines) and "Labels:" in lines


@dataclass
class _TextAlert:
    status: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    source: str | None = None


def parse_text(message: str) -> list[_TextAlert]:
    """The alerts of a message rendered with the default `sns.default.message` template, in order."""
    alerts: list[_TextAlert] = []
    status: str | None = None
    current: _TextAlert | None = None
    part: dict[str, str] | None = None
    last_name: str | None = None
    for line in message.splitlines():
        stripped = line.strip()
        if stripped in (FIRING_HEADER, RESOLVED_HEADER):
            status = "firing" if stripped == FIRING_HEADER else "resolved"
            current = part = last_name = None
            continue
        if status is None:
            continue  # the common annotations before the first section
        if stripped == "Labels:":
            current = _TextAlert(status)
            alerts.append(current)
            part, last_name = current.labels, None
            continue
        if current is None:
            continue
        if stripped == "Annotations:":
            part, last_name = current.annotations, None
            continue
        if stripped.startswith("Source:") and part is not None:
            current.source = stripped.removeprefix("Source:").strip() or None
            current = part = last_name = None
            continue
        pair = _TEXT_PAIR.match(line)
        if pair and part is not None:
            last_name = pair.group(1)
            part[last_name] = pair.group(2) or ""
        elif part is current.annotations and last_name is not None:
            part[last_name] += "\n" + line  # an annotation value of several lines
    for alert in alerts:
        alert.annotations = {name: value.rstrip("\n") for name, value in alert.annotations.items()}
    return alerts


def read_text_group(message: str, subject: str | None, sent_at: datetime) -> GroupRead:
    parsed = parse_text(message)
    if not parsed:
        raise Unreadable(
            "an Alertmanager message with no alerts (no Labels block under Alerts Firing or Alerts Resolved)"
        )
    group = Group(subject=subject)
    alerts: list[Alert] = []
    problems: list[str] = []
    for index, item in enumerate(parsed[:MAX_ALERTS]):
        try:
            alerts.append(
                _alert(
                    item.labels,
                    item.annotations,
                    item.status,
                    group,
                    starts_at=None,
                    ends_at=None,
                    fallback_time=sent_at,
                    generator_url=item.source,
                    alert_fingerprint=None,
                )
            )
        except Unreadable as exc:
            problems.append(f"alerts[{index}]: {exc.reason}")
    return GroupRead(alerts, problems, max(0, len(parsed) - MAX_ALERTS))


# --- the alert ------------------------------------------------------------------------------------


def _alert(
    labels: dict[str, str],
    annotations: dict[str, str],
    status: str | None,
    group: Group,
    *,
    starts_at: datetime | None,
    ends_at: datetime | None,
    fallback_time: datetime | None,
    generator_url: str | None,
    alert_fingerprint: str | None,
) -> Alert:
    if not labels:
        raise Unreadable("labels missing or empty")
    if status not in ("firing", "resolved"):
        raise Unreadable("status is neither firing nor resolved (alert and group)")
    alert_status: AlertStatus = "firing" if status == "firing" else "resolved"
    observed_at = (starts_at if alert_status == "firing" else ends_at or starts_at) or fallback_time
    if observed_at is None:
        raise Unreadable("no startsAt or endsAt to date the alert")
    severity = severity_from_label(labels.get("severity"))
    check = text_or_none(labels.get("alertname")) or "unnamed"
    component = next((text for name in COMPONENT_LABELS if (text := text_or_none(labels.get(name)))), check)
    alert_fingerprint = (alert_fingerprint or fingerprint(labels)).lower()
    what = next(
        (
            text
            for name in ("summary", "description", "message")
            if (text := text_or_none(annotations.get(name)))
        ),
        None,
    )
    head = f"{check} on {component} ({severity})" if component != check else f"{check} ({severity})"
    line = f"{head}: {what}" if what else head
    runbook = _first_url(annotations, RUNBOOK_ANNOTATIONS)
    links = without_none(
        {
            "runbook": runbook,
            "dashboard": _first_url(annotations, DASHBOARD_ANNOTATIONS),
            "source": http_url(generator_url),
        }
    )
    reason_text = text_or_none(annotations.get("description")) or text_or_none(annotations.get("summary"))
    return Alert(
        key=alert_key(alert_fingerprint),
        status=alert_status,
        severity=severity,
        sev=SEV_FOR_SEVERITY[severity],
        summary=summary_line(f"RESOLVED: {line}" if alert_status == "resolved" else line),
        source=SOURCE,
        check=check,
        component=component,
        observed_at=observed_at,
        details=without_none(
            {
                "reason": reason_text,
                "annotations": annotations or None,
                "starts_at": starts_at.isoformat() if starts_at else None,
                "ends_at": ends_at.isoformat() if ends_at else None,
                "generator_url": generator_url,
                "fingerprint": alert_fingerprint,
                "runbook_url": runbook,
                "receiver": group.receiver,
                "group_key": group.group_key,
                "group_labels": group.group_labels or None,
                "external_url": group.external_url,
                "truncated_alerts": group.truncated_alerts or None,
                "subject": group.subject,
            }
        ),
        labels=labels,
        links=links,
    )


def _first_url(annotations: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((url for name in names if (url := http_url(annotations.get(name)))), None)


def problems_reason(read: GroupRead, total: int) -> str:
    """One reason for the alerts of a group that could not be read."""
    return reason(
        f"{len(read.problems)} of {total} Alertmanager alerts unreadable: " + "; ".join(read.problems)
    )

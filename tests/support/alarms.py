"""The CloudWatch alarms of template.yaml, and the metrics a function printed in embedded metric format.

CloudWatch identifies a metric by namespace, name and its whole set of dimensions (names and values): an
alarm that names another set, or a dimension the record does not carry, watches a metric nobody sends
and, with missing data not breaching, never fires.
"""

from pathlib import Path
from typing import Any

from localrun.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]

MetricId = tuple[str, str, frozenset[tuple[str, str]]]


def template_alarm(logical_id: str, template: Path = ROOT / "template.yaml") -> dict[str, Any]:
    resource = load_template(template)["Resources"][logical_id]
    assert resource["Type"] == "AWS::CloudWatch::Alarm", logical_id
    properties: dict[str, Any] = resource["Properties"]
    return properties


def alarm_metric(alarm: dict[str, Any]) -> MetricId:
    dimensions = frozenset((d["Name"], d["Value"]) for d in alarm.get("Dimensions", []))
    return alarm["Namespace"], alarm["MetricName"], dimensions


def emitted_metrics(records: list[dict[str, Any]]) -> set[MetricId]:
    """Every metric the EMF records define: one per (directive, metric, dimension set)."""
    emitted: set[MetricId] = set()
    for record in records:
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                for dimension_set in directive["Dimensions"]:
                    dimensions = frozenset((name, str(record[name])) for name in dimension_set)
                    emitted.add((directive["Namespace"], metric["Name"], dimensions))
    return emitted


def assert_alarm_watches_what_was_emitted(alarm_id: str, records: list[dict[str, Any]]) -> None:
    watched = alarm_metric(template_alarm(alarm_id))
    same_name = sorted(m for m in emitted_metrics(records) if m[1] == watched[1])
    assert same_name, f"{alarm_id} watches {watched[1]}, which the function did not emit"
    assert watched in same_name, f"{alarm_id} watches {watched}; the function emitted {same_name}"

"""Level-triggered Statuspage sync, the decisions (pure): from the open SEV1/SEV2 alerts compute what
the page should show, compare it with what the project last wrote and what the page shows now, and
plan the one write that moves the page towards it. Redelivered, reordered or lost messages all end
in the same page, because nothing here depends on which message came last.

What a person changed by hand (an incident's status or impact, a component's status) is never
overwritten: the incident, or that component, is left alone, and the plan says so once.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from runbook.models.status_config import COMPONENT_RANK, IMPACT_RANK, StatuspageConfig
from runbook.models.status_state import OpenAlert, OwnedIncident
from runbook.text import human_duration

OWNER_METADATA = {"runbook_automation": {"owned": "true"}}


@dataclass(frozen=True)
class Desired:
    components: dict[str, str]  # component id -> status, affected ones only
    impact: str

    @property
    def outage(self) -> bool:
        return bool(self.components)


@dataclass(frozen=True)
class Observed:
    """The incident as the page shows it now."""

    status: str
    impact: str
    components: dict[str, str]


@dataclass(frozen=True)
class PageWrite:
    kind: Literal["create", "update"]
    status: str | None = None
    impact: str | None = None
    name: str | None = None
    body: str | None = None
    components: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    write: PageWrite | None = None
    record: OwnedIncident | None = None  # to save after the write (with the new incident id on create)
    clear: bool = False  # the incident is over: forget the record
    notices: tuple[str, ...] = ()  # for #ops-alerts


def desired_state(alerts: list[OpenAlert], config: StatuspageConfig) -> Desired:
    components: dict[str, str] = {}
    impact = "none"
    for alert in alerts:
        if alert.sev not in config.sevs:
            continue
        status = "degraded_performance" if alert.degraded else config.status[alert.sev]
        level = "minor" if alert.degraded else config.impact[alert.sev]
        for component in config.components:
            if component.match.matches(alert):
                if COMPONENT_RANK[status] > COMPONENT_RANK.get(
                    components.get(component.id, "operational"), 0
                ):
                    components[component.id] = status
                if IMPACT_RANK[level] > IMPACT_RANK[impact]:
                    impact = level
    return Desired(components, impact if components else "none")


def plan(
    desired: Desired,
    record: OwnedIncident | None,
    observed: Observed | None,
    now: datetime,
    config: StatuspageConfig,
) -> Plan:
    if record is None:
        return _open(desired, now, config) if desired.outage else Plan()
    if observed is None:  # deleted on the page by a person
        return _hands_off(record, now, "the incident was deleted on the page", desired)
    if record.hands_off:
        return Plan(clear=True) if not desired.outage else Plan()
    if observed.status != record.status or observed.impact != record.impact:
        what = (
            f"status {observed.status}" if observed.status != record.status else f"impact {observed.impact}"
        )
        return _hands_off(record, now, f"a person set its {what}", desired)
    record, notices = _note_hand_edited_components(record, observed, now, config)
    if desired.outage:
        return _follow_outage(desired, record, now, config, notices)
    return _recover(record, now, config, notices)


def _open(desired: Desired, now: datetime, config: StatuspageConfig) -> Plan:
    names = _names(desired.components, config)
    worst = max(desired.components.values(), key=lambda s: COMPONENT_RANK[s])
    name = config.wording.name.format(components=names, problem=config.wording.problems[worst])  # type: ignore[index]
    body = config.wording.investigating.format(components=names)
    record = OwnedIncident(
        incident_id="",  # known once created
        name=name,
        status="investigating",
        impact=desired.impact,
        components=dict(desired.components),
        opened_at=now,
    ).noted(now, f"Statuspage incident opened: investigating ({_describe(desired.components, config)})")
    write = PageWrite("create", "investigating", desired.impact, name, body, dict(desired.components))
    return Plan(write=write, record=record)


def _follow_outage(
    desired: Desired, record: OwnedIncident, now: datetime, config: StatuspageConfig, notices: tuple[str, ...]
) -> Plan:
    mine = {c: s for c, s in record.components.items() if c not in record.hands_off_components}
    wanted = {c: s for c, s in desired.components.items() if c not in record.hands_off_components}
    # Components no longer affected go back to operational; new ones join the incident.
    target = {c: "operational" for c in mine} | wanted
    back_from_monitoring = record.status == "monitoring"
    impact = desired.impact if IMPACT_RANK[desired.impact] > IMPACT_RANK[record.impact] else record.impact
    changes = {c: s for c, s in target.items() if mine.get(c) != s}
    if not changes and not back_from_monitoring and impact == record.impact:
        return Plan(record=record if notices else None, notices=notices)
    status = "investigating" if back_from_monitoring else record.status
    body = config.wording.update.format(components=_names(wanted, config))
    new = record.model_copy(
        update={
            "status": status,
            "impact": impact,
            "components": {**record.components, **changes},
            "monitoring_since": None,
        }
    ).noted(now, f"Statuspage: {status}, {_describe(wanted, config)}")
    write = PageWrite("update", status, impact if impact != record.impact else None, None, body, changes)
    return Plan(write=write, record=new, notices=notices)


def _recover(
    record: OwnedIncident, now: datetime, config: StatuspageConfig, notices: tuple[str, ...]
) -> Plan:
    mine = [c for c in record.components if c not in record.hands_off_components]
    names = _names(dict.fromkeys(record.components, ""), config)
    if record.status != "monitoring":
        back = {c: "operational" for c in mine if record.components[c] != "operational"}
        new = record.model_copy(
            update={
                "status": "monitoring",
                "components": {**record.components, **back},
                "monitoring_since": now,
            }
        ).noted(now, "All alerts resolved: Statuspage monitoring, components operational")
        body = config.wording.monitoring.format(components=names)
        return Plan(
            write=PageWrite("update", "monitoring", None, None, body, back), record=new, notices=notices
        )
    if record.monitoring_since and (now - record.monitoring_since).total_seconds() >= config.quiet_period:
        body = config.wording.resolved.format(components=names)
        notice = (
            f"Resolved on the status page: {record.name} (quiet for {human_duration(config.quiet_period)})"
        )
        return Plan(
            write=PageWrite("update", "resolved", None, None, body, {}),
            clear=True,
            notices=(*notices, notice),
        )
    return Plan(record=record if notices else None, notices=notices)


def _hands_off(record: OwnedIncident, now: datetime, why: str, desired: Desired) -> Plan:
    notice = (
        f"Statuspage incident {record.name!r} was changed by hand ({why}): "
        "runbook-automation leaves it alone."
    )
    if not desired.outage:
        return Plan(clear=True, notices=(notice,))
    new = record.model_copy(update={"hands_off": True}).noted(now, notice)
    return Plan(record=new, notices=(notice,))


def _note_hand_edited_components(
    record: OwnedIncident, observed: Observed, now: datetime, config: StatuspageConfig
) -> tuple[OwnedIncident, tuple[str, ...]]:
    edited = [
        c
        for c, status in record.components.items()
        if c not in record.hands_off_components
        and c in observed.components
        and observed.components[c] != status
    ]
    if not edited:
        return record, ()
    names = _names(dict.fromkeys(edited, ""), config)
    notice = f"Statuspage component(s) {names} changed by hand: runbook-automation leaves them alone."
    new = record.model_copy(update={"hands_off_components": [*record.hands_off_components, *edited]})
    return new.noted(now, notice), (notice,)


def _names(components: dict[str, str], config: StatuspageConfig) -> str:
    by_id = {c.id: c.name for c in config.components}
    names = [by_id.get(c, c) for c in components]
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _describe(components: dict[str, str], config: StatuspageConfig) -> str:
    by_id = {c.id: c.name for c in config.components}
    return ", ".join(f"{by_id.get(c, c)} {s.replace('_', ' ')}" for c, s in components.items()) or "none"

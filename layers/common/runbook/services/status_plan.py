"""Level-triggered Statuspage sync, the decisions (pure): from the open SEV1/SEV2 alerts compute what
the page should show, compare it with what the project last wrote and what the page shows now, and
plan the one write that moves the page towards it. Redelivered, reordered or lost messages all end
in the same page, because nothing here depends on which message came last.

What a person changed by hand (an incident's status or impact, a component's status) is never
overwritten: the incident, or that component, is left alone, and the plan says so once. An incident a
person took over is followed until it is resolved (or deleted) on the page: no other incident opens
meanwhile, and each new failure is told in #incident-room instead (`Plan.room`). Once the person
closed it, the alerts still firing from it open nothing; a later failure opens a new incident.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from runbook.models.status_config import COMPONENT_RANK, IMPACT_RANK, StatuspageConfig
from runbook.models.status_state import MAX_PEOPLE_ALERTS, OpenAlert, OwnedIncident
from runbook.text import human_duration

OWNER_METADATA = {"runbook_automation": {"owned": "true"}}
MAX_NAMED_FAILURES = 10  # in one #incident-room message


@dataclass(frozen=True)
class Desired:
    components: dict[str, str]  # component id -> status, affected ones only
    impact: str
    causes: tuple[OpenAlert, ...] = ()  # the open alerts that affect a component

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
    room: tuple[str, ...] = ()  # for #incident-room: new failures while a person has the incident


def desired_state(alerts: list[OpenAlert], config: StatuspageConfig) -> Desired:
    components: dict[str, str] = {}
    impact = "none"
    causes: list[OpenAlert] = []
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
                if not causes or causes[-1] is not alert:
                    causes.append(alert)
    return Desired(components, impact if components else "none", tuple(causes))


def plan(
    desired: Desired,
    record: OwnedIncident | None,
    observed: Observed | None,
    now: datetime,
    config: StatuspageConfig,
) -> Plan:
    if record is None:
        return _open(desired, now, config) if desired.outage else Plan()
    if record.hands_off:
        return _follow_persons_incident(desired, record, observed, now, config)
    if observed is None:  # deleted on the page by a person
        return _hands_off(record, observed, now, "the incident was deleted on the page", desired)
    if observed.status != record.status or observed.impact != record.impact:
        what = (
            f"status {observed.status}" if observed.status != record.status else f"impact {observed.impact}"
        )
        return _hands_off(record, observed, now, f"a person set its {what}", desired)
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


def _hands_off(
    record: OwnedIncident, observed: Observed | None, now: datetime, why: str, desired: Desired
) -> Plan:
    """A person took the incident over: from now on it is theirs, and so are the alerts open now."""
    closed = observed is None or observed.status == "resolved"
    then = (
        "A new failure opens a new incident."
        if closed
        else "Reminders continue while it is open; new failures are told in #incident-room."
    )
    notice = (
        f"Statuspage incident {record.name!r} was changed by hand ({why}): "
        f"runbook-automation leaves it alone. {then}"
    )
    people_alerts = _keys(desired.causes)
    if closed and not people_alerts:
        return Plan(clear=True, notices=(notice,))
    new = record.model_copy(
        update={"hands_off": True, "page_closed": closed, "people_alerts": people_alerts}
    ).noted(now, notice)
    return Plan(record=new, notices=(notice,))


def _follow_persons_incident(
    desired: Desired,
    record: OwnedIncident,
    observed: Observed | None,
    now: datetime,
    config: StatuspageConfig,
) -> Plan:
    """An incident a person took over: followed (read, reminded) until it is resolved or deleted on the
    page. Meanwhile no other incident opens, and each new failure is told in #incident-room. Then the
    alerts still open from it open nothing; a later failure opens a new incident."""
    notices: tuple[str, ...] = ()
    if not record.page_closed and (observed is None or observed.status == "resolved"):
        how = "deleted" if observed is None else "resolved"
        notice = (
            f"Statuspage incident {record.name!r} was {how} by hand: reminders stop; "
            "a new failure opens a new incident."
        )
        record = record.model_copy(update={"page_closed": True}).noted(now, notice)
        notices = (notice,)
    open_keys = set(_keys(desired.causes))
    still_open = [key for key in record.people_alerts if key in open_keys]
    new_failures = [alert for alert in desired.causes if alert.key not in record.people_alerts]
    if record.page_closed:
        if new_failures:
            opened = _open(desired, now, config)
            return Plan(write=opened.write, record=opened.record, notices=notices)
        if not still_open:
            return Plan(clear=True, notices=notices)
        if not notices and still_open == record.people_alerts:
            return Plan()
        return Plan(record=record.model_copy(update={"people_alerts": still_open}), notices=notices)
    if not new_failures and still_open == record.people_alerts:
        return Plan(notices=notices)
    keys = _keys((*still_open, *(a.key for a in new_failures)))
    new = record.model_copy(update={"people_alerts": keys})
    room: tuple[str, ...] = ()
    if new_failures:
        room = (_new_failures_message(record, new_failures, config),)
        new = new.noted(now, f"New failure told in #incident-room: {_summaries(new_failures)}")
    return Plan(record=new, notices=notices, room=room)


def _new_failures_message(record: OwnedIncident, failures: list[OpenAlert], config: StatuspageConfig) -> str:
    lines = [
        f"- {alert.summary} ({alert.sev}; {_names(_components_of(alert, config), config)})"
        for alert in failures[:MAX_NAMED_FAILURES]
    ]
    if len(failures) > MAX_NAMED_FAILURES:
        lines.append(f"- and {len(failures) - MAX_NAMED_FAILURES} more")
    return (
        f"New failure while {record.name!r} is handled by hand on the status page:\n"
        + "\n".join(lines)
        + "\nrunbook-automation opens no second incident while that one is open: "
        "add it there if customers are affected."
    )


def _components_of(alert: OpenAlert, config: StatuspageConfig) -> dict[str, str]:
    return {c.id: "" for c in config.components if c.match.matches(alert)}


def _summaries(alerts: list[OpenAlert]) -> str:
    shown = "; ".join(a.summary for a in alerts[:3])
    return shown + (f" (+{len(alerts) - 3})" if len(alerts) > 3 else "")


def _keys(items: Iterable[OpenAlert | str]) -> list[str]:
    """Alert keys in order, once each, at most MAX_PEOPLE_ALERTS."""
    keys = (item if isinstance(item, str) else item.key for item in items)
    return list(dict.fromkeys(keys))[:MAX_PEOPLE_ALERTS]


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

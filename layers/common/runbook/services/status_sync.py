"""StatuspageUpdateFunction's service: keep the customer status page true during SEV1/SEV2 incidents and
keep the incident room updating it.

- Alert messages only update the set of open SEV1/SEV2 alerts in the state table; then the page is
  reconciled with it (services/status_plan.py): level-triggered, so a redelivered, reordered or lost
  message cannot leave the page wrong for longer than the next sync.
- The minute schedule reconciles too (the quiet period ends without any message) and reminds
  #incident-room when an open incident has had no update for `slack.update_every`.
- An incident a person took over is read back on every sync (one GET) until the page shows it
  resolved or deleted: reminders continue meanwhile, whether or not its alerts still fire, and a new
  failure is told in #incident-room rather than opening a second incident.
- A write Statuspage refuses or rate-limits beyond the retries fails the invocation, so Lambda retries it
  (then the dead-letter queue keeps the event); the open alerts are recorded before, so nothing is lost.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from runbook import telemetry
from runbook.adapters.intake import Rejected, read_event
from runbook.adapters.parameters import SecretResolver
from runbook.adapters.slack import SlackMessage
from runbook.adapters.status_state import StatusState
from runbook.models.alert import Alert
from runbook.models.config import RunbookConfig
from runbook.models.events import is_schedule
from runbook.models.secrets import SecretRef
from runbook.models.status_config import StatuspageConfig
from runbook.models.status_state import OpenAlert, OwnedIncident
from runbook.models.statuspage_api import IncidentChange, IncidentDraft, SpIncident, SpIncidentUpdate
from runbook.services.rejections import DeadLetterKeeper, keep_rejected, raise_if_lost
from runbook.services.status_plan import OWNER_METADATA, Observed, Plan, desired_state, plan
from runbook.text import human_duration

MAX_TIMELINE_LINES = 20  # in a reminder


class StatusPage(Protocol):
    def get_incident(self, incident_id: str, deadline: float) -> SpIncident | None: ...

    def create_incident(self, draft: IncidentDraft, deadline: float) -> SpIncident: ...

    def update_incident(self, incident_id: str, change: IncidentChange, deadline: float) -> SpIncident: ...


class Chat(Protocol):
    def post(self, webhook_url: str, message: SlackMessage, deadline: float) -> None: ...


class StatusReporter(Protocol):
    def page_written(self, kind: str, incident_id: str, status: str | None) -> None: ...

    def notice(self, text: str) -> None: ...

    def rejected(self, reason: str, kept: bool) -> None: ...


@dataclass
class StatusDependencies:
    config: RunbookConfig
    state: StatusState
    page: Callable[[], StatusPage]  # built on first use: its API key is a secret
    chat: Chat
    secrets: SecretResolver
    dead_letters: DeadLetterKeeper
    reporter: StatusReporter
    now: Callable[[], datetime]

    @property
    def statuspage(self) -> StatuspageConfig:
        if self.config.statuspage is None:
            raise ValueError("the runbook config has no `statuspage:` section: nothing to keep true")
        return self.config.statuspage


class StatusSummary(BaseModel):
    alerts_recorded: int = 0
    stale: int = 0
    rejected: int = 0
    open_alerts: int = 0
    wrote: str | None = None
    incident_id: str | None = None
    notices: list[str] = Field(default_factory=list)
    told_room: int = 0  # new failures told in #incident-room while a person has the incident
    reminded: bool = False


def handle_status_event(event: Any, deps: StatusDependencies, budget_s: float) -> StatusSummary:
    deadline = time.monotonic() + budget_s
    summary = StatusSummary()
    scheduled = is_schedule(event)
    lost = 0
    if not scheduled:
        for item in read_event(event):
            if isinstance(item, Rejected):
                lost += not keep_rejected(item, deps.dead_letters, deps.reporter)
                summary.rejected += 1
                continue
            for alert in item.alerts:
                if _record(alert, deps):
                    summary.alerts_recorded += 1
                else:
                    summary.stale += 1
    summary = _sync(deps, deadline, summary, remind=scheduled)
    telemetry.record_status_sync(summary.reminded)
    raise_if_lost(lost)
    return summary


def _record(alert: Alert, deps: StatusDependencies) -> bool:
    """Open while it fires at a SEV the page shows; anything else (resolved, or de-escalated below it)
    takes it off the page."""
    config = deps.statuspage
    if alert.status == "firing" and alert.sev in config.sevs:
        open_alert = OpenAlert(
            key=alert.key,
            source=alert.source,
            check=alert.check,
            component=alert.component,
            severity=alert.severity,
            sev=alert.sev,
            labels=alert.labels,
            summary=alert.summary,
            observed_at=alert.observed_at,
            degraded=str(alert.details.get("outcome")) in config.degraded_outcomes,
        )
        return deps.state.record_alert(alert.key, alert.observed_at, open_alert)
    return deps.state.record_alert(alert.key, alert.observed_at, None)


def _sync(deps: StatusDependencies, deadline: float, summary: StatusSummary, remind: bool) -> StatusSummary:
    config, now = deps.statuspage, deps.now()
    alerts = deps.state.open_alerts()
    summary.open_alerts = len(alerts)
    record = deps.state.incident()
    followed = record is not None and not record.page_closed
    actual = deps.page().get_incident(record.incident_id, deadline) if record and followed else None
    observed = _observed(actual)
    decided = plan(desired_state(alerts, config), record, observed, now, config)
    # Before the record is saved: a post that fails is retried with the invocation, not lost.
    for message in decided.room:
        _tell(config.slack.incident_room, message, deps, deadline)
        deps.reporter.notice(message)
        summary.told_room += 1
    record = _apply(decided, record, deps, deadline, summary)
    for notice in decided.notices:
        _tell(config.slack.ops_alerts, notice, deps, deadline)
        deps.reporter.notice(notice)
        summary.notices.append(notice)
    # Also for an incident a person took over, until it is closed on the page: the room still updates.
    if remind and record is not None and not record.page_closed:
        summary.reminded = _remind(record, actual, alerts, deps, deadline)
    return summary


def _apply(
    decided: Plan,
    record: OwnedIncident | None,
    deps: StatusDependencies,
    deadline: float,
    summary: StatusSummary,
) -> OwnedIncident | None:
    write, new = decided.write, decided.record
    if write is not None and write.kind == "create" and new is not None:
        draft = IncidentDraft(
            name=write.name or "",
            status=write.status,
            impact_override=write.impact,
            body=write.body,
            components=write.components,
            metadata=OWNER_METADATA,
        )
        created = deps.page().create_incident(draft, deadline)
        new = new.model_copy(update={"incident_id": created.id, "shortlink": created.shortlink})
        link = f" {created.shortlink}" if created.shortlink else ""
        _tell(
            deps.statuspage.slack.ops_alerts, f"Status page incident opened: {new.name}{link}", deps, deadline
        )
        deps.reporter.page_written("create", created.id, write.status)
        summary.wrote, summary.incident_id = "create", created.id
    elif write is not None and record is not None:
        change = IncidentChange(
            status=write.status,
            body=write.body,
            components=write.components or None,
            impact_override=write.impact,
        )
        deps.page().update_incident(record.incident_id, change, deadline)
        deps.reporter.page_written("update", record.incident_id, write.status)
        summary.wrote, summary.incident_id = "update", record.incident_id
    if decided.clear and record is not None:
        deps.state.clear_incident(record)
        return None
    if new is not None:
        version = record.version if record is not None else 0
        return deps.state.save_incident(new.model_copy(update={"version": version}))
    return record


def _remind(
    record: OwnedIncident,
    actual: SpIncident | None,
    alerts: list[OpenAlert],
    deps: StatusDependencies,
    deadline: float,
) -> bool:
    """#incident-room gets a reminder once per interval while nobody posted an update on the page."""
    config, now = deps.statuspage, deps.now()
    every = config.slack.update_every
    updates = actual.incident_updates if actual is not None else []
    last_update = max([record.opened_at, *(u.created_at for u in updates)])
    quiet = (now - last_update).total_seconds()
    since_reminder = (now - record.last_reminder_at).total_seconds() if record.last_reminder_at else None
    if quiet < every or (since_reminder is not None and since_reminder < every):
        return False
    text = (
        f"Reminder: no update on {record.name!r} for {human_duration(quiet)} "
        f"(runbook: every {human_duration(every)}). Post one on the status page and here.\n"
        f"{_timeline(record, updates, alerts)}"
    )
    _tell(config.slack.incident_room, text, deps, deadline)
    deps.state.save_incident(record.model_copy(update={"last_reminder_at": now}))
    return True


def _timeline(record: OwnedIncident, updates: list[SpIncidentUpdate], alerts: list[OpenAlert]) -> str:
    """What happened so far: the alerts that opened, what was written on the page and by whom."""
    events = [(a.observed_at, f"alert: {a.summary}") for a in alerts]
    events += [(e.at, e.text) for e in record.timeline]
    events += [(u.created_at, f"status page ({u.status}): {u.body}") for u in updates if u.body]
    lines = [f"{at:%H:%M} {text}" for at, text in sorted(events, key=lambda e: e[0])]
    return "Timeline so far (UTC):\n" + "\n".join(lines[-MAX_TIMELINE_LINES:])


def _tell(webhook: SecretRef | None, text: str, deps: StatusDependencies, deadline: float) -> None:
    if webhook is None:
        return
    url = deps.secrets.resolve_all([webhook]).value(webhook)
    deps.chat.post(url, SlackMessage(text=text), deadline)


def _observed(actual: SpIncident | None) -> Observed | None:
    if actual is None:
        return None
    return Observed(
        status=actual.status, impact=actual.impact, components={c.id: c.status for c in actual.components}
    )

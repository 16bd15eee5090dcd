"""The vendors of a sandbox run: the PagerDuty, Statuspage and Slack stand-ins (tools/standins; each checks
every request against its vendor's published spec and records what a vendor would refuse), set up for
the run's config, and what they recorded turned into timeline lines.

PagerDuty's Events API opens an incident for a triggered alert on the routing key's service; the
stand-in keeps events and incidents apart, so the sandbox does that step: an accepted trigger opens an
incident on the service's `service_id` (with an escalation policy of as many levels as the config's
`ack.path`), a resolve resolves it, an acknowledge acknowledges it. The ack-deadline sweep then finds
these incidents through the REST API, as it would find PagerDuty's.
"""

from dataclasses import dataclass, field
from typing import Any

from runbook.models.config import RunbookConfig
from sandbox.secrets import VendorCredentials
from sandbox.timeline import Timeline
from standins.pagerduty_standin import PagerDutyStandin, StandinIncident
from standins.slack_receiver import SlackReceiver
from standins.statuspage_standin import PAGE_ID, StatuspageStandin

POLICY_ID = "PEPSBX1"
NO_SWEEP_SERVICE = "PNOSWEEP"
HIGH_URGENCY = ("critical", "error")
SHOWN_SLACK_LINE = 140


@dataclass
class _Seen:
    pd_events: int = 0
    pd_escalations: int = 0
    sp_updates: dict[str, int] = field(default_factory=dict)
    sp_rate_limited: int = 0
    slack: int = 0
    violations: dict[str, int] = field(default_factory=dict)


class Vendors:
    def __init__(self, config: RunbookConfig) -> None:
        self.config = config
        self.slack = SlackReceiver().start()
        self.pagerduty: PagerDutyStandin | None = None
        self.statuspage: StatuspageStandin | None = None
        self.credentials = VendorCredentials()
        self._incidents: dict[tuple[str, str], StandinIncident] = {}  # (routing key, dedup key)
        self._seen = _Seen()

    def start(self, credentials: VendorCredentials) -> "Vendors":
        """Start PagerDuty and Statuspage with the credentials the functions will send."""
        self.credentials = credentials
        self.pagerduty = PagerDutyStandin(token=credentials.pagerduty_token or "unused").start()
        levels = len(self.config.pagerduty.ack.path) if self.config.pagerduty else 4
        self.pagerduty.add_policy(POLICY_ID, levels=max(levels, 1), name="Sandbox escalation policy")
        statuspage = self.config.statuspage
        self.statuspage = StatuspageStandin(
            api_key=credentials.statuspage_api_key or "unused",
            page_id=statuspage.page_id if statuspage else PAGE_ID,
        ).start()
        for component in statuspage.components if statuspage else []:
            self.statuspage.add_component(component.id, component.name)
        return self

    def function_env(self) -> dict[str, str]:
        assert self.pagerduty is not None, "start() first"
        assert self.statuspage is not None, "start() first"
        return {
            "PAGERDUTY_EVENTS_URL": self.pagerduty.events_url,
            "PAGERDUTY_API_URL": self.pagerduty.rest_url,
            "STATUSPAGE_API_URL": self.statuspage.base_url,
        }

    def close(self) -> None:
        for standin in (self.pagerduty, self.statuspage, self.slack):
            if standin is not None:
                standin.close()

    @property
    def violations(self) -> int:
        return sum(len(s.violations) for s in (self.pagerduty, self.statuspage, self.slack) if s is not None)

    # ------------------------------------------------------------ what they recorded, as timeline lines
    def collect(self, timeline: Timeline) -> None:
        self._pagerduty(timeline)
        self._statuspage(timeline)
        self._slack(timeline)
        self._violations(timeline)

    def _pagerduty(self, timeline: Timeline) -> None:
        standin = self.pagerduty
        if standin is None:
            return
        # Collected between invocations, when no request is in flight: the lists stand still.
        events = standin.events[self._seen.pd_events :]
        escalations = standin.escalations[self._seen.pd_escalations :]
        notes = list(standin.notes)
        self._seen.pd_events += len(events)
        self._seen.pd_escalations += len(escalations)
        for event in events:
            payload = event.get("payload") or {}
            service = self.credentials.routing_keys.get(event.get("routing_key", ""), "unknown routing key")
            action, dedup = event.get("event_action"), event.get("dedup_key")
            text = f"{action} {dedup}"
            if action == "trigger":
                text += f" severity={payload.get('severity')} service={service}: {payload.get('summary')}"
            timeline.add(
                "pagerduty", "PagerDuty", text, action=action, dedup_key=dedup, service=service, event=event
            )
            self._follow(event, service, timeline)
        for escalation in escalations:
            note = next((n.content for n in notes if n.incident_id == escalation.incident_id), "")
            timeline.add(
                "pagerduty",
                "PagerDuty",
                f"incident {escalation.incident_id} escalated to level {escalation.level}: {note}",
                action="escalate",
                incident=escalation.incident_id,
                level=escalation.level,
                note=note,
            )

    def _follow(self, event: dict[str, Any], service: str, timeline: Timeline) -> None:
        """What PagerDuty does with an accepted event to its incidents."""
        standin = self.pagerduty
        assert standin is not None
        key = (str(event.get("routing_key")), str(event.get("dedup_key")))
        action = event.get("event_action")
        incident = self._incidents.get(key)
        if action == "trigger" and (incident is None or incident.status == "resolved"):
            payload = event.get("payload") or {}
            urgency = "high" if payload.get("severity") in HIGH_URGENCY else "low"
            service_id = NO_SWEEP_SERVICE
            if self.config.pagerduty and service in self.config.pagerduty.services:
                service_id = self.config.pagerduty.services[service].service_id or NO_SWEEP_SERVICE
            incident = standin.add_incident(
                service_id=service_id,
                policy_id=POLICY_ID,
                title=str(payload.get("summary") or key[1])[:1024],
                urgency=urgency,
                incident_key=key[1],
            )
            self._incidents[key] = incident
            timeline.add(
                "pagerduty",
                "PagerDuty",
                f"incident {incident.id} opened on {service_id}, {urgency} urgency, level 1",
                action="incident",
                incident=incident.id,
                urgency=urgency,
                dedup_key=key[1],
            )
        elif action in ("resolve", "acknowledge") and incident is not None and incident.status != "resolved":
            incident.status = "resolved" if action == "resolve" else "acknowledged"
            timeline.add(
                "pagerduty",
                "PagerDuty",
                f"incident {incident.id} {incident.status}",
                action=f"incident-{incident.status}",
                incident=incident.id,
                dedup_key=key[1],
            )

    def _statuspage(self, timeline: Timeline) -> None:
        standin = self.statuspage
        if standin is None:
            return
        incidents = list(standin.incidents.values())
        rate_limited = standin.rate_limited
        for incident in incidents:
            seen = self._seen.sp_updates.get(incident.id, 0)
            for n, update in enumerate(incident.updates[seen:], start=seen):
                changes = [
                    f"{c['name']} {c['old_status']} -> {c['new_status']}" for c in update.affected_components
                ]
                what = f"incident {incident.id} '{incident.name}' " + ("opened" if n == 0 else "updated")
                text = f"{what}: {update.status}, impact {incident.impact}"
                if changes:
                    text += "; " + "; ".join(changes)
                timeline.add(
                    "statuspage",
                    "Statuspage",
                    text,
                    incident=incident.id,
                    name=incident.name,
                    status=update.status,
                    impact=incident.impact,
                    components=update.affected_components,
                    body=update.body,
                )
            self._seen.sp_updates[incident.id] = len(incident.updates)
        if rate_limited > self._seen.sp_rate_limited:
            timeline.add(
                "statuspage",
                "Statuspage",
                f"answered 429 to {rate_limited - self._seen.sp_rate_limited} request(s) "
                "(1 request a second per token); the adapter waited and retried",
                rate_limited=rate_limited - self._seen.sp_rate_limited,
            )
            self._seen.sp_rate_limited = rate_limited

    def _slack(self, timeline: Timeline) -> None:
        received = self.slack.received()
        for request in received[self._seen.slack :]:
            channel = request.channel or "?"
            if request.status != 200:
                timeline.add("slack", "Slack", f"#{channel} answered {request.status} {request.answer}")
                continue
            text = str(request.json().get("text", ""))
            lines = text.splitlines() or [""]
            shown = lines[0][:SHOWN_SLACK_LINE] + (f" (+{len(lines) - 1} lines)" if len(lines) > 1 else "")
            timeline.add("slack", "Slack", f"#{channel}: {shown}", channel=channel, message=text)
        self._seen.slack = len(received)

    def _violations(self, timeline: Timeline) -> None:
        for name, standin in (
            ("PagerDuty", self.pagerduty),
            ("Statuspage", self.statuspage),
            ("Slack", self.slack),
        ):
            if standin is None:
                continue
            seen = self._seen.violations.get(name, 0)
            for violation in standin.violations[seen:]:
                timeline.add("violation", name, f"{name} would refuse: {violation}", violation=str(violation))
            self._seen.violations[name] = len(standin.violations)

    # ------------------------------------------------------------ the end
    def final_state(self) -> list[str]:
        lines = []
        if self.pagerduty is not None:
            incidents = sorted(self.pagerduty.incidents.values(), key=lambda i: i.number)
            shown = [f"{i.id} {i.status} (level {i.escalation_level}, {i.urgency})" for i in incidents]
            lines.append("PagerDuty incidents: " + (", ".join(shown) or "none"))
        if self.statuspage is not None:
            pages = [f"'{i.name}' {i.status}" for i in self.statuspage.incidents.values()]
            lines.append("Statuspage incidents: " + (", ".join(pages) or "none"))
            components = [f"{c.name} {c.status}" for c in self.statuspage.components.values()]
            lines.append("Statuspage components: " + (", ".join(components) or "none"))
        per_channel: dict[str, int] = {}
        for request in self.slack.received():
            if request.status == 200 and request.channel:
                per_channel[request.channel] = per_channel.get(request.channel, 0) + 1
        lines.append(
            "Slack messages: " + (", ".join(f"#{c} {n}" for c, n in sorted(per_channel.items())) or "none")
        )
        return lines

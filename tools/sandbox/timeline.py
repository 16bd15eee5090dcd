"""The sandbox's timeline: what happened, when (seconds since the start) and in which tick, as readable
lines or as JSON lines, and the one-line summaries of what each function returned."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import IO, Any

MAX_TEXT = 180
WHO_WIDTH = 28


@dataclass(frozen=True)
class Entry:
    t: float  # seconds since the start
    tick: int  # 0: setup, 1..N: the ticks, N+1: the end
    kind: str  # setup, tick, target, invoke, publish, deliver, filtered, retry, dead-letter,
    #            pagerduty, statuspage, slack, violation, summary
    who: str  # the function, topic, stand-in or target the line is about
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        if self.kind == "tick":
            return f"\n{self.text}  (+{self.t:.1f}s)"
        if self.kind in ("setup", "summary"):
            return f"{self.who:<14}  {self.text}" if self.who else self.text
        indent = "  -> " if self.kind in ("deliver", "filtered") else ""
        text = self.text if len(self.text) <= MAX_TEXT else self.text[: MAX_TEXT - 1] + "…"
        return f"{self.t:+7.1f}s  {indent + self.who:<{WHO_WIDTH}} {text}"

    def json(self) -> str:
        return json.dumps(asdict(self), default=str, separators=(",", ":"))


class Timeline:
    def __init__(self, sink: Callable[[Entry], None] | None = None) -> None:
        self.started = time.monotonic()
        self.tick = 0
        self.entries: list[Entry] = []
        self._sink = sink
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Times from here on count from now (the first tick is +0.0s)."""
        self.started = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.started

    def add(self, kind: str, who: str, text: str, at: float | None = None, **data: Any) -> Entry:
        entry = Entry(round(self.now() if at is None else at, 2), self.tick, kind, who, text, data)
        with self._lock:
            self.entries.append(entry)
            if self._sink is not None:
                self._sink(entry)
        return entry

    def of(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]


def printer(stream: IO[str], as_json: bool) -> Callable[[Entry], None]:
    def write(entry: Entry) -> None:
        stream.write((entry.json() if as_json else entry.line()) + "\n")
        stream.flush()

    return write


# ---------------------------------------------------------------- what the functions returned
def summarize(payload: Any) -> str:
    """One line for a function's return value (its summary model), whatever the function."""
    if not isinstance(payload, dict):
        return _compact(payload)
    if "checks" in payload and "failing" in payload:
        return _run_summary(payload)
    if "outcomes" in payload:
        return _paging_summary(payload)
    if "escalated" in payload and "incidents" in payload:
        return _sweep_summary(payload)
    if "alerts_recorded" in payload:
        return _status_summary(payload)
    return _compact(payload)


def _run_summary(p: dict[str, Any]) -> str:
    text = f"{_count(p['checks'], 'check')}: {p['passed']} passed, {p['failed']} failing"
    failing = [f"{f.get('check')} {f.get('outcome')}" for f in p.get("failing") or []]
    if failing:
        text += f" ({', '.join(failing)})"
    changes = [
        f"{label}: {', '.join(p[key])}"
        for key, label in (
            ("went_down", "went down"),
            ("came_up", "came up"),
            ("level_changed", "level changed"),
            ("retired", "retired"),
        )
        if p.get(key)
    ]
    text += "; " + ("; ".join(changes) if changes else "no change")
    if p.get("alerts_published"):
        text += f"; published {p['alerts_published']}"
    if p.get("alerts_pending"):
        text += f"; {p['alerts_pending']} NOT published (retried next run)"
    return text


def _paging_summary(p: dict[str, Any]) -> str:
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted((p.get("outcomes") or {}).items()))
    text = f"{p.get('alerts', 0)} alert(s): {outcomes or 'nothing to do'}"
    if p.get("rejected"):
        text += f"; {p['rejected']} rejected"
    return text


def _sweep_summary(p: dict[str, Any]) -> str:
    text = f"ack sweep: {p['incidents']} triggered incident(s)"
    if p["escalated"]:
        text += f"; escalated {', '.join(p['escalated'])}"
    for key, label in (("at_last_level", "at the last level"), ("unknown_level", "level unknown")):
        if p.get(key):
            text += f"; {p[key]} {label}"
    if p.get("failed"):
        text += f"; {p['failed']} escalation(s) FAILED"
    release = p.get("release") or {}  # alerts muting maintenance windows held
    for key, label in (
        ("released", "held alert(s) paged"),
        ("still_held", "still held"),
        ("failed", "held page(s) FAILED"),
    ):
        if release.get(key):
            text += f"; {release[key]} {label}"
    return text


def _status_summary(p: dict[str, Any]) -> str:
    parts = []
    if p.get("alerts_recorded") or p.get("stale"):
        parts.append(f"recorded {p.get('alerts_recorded', 0)} alert(s)" + _stale(p))
    parts.append(f"{p.get('open_alerts', 0)} open page alert(s)")
    if p.get("wrote"):
        parts.append(f"{p['wrote']} incident {p.get('incident_id')}")
    if p.get("notices"):
        parts.append(f"{len(p['notices'])} notice(s) to #ops-alerts")
    if p.get("reminded"):
        parts.append("reminded #incident-room")
    if p.get("rejected"):
        parts.append(f"{p['rejected']} rejected")
    return "; ".join(parts)


def _stale(p: dict[str, Any]) -> str:
    return f" ({p['stale']} stale)" if p.get("stale") else ""


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _compact(payload: Any) -> str:
    return json.dumps(payload, default=str, separators=(",", ":"))


def describe_alert(envelope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A published message in one line, and the alert itself (empty when it is not a runbook alert)."""
    try:
        alert = json.loads(envelope.get("Message") or "")
    except ValueError:
        alert = None
    if isinstance(alert, dict) and alert.get("schema") == "runbook.alert/v1":
        text = (
            f"[{str(alert.get('status')).upper()}] {alert.get('sev')} {alert.get('severity')} "
            f"{alert.get('key')}: {alert.get('summary')}"
        )
        return text, alert
    return str(envelope.get("Subject") or envelope.get("Message") or "")[:MAX_TEXT], {}

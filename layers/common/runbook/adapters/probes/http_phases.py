"""What an HTTP exchange cost the target, from the trace events of the HTTP stack. Pure: a timeline in,
the latency and its phases out (tested on constructed timelines).

Events are httpcore's (`connection.connect_tcp.started`, `http11.receive_response_headers.complete`, ...)
and the resolving backend's `dns.resolve.*` (http_transport.py), which happens inside `connect_tcp`.
The latency is the exchange on the wire: from the first step of each hop (DNS, connect, or writing the
request on a pooled connection) to the end of its answer, summed over the hops of followed redirects.
What comes before the first step (waiting for a pool slot, the HTTP stack's own set-up) is not the
target's time and is not counted.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from runbook.models.observations import HttpPhases

# step of an event (its name without prefix and stage) -> phase (a field of HttpPhases without "_ms")
_PHASE_OF_STEP = {
    "resolve": "dns",
    "connect_tcp": "connect",
    "start_tls": "tls",
    "send_request_headers": "send",
    "send_request_body": "send",
    "receive_response_headers": "first_byte",
    "receive_response_body": "body",
}
_HOP_CLOSED = "response_closed"  # a redirect's answer is closed before the next hop starts
_ENDS = ("complete", "failed")


@dataclass(frozen=True)
class TraceEvent:
    name: str  # e.g. "connection.connect_tcp.started"
    at: float  # time.perf_counter(), seconds


@dataclass(frozen=True)
class ExchangeTiming:
    latency_s: float
    phases: HttpPhases


def step_of(event_name: str) -> tuple[str, str]:
    """("connect_tcp", "started") of "connection.connect_tcp.started"."""
    step, _, stage = event_name.partition(".")[2].rpartition(".")
    return step, stage


def exchange_timing(events: Sequence[TraceEvent], end: float) -> ExchangeTiming | None:
    """The timing of the exchange whose events these are, read until `end` (when the probe had the whole
    body, or as much as it keeps). None when no step was traced (a transport without trace events)."""
    totals: dict[str, float] = {}
    started: dict[str, float] = {}  # step -> when it started, while it runs
    dns_in_connect = 0.0  # the DNS lookup runs inside connect_tcp: not connect time
    hop_start: float | None = None
    last_step_event = 0.0
    latency = 0.0
    connected = False
    for event in events:
        if event.at > end:
            break  # closing the response after the body was read: not part of the exchange
        step, stage = step_of(event.name)
        if step == _HOP_CLOSED:
            if stage == "started" and hop_start is not None:
                latency += last_step_event - hop_start
                hop_start = None
            continue
        phase = _PHASE_OF_STEP.get(step)
        if phase is None:
            continue
        if stage == "started":
            started[step] = event.at
            hop_start = event.at if hop_start is None else hop_start
            connected = connected or step == "connect_tcp"
        elif stage in _ENDS and step in started:
            duration = event.at - started.pop(step)
            if step == "resolve" and "connect_tcp" in started:
                dns_in_connect += duration
            elif step == "connect_tcp":
                duration, dns_in_connect = duration - dns_in_connect, 0.0
            totals[phase] = totals.get(phase, 0.0) + duration
        last_step_event = event.at
    if not totals and not started:
        return None
    for step, at in started.items():  # still running at `end`: a body read only in part
        phase = _PHASE_OF_STEP[step]
        totals[phase] = totals.get(phase, 0.0) + max(end - at, 0.0)
    if hop_start is not None:
        latency += end - hop_start
    phases = HttpPhases(
        reused=not connected, **{f"{phase}_ms": round(seconds * 1000, 1) for phase, seconds in totals.items()}
    )
    return ExchangeTiming(latency_s=max(latency, 0.0), phases=phases)

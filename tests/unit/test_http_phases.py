"""The latency of an HTTP exchange and its phases, from constructed trace timelines (times in ms).

The event names are those httpcore 1.0 emits through the `trace` request extension, plus the resolving
backend's `dns.resolve.*` inside `connection.connect_tcp`.
"""

import pytest

from runbook.adapters.probes.http_phases import TraceEvent, exchange_timing
from runbook.models.observations import HttpPhases

CONNECT = "connection.connect_tcp"
DNS = "dns.resolve"
TLS = "connection.start_tls"
HEADERS = "http11.send_request_headers"
BODY_OUT = "http11.send_request_body"
ANSWER = "http11.receive_response_headers"
BODY_IN = "http11.receive_response_body"
CLOSED = "http11.response_closed"


def timeline(*steps: tuple[str, float, float]) -> list[TraceEvent]:
    """(step, started ms, ended ms) -> its .started and .complete events, in time order."""
    events = [TraceEvent(f"{name}.started", start / 1000) for name, start, _ in steps]
    events += [TraceEvent(f"{name}.complete", end / 1000) for name, _, end in steps]
    return sorted(events, key=lambda event: event.at)


def exchange(
    start: float, *, dns: float = 0, connect: float = 0, tls: float = 0
) -> list[tuple[str, float, float]]:
    """One hop from `start`: optional DNS inside connect, TLS, then 1 ms to send, 5 to the first byte
    and 2 for the body."""
    steps: list[tuple[str, float, float]] = []
    t = start
    if connect or dns:
        steps.append((CONNECT, t, t + dns + connect))
        if dns:
            steps.append((DNS, t, t + dns))
        t += dns + connect
    if tls:
        steps.append((TLS, t, t + tls))
        t += tls
    steps += [
        (HEADERS, t, t + 0.5),
        (BODY_OUT, t + 0.5, t + 1),
        (ANSWER, t + 1, t + 6),
        (BODY_IN, t + 6, t + 8),
    ]
    return steps


def test_a_new_connection_to_a_host_name_has_every_phase() -> None:
    timing = exchange_timing(timeline(*exchange(100, dns=20, connect=3, tls=40)), end=0.171)

    assert timing is not None
    assert timing.phases == HttpPhases(
        dns_ms=20, connect_ms=3, tls_ms=40, send_ms=1, first_byte_ms=5, body_ms=2, reused=False
    )
    assert timing.latency_s == pytest.approx(0.071)  # from the lookup (100 ms) to the end of the body


def test_the_time_before_the_first_step_is_not_the_targets() -> None:
    # The request was handed to the pool at 0 ms (the probe's own set-up, a wait for a free connection,
    # the HTTP stack's first-use work); the wire exchange started at 250 ms.
    timing = exchange_timing(timeline(*exchange(250, connect=1)), end=0.259)

    assert timing is not None
    assert timing.latency_s == pytest.approx(0.009)
    assert timing.phases.dns_ms is None  # an IP address: nothing looked up


def test_a_pooled_connection_has_neither_connect_nor_tls() -> None:
    timing = exchange_timing(timeline(*exchange(10)), end=0.018)

    assert timing is not None
    assert timing.phases == HttpPhases(send_ms=1, first_byte_ms=5, body_ms=2, reused=True)
    assert timing.latency_s == pytest.approx(0.008)


def test_redirect_hops_add_up_without_the_time_between_them() -> None:
    first = timeline(*exchange(0, connect=2))  # 0..10 ms, then its answer is closed at 30 ms
    between = [TraceEvent(f"{CLOSED}.started", 0.030), TraceEvent(f"{CLOSED}.complete", 0.031)]
    second = timeline(*exchange(50))  # 50..58 ms on the same connection

    timing = exchange_timing([*first, *between, *second], end=0.058)

    assert timing is not None
    assert timing.latency_s == pytest.approx(0.018)  # 10 + 8
    assert timing.phases == HttpPhases(connect_ms=2, send_ms=2, first_byte_ms=10, body_ms=4, reused=False)


def test_a_body_read_only_in_part_ends_when_the_probe_stopped_reading() -> None:
    # The body is cut at max_response_bytes: the probe stops reading at 30 ms, its step never completes.
    events = timeline(*exchange(0, connect=1)[:-1])
    events.append(TraceEvent(f"{BODY_IN}.started", 0.007))

    timing = exchange_timing(events, end=0.030)

    assert timing is not None
    assert timing.phases.body_ms == pytest.approx(23)
    assert timing.latency_s == pytest.approx(0.030)


def test_what_happens_after_the_end_is_not_counted() -> None:
    # The probe closes the response after reading the body: a truncated body's step fails then.
    events = timeline(*exchange(0, connect=1)[:-1])
    events.append(TraceEvent(f"{BODY_IN}.started", 0.007))
    events += [TraceEvent(f"{CLOSED}.started", 0.012), TraceEvent(f"{BODY_IN}.failed", 0.013)]

    timing = exchange_timing(events, end=0.010)

    assert timing is not None
    assert timing.phases.body_ms == pytest.approx(3)
    assert timing.latency_s == pytest.approx(0.010)


def test_the_lookup_inside_connect_tcp_is_not_connect_time() -> None:
    # httpcore's connect_tcp covers the backend's lookup (0..4 ms), then the TCP connection (4..12 ms).
    events = timeline((CONNECT, 0, 12), (DNS, 0, 4), (HEADERS, 12, 13), (ANSWER, 13, 20))
    events.insert(2, TraceEvent("connection.retry.started", 0.005))  # an event of no phase is ignored

    timing = exchange_timing(events, end=0.020)

    assert timing is not None
    assert (timing.phases.dns_ms, timing.phases.connect_ms) == (4, 8)


def test_no_trace_events_is_no_timing() -> None:
    # A transport that does not emit trace events: the probe falls back on its own timer.
    assert exchange_timing([], end=1.0) is None
    assert exchange_timing([TraceEvent("connection.close.started", 0.5)], end=1.0) is None


def test_the_slowest_phase_and_the_timed_ones() -> None:
    phases = HttpPhases(dns_ms=2, connect_ms=1, tls_ms=180, send_ms=0.1, first_byte_ms=30, body_ms=0.2)

    assert phases.slowest() == ("tls", 180)
    assert phases.timed_ms() == {
        "dns": 2,
        "connect": 1,
        "tls": 180,
        "send": 0.1,
        "first_byte": 30,
        "body": 0.2,
    }
    assert HttpPhases(reused=True).slowest() is None

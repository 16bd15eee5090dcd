"""What the health probe's run of HTTP checks costs against the floor and its peers: a script, not a test.

N checks against a local server (its own process, so it never shares a client's event loop) that
answers {"status":"ok"} after a delay, at concurrency C. Sides:

  floor               no client at all: ceil(N / C) x the server's delay, what any client must wait.
  probe               the health probe's runner (services/probe_runner.run_checks): semaphore,
                      per-check hard timeout, run budget, probe with its phase timings, condition,
                      scrubbing, on httpx.
  aiohttp             one aiohttp.ClientSession (TCPConnector limit C), the body parsed and compared.
  blackbox_exporter   Prometheus' blackbox_exporter (Debian: apt-get install
                      prometheus-blackbox-exporter), started on loopback with an http module that
                      checks the status and the body; C concurrent GET /probe. Its CPU is the
                      exporter process's own (/proc), not the driver's. Skipped, and said so, when the
                      binary is missing.
  httpx_lanes         plain httpx on its own transport (httpcore), split into pools of 10 connections
                      as the probe was before issue 11: the transport the probe's replaced.
  httpx_over_aiohttp  httpx.AsyncClient on a minimal transport that hands each request to one
                      aiohttp session (no trace phases, no TLS details, no error mapping): what httpx
                      as the interface costs at best on aiohttp's pool, the least the probe's own
                      transport (adapters/probes/http_transport.py) can cost.

Every side runs in a process of its own, started once and warmed up; the timed runs alternate
between the sides (round r runs them in order, round r+1 in reverse), so that all meet the same
noise on a shared machine; the median of the rounds is reported. CPU per check is the side's
process CPU time (user + system) over the run divided by N. Last, one untimed run under
tracemalloc gives each in-process side's allocation peak.

The issue's goals (issue 11) are reported, not enforced: probe wall <= blackbox_exporter's and
<= 1.3x the floor, probe CPU per check <= 2x aiohttp's. --enforce holds regression guards instead
(CPU ratios, which a loaded machine moves far less than wall times).

    uv run python -m benchmarks.http_probe_benchmark            # N=1000, C=100, delay 100 ms
    uv run python -m benchmarks.http_probe_benchmark --short    # N=200, 2 rounds, for CI
    uv run python -m benchmarks.http_probe_benchmark --json     # machine-readable
    uv run python -m benchmarks.http_probe_benchmark --profile  # cProfile of the probe side
"""

import argparse
import asyncio
import contextlib
import cProfile
import json
import math
import multiprocessing
import os
import pstats
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx

from runbook.adapters.parameters import ResolvedSecrets
from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.http import HttpProbe
from runbook.models.config import HttpCheck, ProbeSettings
from runbook.services.probe_runner import run_checks

CHECK_TIMEOUT_S = 10.0
RUN_BUDGET_S = 60.0
OK_BODY = b'{"status":"ok"}'
BLACKBOX_BINARY = "prometheus-blackbox-exporter"
BLACKBOX_MISSING = f"{BLACKBOX_BINARY} not installed (Debian: apt-get install prometheus-blackbox-exporter)"

# The goals, reported.
GOAL_WALL_X_FLOOR = 1.3
GOAL_CPU_X_AIOHTTP = 2.0
GOAL_WALL_X_BLACKBOX = 1.0
# What --enforce holds (CI): regressions of the probe against aiohttp in the same run, by CPU per check.
# On its aiohttp transport the probe measured about 3.8x aiohttp and 0.64x httpx on httpcore's pools;
# these catch a return to httpcore's pool (6x to 7x aiohttp) or worse, above the noise seen.
GUARD_CPU_X_AIOHTTP = 6.0
GUARD_CPU_X_HTTPX_LANES = 1.0

# httpcore's pool, which the probe used before issue 11, had to be split into pools of this many
# connections: one pool of 100 spent about 10 ms of CPU per request.
LANE_CONNECTIONS = 10

# A side takes the checks (built once, untimed, as the runner gets them from the config) and the
# concurrency, and returns how many checks passed.
Side = Callable[[Sequence[HttpCheck], int], Coroutine[Any, Any, int]]


async def probe_run(checks: Sequence[HttpCheck], concurrency: int) -> int:
    """The health probe's own runner, as HealthProbeFunction runs it."""
    env = ProbeEnvironment(settings=ProbeSettings(max_concurrency=concurrency), secrets=ResolvedSecrets())
    runs = await run_checks(checks, env, {"http": HttpProbe()}, {}, budget_s=RUN_BUDGET_S)
    return sum(run.result.ok for run in runs)


async def aiohttp_run(checks: Sequence[HttpCheck], concurrency: int) -> int:
    """The peer: the same GETs with one aiohttp session, the body parsed as JSON and compared."""
    semaphore = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(url: str) -> bool:
            async with semaphore, session.get(url) as response:
                return response.status == 200 and await response.json() == {"status": "ok"}

        return sum(await asyncio.gather(*(one(str(check.url)) for check in checks)))


async def httpx_lanes_run(checks: Sequence[HttpCheck], concurrency: int) -> int:
    """Plain httpx clients split like the probe's (see http_clients.py): the HTTP stack's own share."""
    lanes = math.ceil(concurrency / LANE_CONNECTIONS)
    per_lane = math.ceil(concurrency / lanes)
    limits = httpx.Limits(max_connections=per_lane, max_keepalive_connections=per_lane)
    clients = [httpx.AsyncClient(limits=limits, timeout=CHECK_TIMEOUT_S) for _ in range(lanes)]
    in_flight = [0] * lanes
    semaphore = asyncio.Semaphore(concurrency)

    async def one(url: str) -> bool:
        async with semaphore:
            lane = next(i for i, n in enumerate(in_flight) if n < per_lane)
            in_flight[lane] += 1
            try:
                response = await clients[lane].get(url)
            finally:
                in_flight[lane] -= 1
        return response.status_code == 200 and response.json() == {"status": "ok"}

    try:
        return sum(await asyncio.gather(*(one(str(check.url)) for check in checks)))
    finally:
        for client in clients:
            await client.aclose()


class _AiohttpTransport(httpx.AsyncBaseTransport):
    """The least an httpx transport on aiohttp does: the request across, the whole answer back."""

    def __init__(self, connections: int) -> None:
        connector = aiohttp.TCPConnector(limit=connections)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
        async with self._session.request(
            request.method, str(request.url), headers=headers, allow_redirects=False
        ) as answer:
            body = await answer.read()
            return httpx.Response(answer.status, headers=answer.raw_headers, content=body)

    async def aclose(self) -> None:
        await self._session.close()


async def httpx_over_aiohttp_run(checks: Sequence[HttpCheck], concurrency: int) -> int:
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(transport=_AiohttpTransport(concurrency), timeout=CHECK_TIMEOUT_S) as client:

        async def one(url: str) -> bool:
            async with semaphore:
                response = await client.get(url)
            return response.status_code == 200 and response.json() == {"status": "ok"}

        return sum(await asyncio.gather(*(one(str(check.url)) for check in checks)))


IN_PROCESS_SIDES: dict[str, Side] = {
    "probe": probe_run,
    "aiohttp": aiohttp_run,
    "httpx_lanes": httpx_lanes_run,
    "httpx_over_aiohttp": httpx_over_aiohttp_run,
}


def make_checks(url: str, n: int) -> list[HttpCheck]:
    expect = {"status": [200], "json": {"status": "ok"}}
    return [
        HttpCheck.model_validate(
            {"name": f"bench-{i}", "kind": "http", "url": url, "timeout": CHECK_TIMEOUT_S, "expect": expect}
        )
        for i in range(n)
    ]


# --- the target server: its own process -----------------------------------------------------------


def serve(conn: Connection, delay_ms: int) -> None:
    asyncio.run(_serve(conn, delay_ms))


async def _serve(conn: Connection, delay_ms: int) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(OK_BODY)}\r\n\r\n".encode()
        + OK_BODY
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")  # every client here sends GETs without a body
                await asyncio.sleep(delay_ms / 1000)
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    conn.send(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


# --- blackbox_exporter: a real peer on loopback ---------------------------------------------------

BLACKBOX_CONFIG = """\
modules:
  http_ok:
    prober: http
    timeout: 10s
    http:
      valid_status_codes: [200]
      fail_if_body_not_matches_regexp: ['"status":"ok"']
      preferred_ip_protocol: ip4
"""


@contextlib.contextmanager
def blackbox_exporter() -> Iterator[tuple[int, int] | None]:
    """(pid, port) of a blackbox_exporter listening on loopback, or None when it is not installed."""
    binary = shutil.which(BLACKBOX_BINARY)
    if binary is None:
        yield None
        return
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "blackbox.yml"
        config.write_text(BLACKBOX_CONFIG)
        port = _free_port()
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(port, process)
            yield process.pid, port
        finally:
            process.terminate()
            process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], limit_s: float = 10.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{BLACKBOX_BINARY} exited with {process.returncode} at start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{BLACKBOX_BINARY} did not listen on 127.0.0.1:{port} within {limit_s:g} s")


def _process_cpu_s(pid: int) -> float:
    """utime + stime of another process, from /proc (fields 14 and 15 of stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def _drive_blackbox(port: int, target: str, n: int, concurrency: int) -> int:
    """C concurrent /probe requests, as C Prometheus scrapes; the ones that report probe_success 1."""
    url = f"http://127.0.0.1:{port}/probe?" + urlencode({"module": "http_ok", "target": target})
    semaphore = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S + 5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one() -> bool:
            async with semaphore, session.get(url) as response:
                return "\nprobe_success 1" in "\n" + await response.text()

        return sum(await asyncio.gather(*(one() for _ in range(n))))


# --- one worker process per side -------------------------------------------------------------------


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    ok: int


def side_worker(
    conn: Connection, side: str, url: str, n: int, concurrency: int, blackbox: tuple[int, int] | None
) -> None:
    """Serves ("run",) with one timed run, ("peak",) with an untimed one under tracemalloc, ("stop",)."""
    if side == "blackbox_exporter":
        assert blackbox is not None
        pid, port = blackbox

        def run_once() -> Run:
            cpu = _process_cpu_s(pid)
            started = time.perf_counter()
            ok = asyncio.run(_drive_blackbox(port, url, n, concurrency))
            return Run(time.perf_counter() - started, _process_cpu_s(pid) - cpu, ok)

        asyncio.run(_drive_blackbox(port, url, 1, 1))  # warm-up
    else:
        side_run = IN_PROCESS_SIDES[side]
        checks = make_checks(url, n)

        def run_once() -> Run:
            cpu = _self_cpu_s()
            started = time.perf_counter()
            ok = asyncio.run(side_run(checks, concurrency))
            return Run(time.perf_counter() - started, _self_cpu_s() - cpu, ok)

        asyncio.run(side_run(checks[:1], 1))  # warm-up: lazy imports, first connection code paths
    while True:
        command = conn.recv()
        if command == "run":
            conn.send(run_once())
        elif command == "peak":
            conn.send(_peaks(side, blackbox, url, n, concurrency))
        else:
            return


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peaks(
    side: str, blackbox: tuple[int, int] | None, url: str, n: int, concurrency: int
) -> tuple[float | None, float]:
    """(tracemalloc peak MiB, max RSS MiB): RSS is the exporter's own for blackbox_exporter."""
    if side == "blackbox_exporter":
        assert blackbox is not None
        return None, _process_peak_rss_mib(blackbox[0])
    tracemalloc.start()
    asyncio.run(IN_PROCESS_SIDES[side](make_checks(url, n), concurrency))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return round(peak / 2**20, 2), round(max_rss_kib / 1024, 1)


@dataclass
class SideResult:
    side: str
    wall_s: float  # medians of the rounds
    cpu_ms_per_check: float
    wall_runs_s: list[float] = field(default_factory=list)
    cpu_runs_ms_per_check: list[float] = field(default_factory=list)
    ok: int = 0
    tracemalloc_peak_mib: float | None = None
    max_rss_mib: float = 0.0


def measure(
    url: str, n: int, concurrency: int, rounds: int, blackbox: tuple[int, int] | None
) -> dict[str, SideResult]:
    spawn = multiprocessing.get_context("spawn")
    sides = [*IN_PROCESS_SIDES, *(["blackbox_exporter"] if blackbox else [])]
    workers: dict[str, tuple[Connection, Any]] = {}
    runs: dict[str, list[Run]] = {side: [] for side in sides}
    try:
        for side in sides:
            ours, theirs = spawn.Pipe()
            process = spawn.Process(
                target=side_worker, args=(theirs, side, url, n, concurrency, blackbox), daemon=True
            )
            process.start()
            workers[side] = (ours, process)
        for round_no in range(rounds):
            for side in sides if round_no % 2 == 0 else reversed(sides):
                conn = workers[side][0]
                conn.send("run")
                runs[side].append(conn.recv())
        results = {}
        for side in sides:
            conn = workers[side][0]
            conn.send("peak")
            tracemalloc_peak, max_rss = conn.recv()
            walls = [run.wall_s for run in runs[side]]
            cpus = [run.cpu_s * 1000 / n for run in runs[side]]
            results[side] = SideResult(
                side,
                wall_s=round(statistics.median(walls), 4),
                cpu_ms_per_check=round(statistics.median(cpus), 3),
                wall_runs_s=[round(wall, 4) for wall in walls],
                cpu_runs_ms_per_check=[round(cpu, 3) for cpu in cpus],
                ok=min(run.ok for run in runs[side]),
                tracemalloc_peak_mib=tracemalloc_peak,
                max_rss_mib=max_rss,
            )
        return results
    finally:
        for conn, process in workers.values():
            with contextlib.suppress(OSError):
                conn.send("stop")
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()


def profile_probe(url: str, n: int, concurrency: int) -> None:
    checks = make_checks(url, n)
    asyncio.run(probe_run(checks[:1], 1))
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(probe_run(checks, concurrency))
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--requests", type=int, default=1000)
    parser.add_argument("-c", "--concurrency", type=int, default=100)
    parser.add_argument("--delay-ms", type=int, default=100, help="server delay before each answer")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (the median is reported)")
    parser.add_argument("--short", action="store_true", help="N=200, 2 rounds: for CI")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--profile", action="store_true", help="cProfile the probe side (to stderr)")
    parser.add_argument("--enforce", action="store_true", help="exit 2 when a guard is missed")
    args = parser.parse_args(argv)
    if args.short:
        args.requests, args.rounds = 200, 2

    spawn = multiprocessing.get_context("spawn")
    receiver, sender = spawn.Pipe(duplex=False)
    server = spawn.Process(target=serve, args=(sender, args.delay_ms), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{receiver.recv()}/healthz"
        if args.profile:
            profile_probe(url, args.requests, args.concurrency)
        with blackbox_exporter() as blackbox:
            results = measure(url, args.requests, args.concurrency, args.rounds, blackbox)
    finally:
        server.terminate()
        server.join()

    report = _report(args, results)
    print(json.dumps(report, indent=2) if args.json else _table(report))
    if any(result.ok != args.requests for result in results.values()):
        return 1
    return 2 if args.enforce and not report["guards_met"] else 0


def _report(args: argparse.Namespace, results: dict[str, SideResult]) -> dict[str, Any]:
    floor_s = math.ceil(args.requests / args.concurrency) * args.delay_ms / 1000
    probe, aio, lanes = results["probe"], results["aiohttp"], results["httpx_lanes"]
    blackbox = results.get("blackbox_exporter")
    cpu_x_aiohttp = round(probe.cpu_ms_per_check / aio.cpu_ms_per_check, 2)
    goals = {
        "probe_wall_x_floor": _ratio(round(probe.wall_s / floor_s, 3), GOAL_WALL_X_FLOOR),
        "probe_cpu_x_aiohttp": _ratio(cpu_x_aiohttp, GOAL_CPU_X_AIOHTTP),
        "probe_wall_x_blackbox_exporter": (
            _ratio(round(probe.wall_s / blackbox.wall_s, 3), GOAL_WALL_X_BLACKBOX)
            if blackbox
            else {"skipped": BLACKBOX_MISSING}
        ),
    }
    guards = {
        "probe_cpu_x_aiohttp": _ratio(cpu_x_aiohttp, GUARD_CPU_X_AIOHTTP),
        "probe_cpu_x_httpx_lanes": _ratio(
            round(probe.cpu_ms_per_check / lanes.cpu_ms_per_check, 2), GUARD_CPU_X_HTTPX_LANES
        ),
    }
    return {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "server_delay_ms": args.delay_ms,
        "rounds": args.rounds,
        "floor_s": floor_s,
        "sides": {name: asdict(result) for name, result in results.items()},
        "blackbox_exporter": "measured" if blackbox else BLACKBOX_MISSING,
        "goals": goals,
        "goals_met": all(goal.get("met", False) for goal in goals.values()),
        "guards": guards,
        "guards_met": all(guard["met"] for guard in guards.values()),
    }


def _ratio(value: float, most: float) -> dict[str, Any]:
    return {"value": value, "max": most, "met": value <= most}


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"HTTP probe benchmark: {report['requests']} requests, concurrency {report['concurrency']}, "
        f"server delay {report['server_delay_ms']} ms, median of {report['rounds']} alternating rounds",
        f"{'side':<18} {'wall s':>8} {'x floor':>8} {'CPU ms/check':>13} {'ok':>6} "
        f"{'tracemalloc MiB':>16} {'max RSS MiB':>12}",
        f"{'floor':<18} {report['floor_s']:>8.3f} {1:>8.2f} {'':>13} {'':>6} {'':>16} {'':>12}",
    ]
    for name, side in report["sides"].items():
        peak = "" if side["tracemalloc_peak_mib"] is None else f"{side['tracemalloc_peak_mib']:.1f}"
        lines.append(
            f"{name:<18} {side['wall_s']:>8.3f} {side['wall_s'] / report['floor_s']:>8.2f} "
            f"{side['cpu_ms_per_check']:>13.3f} {side['ok']:>6} {peak:>16} {side['max_rss_mib']:>12.1f}"
        )
    if report["blackbox_exporter"] != "measured":
        lines.append(f"blackbox_exporter skipped: {report['blackbox_exporter']}")
    for kind in ("goals", "guards"):
        for name, item in report[kind].items():
            if "skipped" in item:
                lines.append(f"{kind[:-1]} {name}: skipped")
            else:
                verdict = "met" if item["met"] else "NOT MET"
                lines.append(f"{kind[:-1]} {name} {item['value']} (<= {item['max']}): {verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

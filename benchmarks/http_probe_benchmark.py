"""How much the health probe's run of HTTP checks costs over bare httpx: a script, not a test.

N checks against a local server (its own process, so it never shares the client's event loop) that
answers {"status":"ok"} after a delay, at concurrency C, through these sides:

  probe               the health probe's runner (services/probe_runner.run_checks): semaphore,
                      per-check hard timeout, run budget, probe, condition, scrubbing.
  direct              the same requests with one httpx.AsyncClient at the same concurrency (the
                      baseline of the targets: probe/direct <= 1.3, probe run < 2 s).
  direct_small_pools  plain httpx split into small pools as the probe does (http_clients.py): one
                      100-connection httpcore pool is itself slow, so this is the fair measure of
                      what the probe's own work costs. Reported, no target.

Each side runs in a fresh process (so max RSS is its own): one warm-up request, the timed run(s),
then one run under tracemalloc for the peak (tracemalloc slows the code, so it is never timed).

    uv run python -m benchmarks.http_probe_benchmark            # N=1000, C=100, delay 100 ms
    uv run python -m benchmarks.http_probe_benchmark --short    # N=100, for CI
    uv run python -m benchmarks.http_probe_benchmark --json     # machine-readable
    uv run python -m benchmarks.http_probe_benchmark --profile  # cProfile of the probe side
"""

import argparse
import asyncio
import cProfile
import json
import math
import multiprocessing
import pstats
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx

from runbook.adapters.parameters import ResolvedSecrets
from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.http import HttpProbe
from runbook.adapters.probes.http_clients import LANE_CONNECTIONS
from runbook.models.config import HttpCheck, ProbeSettings
from runbook.services.probe_runner import run_checks

TARGET_RATIO = 1.3
TARGET_PROBE_WALL_S = 2.0
CHECK_TIMEOUT_S = 10.0
RUN_BUDGET_S = 60.0
OK_BODY = b'{"status":"ok"}'

# A side takes the checks (built once, untimed, as the runner gets them from the config) and the
# concurrency, and returns how many checks passed.
Side = Callable[[Sequence[HttpCheck], int], Coroutine[Any, Any, int]]


async def probe_run(checks: Sequence[HttpCheck], concurrency: int) -> int:
    """The probe side: the health probe's own runner (semaphore, per-check hard timeout, run budget,
    probe, condition, secret scrubbing), as HealthProbeFunction runs it."""
    env = ProbeEnvironment(settings=ProbeSettings(max_concurrency=concurrency), secrets=ResolvedSecrets())
    runs = await run_checks(checks, env, {"http": HttpProbe()}, {}, budget_s=RUN_BUDGET_S)
    return sum(run.result.ok for run in runs)


async def direct_run(checks: Sequence[HttpCheck], concurrency: int) -> int:
    """The baseline: the same GETs with one plain client, the body parsed as JSON and compared."""
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(limits=limits, timeout=CHECK_TIMEOUT_S) as client:

        async def one(url: str) -> bool:
            async with semaphore:
                response = await client.get(url)
            return response.status_code == 200 and response.json() == {"status": "ok"}

        return sum(await asyncio.gather(*(one(str(check.url)) for check in checks)))


async def direct_small_pools_run(checks: Sequence[HttpCheck], concurrency: int) -> int:
    """Not in the targets: plain clients split like the probe's (see http_clients.py), so that
    probe/direct_small_pools is the cost of the probe's own work without httpcore's big-pool cost."""
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


SIDES: dict[str, Side] = {
    "direct": direct_run,
    "probe": probe_run,
    "direct_small_pools": direct_small_pools_run,
}


def make_checks(url: str, n: int) -> list[HttpCheck]:
    expect = {"status": [200], "json": {"status": "ok"}}
    return [
        HttpCheck.model_validate(
            {"name": f"bench-{i}", "kind": "http", "url": url, "timeout": CHECK_TIMEOUT_S, "expect": expect}
        )
        for i in range(n)
    ]


# --- the server: its own process ---------------------------------------------------------------


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
                await reader.readuntil(b"\r\n\r\n")  # the benchmark sends GETs without a body
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


# --- measuring, one side per process -----------------------------------------------------------


@dataclass
class SideResult:
    side: str
    wall_s: float  # median of the timed runs
    wall_runs_s: list[float]
    ok: int
    tracemalloc_peak_mib: float
    max_rss_mib: float


def measure_side(side: str, url: str, n: int, concurrency: int, repeat: int) -> SideResult:
    run = SIDES[side]
    checks = make_checks(url, n)
    asyncio.run(run(checks[:1], 1))  # warm-up: lazy imports, first connection code paths
    walls, ok = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        ok = asyncio.run(run(checks, concurrency))
        walls.append(time.perf_counter() - started)
    tracemalloc.start()
    asyncio.run(run(checks, concurrency))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return SideResult(
        side,
        wall_s=round(statistics.median(walls), 4),
        wall_runs_s=[round(wall, 4) for wall in walls],
        ok=ok,
        tracemalloc_peak_mib=round(peak / 2**20, 2),
        max_rss_mib=round(max_rss_kib / 1024, 1),
    )


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
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side (the median is reported)")
    parser.add_argument("--short", action="store_true", help="N=100, one timed run: for CI")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--profile", action="store_true", help="cProfile the probe side (to stderr)")
    parser.add_argument("--enforce", action="store_true", help="exit 2 when a target is missed")
    args = parser.parse_args(argv)
    if args.short:
        args.requests, args.repeat = 100, 1

    spawn = multiprocessing.get_context("spawn")
    receiver, sender = spawn.Pipe(duplex=False)
    server = spawn.Process(target=serve, args=(sender, args.delay_ms), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{receiver.recv()}/healthz"
        if args.profile:
            profile_probe(url, args.requests, args.concurrency)
        results = {}
        for side in SIDES:
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                job = pool.submit(measure_side, side, url, args.requests, args.concurrency, args.repeat)
                results[side] = job.result()
    finally:
        server.terminate()
        server.join()

    report = _report(args, results)
    print(json.dumps(report, indent=2) if args.json else _table(report))
    if any(r.ok != args.requests for r in results.values()):
        return 1
    return 2 if args.enforce and not report["targets_met"] else 0


def _report(args: argparse.Namespace, results: dict[str, SideResult]) -> dict[str, Any]:
    ratio = results["probe"].wall_s / results["direct"].wall_s
    return {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "server_delay_ms": args.delay_ms,
        "repeat": args.repeat,
        "sides": {name: asdict(result) for name, result in results.items()},
        "ratio_probe_direct": round(ratio, 3),
        "ratio_probe_direct_small_pools": round(
            results["probe"].wall_s / results["direct_small_pools"].wall_s, 3
        ),
        "targets": {"ratio_max": TARGET_RATIO, "probe_wall_s_max": TARGET_PROBE_WALL_S},
        "targets_met": ratio <= TARGET_RATIO and results["probe"].wall_s < TARGET_PROBE_WALL_S,
    }


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"HTTP probe benchmark: {report['requests']} requests, concurrency {report['concurrency']}, "
        f"server delay {report['server_delay_ms']} ms, median of {report['repeat']} run(s)",
        f"{'side':<18} {'wall s':>8} {'ok':>6} {'tracemalloc peak MiB':>21} {'max RSS MiB':>12}",
    ]
    for name, side in report["sides"].items():
        lines.append(
            f"{name:<18} {side['wall_s']:>8.3f} {side['ok']:>6} "
            f"{side['tracemalloc_peak_mib']:>21.1f} {side['max_rss_mib']:>12.1f}"
        )
    probe_wall = report["sides"]["probe"]["wall_s"]
    lines.append(
        f"ratio probe/direct {report['ratio_probe_direct']:.3f} (target <= {TARGET_RATIO}), "
        f"probe run {probe_wall:.3f} s (target < {TARGET_PROBE_WALL_S} s): "
        + ("targets met" if report["targets_met"] else "TARGET MISSED"),
    )
    lines.append(f"ratio probe/direct_small_pools {report['ratio_probe_direct_small_pools']:.3f} (no target)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

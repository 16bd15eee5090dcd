"""What each function's cold start costs as shipped: a script, not a test. Ratios, measured in one run.

Each side is a fresh python3.13 process that imports a handler module the way Lambda's runtime does
(the function's code directory, then the layer's python/ on sys.path, as /var/task and /opt/python),
from the `sam build` output for this machine's architecture:

  <Function>  functions/<dir>/app.py as built, with the CommonLayer as built. The process may not
              write bytecode (-B), as on Lambda where /opt and /var/task are read-only: whatever the
              layer does not ship compiled is compiled again on every cold start.
  bare        a handler that imports boto3 and nothing else, from the same layer, with its bytecode
              compiled beforehand (a pycache prefix of its own, warmed untimed): the floor a Python
              function that talks to AWS pays.

The interpreter runs isolated (-I -S): no site-packages of this machine, so a module the layer lacks
fails the run instead of being found elsewhere. Reported per side: the import time (Lambda's init
phase; median of --rounds, the sides taking turns in an order that rotates each round) and its ratio
to bare; "ready", the import plus the function's composition root built (what the first event waits
for before any work: the config validated, the AWS clients, the probes its config uses; bare builds
one DynamoDB client) and its ratio; the modules imported, and the process's peak RSS after all that
(ru_maxrss, a size, not a time).

    uv run python -m benchmarks.cold_start_benchmark            # 7 rounds
    uv run python -m benchmarks.cold_start_benchmark --short    # 3 rounds, for CI
    uv run python -m benchmarks.cold_start_benchmark --json     # machine-readable
    uv run python -m benchmarks.cold_start_benchmark --enforce  # exit 1 when a guard is missed

Target (issue 11): each function's import at most 2x bare's in the same run, RSS at most 60 MB;
reported as target_met. Not all of it is met yet (README, Cold start), so --enforce holds the guards
instead: at most 4x bare for the functions that do not probe and 5x for the probers (all were 11x
to 12x before the layer shipped bytecode; this shared machine measured 2.9x in one run for 2.5x in
another), RSS at most 60 MB for the functions that do not probe, and neither of those loads redis or
psycopg.
--build-dir measures an existing build instead of building (sam build, cached as the e2e tests').
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = (
    "HealthProbeFunction",
    "QuotaCheckFunction",
    "PagerDutyEscalationFunction",
    "StatuspageUpdateFunction",
)
TARGET_RATIO = 2.0
TARGET_RSS_MB = 60.0
PROBERS = ("HealthProbeFunction", "QuotaCheckFunction")
GUARD_RATIO = {"probers": 5.0, "others": 4.0}  # far below the 11x of sources, above the noise seen
CHILD_TIMEOUT_S = 120

# What the child runs: Lambda's runtime puts /var/task and /opt/python first and imports the handler.
CHILD = """
import json, resource, sys, time
task, layer = sys.argv[1], sys.argv[2]
started = time.perf_counter()
sys.path[:0] = [task, layer]
import app
elapsed = time.perf_counter() - started
for name, build in vars(app).items():  # the composition root's builder, as the first event calls it
    if name.endswith("_dependencies") and callable(build):
        build()
ready = time.perf_counter() - started
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import_s": elapsed, "ready_s": ready, "rss_mb": rss_mb, "modules": len(sys.modules),
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("redis", "psycopg"))}))
"""

BARE_HANDLER = """import boto3


def bare_dependencies():
    return boto3.client("dynamodb")


def lambda_handler(event, context):
    return {}
"""


def python313() -> str:
    found = subprocess.run(
        [str(ROOT / "scripts" / "find-python313")], capture_output=True, text=True, check=True, timeout=30
    )
    return found.stdout.strip()


def function_environment(task: Path) -> dict[str, str]:
    """What Lambda's runtime sets (tracing is Active in the template: X-Ray's SDK sees LAMBDA_TASK_ROOT
    and skips its sampling client) and template.yaml's Globals, with placeholders for the stack's."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_LAMBDA_FUNCTION_NAME": task.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "_HANDLER": "app.lambda_handler",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "runbook-automation",
        "POWERTOOLS_METRICS_NAMESPACE": "RunbookAutomation",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "RUNBOOK_CONFIG": str(ROOT / "config" / "runbook.yaml"),
        "STATE_TABLE_NAME": "runbook-state",
        "ALERTS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:alerts",
        "DEAD_LETTER_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/dead-letters",
    }


def measure(python: str, task: Path, layer: Path, extra: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [python, "-I", "-S", *extra, "-c", CHILD, str(task), str(layer)],
        capture_output=True,
        text=True,
        env=function_environment(task),
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {task}/app.py failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def build(build_dir: Path | None) -> Path:
    if build_dir is not None:
        return build_dir
    sys.path.insert(0, str(ROOT / "tools"))
    from sandbox.build import sam_build

    return sam_build().parent


def run(build_dir: Path, rounds: int) -> dict[str, Any]:
    python = python313()
    layer = build_dir / "CommonLayer" / "python"
    with tempfile.TemporaryDirectory(prefix="cold-start-") as scratch:
        bare = Path(scratch) / "bare"
        bare.mkdir()
        (bare / "app.py").write_text(BARE_HANDLER)
        bare_flags = ["-X", f"pycache_prefix={Path(scratch) / 'pycache'}"]
        measure(python, bare, layer, bare_flags)  # untimed: compiles boto3 into the bare side's prefix
        sides: dict[str, tuple[Path, list[str]]] = {"bare": (bare, bare_flags)}
        sides |= {name: (build_dir / name, ["-B"]) for name in FUNCTIONS}
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
        names = list(sides)
        for round_no in range(rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:  # who goes first rotates
                task, flags = sides[name]
                samples[name].append(measure(python, task, layer, flags))
    bare_s = statistics.median(s["import_s"] for s in samples["bare"])
    bare_ready_s = statistics.median(s["ready_s"] for s in samples["bare"])
    report: dict[str, Any] = {"rounds": rounds, "build_dir": str(build_dir), "sides": {}}
    for name, runs in samples.items():
        import_s = statistics.median(s["import_s"] for s in runs)
        ready_s = statistics.median(s["ready_s"] for s in runs)
        report["sides"][name] = {
            "import_s": round(import_s, 3),
            "ratio_to_bare": round(import_s / bare_s, 2),
            "ready_s": round(ready_s, 3),
            "ready_ratio_to_bare": round(ready_s / bare_ready_s, 2),
            "rss_mb": round(max(s["rss_mb"] for s in runs), 1),
            "modules": runs[-1]["modules"],
            "redis_or_psycopg_loaded": bool(runs[-1]["loaded"]),
        }
    functions = [report["sides"][name] for name in FUNCTIONS]
    report["target"] = {"ratio_to_bare_max": TARGET_RATIO, "rss_mb_max": TARGET_RSS_MB}
    report["target_met"] = all(
        f["ratio_to_bare"] <= TARGET_RATIO and f["rss_mb"] <= TARGET_RSS_MB for f in functions
    )
    report["guards"] = {"ratio_to_bare_max": GUARD_RATIO, "rss_mb_max_others": TARGET_RSS_MB}
    report["guards_met"] = all(_within_guards(name, report["sides"][name]) for name in FUNCTIONS)
    return report


def _within_guards(name: str, side: dict[str, Any]) -> bool:
    if name in PROBERS:
        return bool(side["ratio_to_bare"] <= GUARD_RATIO["probers"])
    return bool(
        side["ratio_to_bare"] <= GUARD_RATIO["others"]
        and side["rss_mb"] <= TARGET_RSS_MB
        and not side["redis_or_psycopg_loaded"]
    )


def print_table(report: dict[str, Any]) -> None:
    print(f"cold import, median of {report['rounds']} rounds ({report['build_dir']})")
    print(
        f"{'side':<30} {'import':>8} {'x bare':>7} {'ready':>8} {'x bare':>7} {'RSS MB':>7} {'modules':>8}"
        "  redis/psycopg"
    )
    for name, side in report["sides"].items():
        print(
            f"{name:<30} {side['import_s']:>7.3f}s {side['ratio_to_bare']:>7.2f}"
            f" {side['ready_s']:>7.3f}s {side['ready_ratio_to_bare']:>7.2f} {side['rss_mb']:>7.1f}"
            f" {side['modules']:>8}  {'loaded' if side['redis_or_psycopg_loaded'] else '-'}"
        )
    target = report["target"]
    print(
        f"target: <= {target['ratio_to_bare_max']:g}x bare, <= {target['rss_mb_max']:g} MB: "
        + ("met" if report["target_met"] else "MISSED")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds (the median is reported)")
    parser.add_argument("--short", action="store_true", help="3 rounds: for CI")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--enforce", action="store_true", help="exit 1 when a guard is missed")
    parser.add_argument("--build-dir", type=Path, help="an existing sam build output to measure")
    args = parser.parse_args(argv)
    report = run(build(args.build_dir), 3 if args.short else args.rounds)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_table(report)
    return 1 if args.enforce and not report["guards_met"] else 0


if __name__ == "__main__":
    sys.exit(main())
